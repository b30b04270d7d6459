"""The CRM's webhook: events signed as the CRM signs them (the standardwebhooks library), what
each event does, idempotence per webhook-id, refusals, failures kept and retried, the admin page.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks import Webhook
from werkzeug.test import TestResponse

from contentfeed import config, db
from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Content
from contentfeed.customers import cards, crm_actions, crm_events
from contentfeed.customers import jobs as customers_jobs
from contentfeed.customers.models import (
    CardKind,
    CardStatus,
    Contract,
    CrmEvent,
    CrmEventStatus,
    CustomerCard,
)
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import customer_accounts, lead_history
from contentfeed.routing.models import Account, AccountDomain, OutboxMessage, SellerNotice
from contentfeed.scheduler import run_job
from tests.conftest import make_test_app, sign_in
from tests.test_api import check_against_spec
from tests.test_routing import attributed_lead, link_code, new_lead, route

URL = "/api/v1/webhooks/crm"
SECRET = "whsec_" + base64.b64encode(b"the CRM's own events secret").decode()
IN_30_DAYS = (utcnow() + timedelta(days=30)).date()
NO_SUCH_DAY = {"id": "C-9", "ends_on": "99999-01-01"}


# --- helpers -----------------------------------------------------------------------------


def signed(
    body: str,
    *,
    msg_id: str | None = None,
    timestamp: datetime | None = None,
    secret: str = SECRET,
) -> dict[str, str]:
    """The headers the CRM sends: signed with the standardwebhooks library, as a sender does."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or utcnow()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, timestamp, body),
        "Content-Type": "application/json",
    }


def send(
    client: FlaskClient, payload: dict[str, Any] | str, *, msg_id: str | None = None, **kw: Any
) -> TestResponse:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(URL, data=body.encode(), headers=signed(body, msg_id=msg_id, **kw))


def event(kind: str, **data: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": utcnow().isoformat(), "data": data}


def contract(crm_id: str = "C-1", ends_on: date = IN_30_DAYS, **fields: Any) -> dict[str, Any]:
    return {"id": crm_id, "name": "Platform licence", "ends_on": ends_on.isoformat(), **fields}


@pytest.fixture
def crm(app: Flask) -> FlaskClient:
    """A client of an app that has [crm] events_secret set."""
    config.override(app, crm={"events_secret": SECRET})
    return app.test_client()


def cards_of(app: Flask, kind: CardKind) -> list[CustomerCard]:
    with app.app_context():
        query = sa.select(CustomerCard).where(CustomerCard.kind == kind).order_by(CustomerCard.id)
        return list(db.session().scalars(query))


def account_named(app: Flask, domain: str) -> Account | None:
    with app.app_context():
        s = db.session()
        query = sa.select(Account).join(AccountDomain).where(AccountDomain.domain == domain)
        account = s.scalars(query).first()
        if account is not None:
            _ = account.domain_names
        return account


def stored_events(app: Flask) -> list[CrmEvent]:
    with app.app_context():
        return list(db.session().scalars(sa.select(CrmEvent).order_by(CrmEvent.id)))


# --- a won deal ----------------------------------------------------------------------------


def test_a_won_deal_converts_our_lead_and_starts_the_handover_once(
    app: Flask,
    crm: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    make_content(title="Zero-downtime migrations")
    sam = make_user(Role.SELLER, name="Sam Seller")
    code = link_code(app, sam)
    with app.app_context():
        s = db.session()
        lead = attributed_lead(s, "jane@acme.example", code, company="Acme Widgets")
        route(s)
        s.commit()
        lead_id = lead.id
        outbox_before = s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))

    won = event("deal.won", domain="acme.example", company="Acme Widgets", lead_id=lead_id)
    first = send(crm, won, msg_id="evt_won_1")
    assert first.status_code == 202, first.get_data(as_text=True)
    answer = first.json
    assert answer is not None and answer["status"] == "processed"
    assert answer["lead_id"] == lead_id
    account = account_named(app, "acme.example")
    assert account is not None and account.name == "Acme Widgets"
    assert answer["account_id"] == account.id

    [card] = cards_of(app, CardKind.HANDOVER)
    assert (card.account_id, card.lead_id, card.status) == (account.id, lead_id, CardStatus.OPEN)
    assert card.seller_id == sam.id
    with app.app_context():
        s = db.session()
        converted = s.get(Lead, lead_id)
        assert converted is not None and converted.status is LeadStatus.CONVERTED
        celebrated = s.scalars(
            sa.select(SellerNotice.subject).where(
                SellerNotice.user_id == sam.id, SellerNotice.kind == "customer"
            )
        ).all()
        assert celebrated == ["Your post led to a new customer: Acme Widgets"]
        # The CRM told us: it is not told back.
        outbox_after = s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
        assert outbox_after == outbox_before

    again = send(crm, won, msg_id="evt_won_1")  # the CRM delivers it again
    assert again.status_code == 202 and again.json == answer
    assert len(cards_of(app, CardKind.HANDOVER)) == 1
    assert len(stored_events(app)) == 1
    # A second event about the same won lead (a new webhook-id) starts no second handover.
    assert send(crm, won, msg_id="evt_won_2").status_code == 202
    assert len(cards_of(app, CardKind.HANDOVER)) == 1


def test_a_won_deal_for_a_company_we_never_met_makes_the_customer_account(
    app: Flask, crm: FlaskClient
) -> None:
    won = event(
        "deal.won",
        domain="https://www.globex.example/about",
        company="Globex",
        contract=contract("G-7", IN_30_DAYS),
    )
    response = send(crm, won)
    assert response.status_code == 202, response.get_data(as_text=True)
    account = account_named(app, "globex.example")
    assert account is not None
    assert (account.name, account.domain_names) == ("Globex", ["globex.example"])
    assert account.customer_since is not None
    assert response.json == {
        "event_id": stored_events(app)[0].id,
        "status": "processed",
        "account_id": account.id,
        "lead_id": None,
    }
    [handover] = cards_of(app, CardKind.HANDOVER)
    assert handover.account_id == account.id and handover.lead_id is None
    # The contract the deal came with is kept, and ends within the window: its renewal card.
    with app.app_context():
        kept = db.session().scalars(sa.select(Contract)).one()
        assert (kept.crm_id, kept.account_id, kept.ends_on) == ("G-7", account.id, IN_30_DAYS)
    [renewal] = cards_of(app, CardKind.RENEWAL)
    assert renewal.contract_id == kept.id


def test_a_free_mail_domain_is_refused_naming_the_field(app: Flask, crm: FlaskClient) -> None:
    response = send(crm, event("deal.won", domain="gmail.com", company="Jane Doe"))
    assert response.status_code == 422
    assert response.json is not None
    assert "free-mail" in response.json["fields"]["data.domain"]
    assert stored_events(app) == [] and cards_of(app, CardKind.HANDOVER) == []


def test_an_unknown_lead_id_is_refused_and_the_refusal_answers_its_redelivery(
    app: Flask, crm: FlaskClient
) -> None:
    won = event("deal.won", domain="acme.example", lead_id=424242)
    first = send(crm, won, msg_id="evt_unknown_lead")
    assert first.status_code == 422, first.get_data(as_text=True)
    assert first.json is not None and "data.lead_id" in first.json["fields"]
    again = send(crm, won, msg_id="evt_unknown_lead")
    assert (again.status_code, again.json) == (422, first.json)
    [kept] = stored_events(app)  # kept as failed for the admins, and not retried
    assert kept.status is CrmEventStatus.FAILED and kept.processed_at is not None
    assert crm_events.next_attempt(kept) is None


# --- a lost deal ----------------------------------------------------------------------------


def test_a_lost_deal_disqualifies_our_lead_without_telling_the_crm_back(
    app: Flask,
    crm: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    make_content(title="Zero-downtime migrations")
    sam = make_user(Role.SELLER, name="Sam Seller")
    code = link_code(app, sam)
    with app.app_context():
        s = db.session()
        named = attributed_lead(s, "jane@acme.example", code, company="Acme")
        older = new_lead(s, "joe@initech.example", at=utcnow() - timedelta(days=3))
        newest = new_lead(s, "bill@sales.initech.example", at=utcnow() - timedelta(days=1))
        route(s)
        s.commit()
        ids = named.id, older.id, newest.id
        outbox_before = s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))

    assert send(crm, event("deal.lost", domain="acme.example", lead_id=ids[0])).status_code == 202
    # Without a lead id: the domain's newest open lead (a subdomain's address counts).
    by_domain = send(crm, event("deal.lost", domain="initech.example"))
    assert by_domain.status_code == 202 and by_domain.json is not None
    assert by_domain.json["lead_id"] == ids[2]

    with app.app_context():
        s = db.session()
        lost = s.get(Lead, ids[0])
        assert lost is not None and lost.status is LeadStatus.DISQUALIFIED
        assert lost.disqualify_reason == "lost in the CRM" and lost.closed_at is not None
        lines = [lead_history.describe(s, e) for e in lead_history.history(s, ids[0])]
        assert "Disqualified: the deal was lost in the CRM." in lines
        untouched = s.get(Lead, ids[1])
        assert untouched is not None and untouched.status is not LeadStatus.DISQUALIFIED
        told = s.scalars(
            sa.select(SellerNotice.subject).where(SellerNotice.kind == "outcome")
        ).all()
        assert told == ["The lead from Acme was not a fit this time"]
        outbox_after = s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
        assert outbox_after == outbox_before


# --- contracts ------------------------------------------------------------------------------


def test_a_contract_ending_raises_one_renewal_card_however_often_the_crm_says_so(
    app: Flask, crm: FlaskClient
) -> None:
    ending = event("contract.ending", domain="umbrella.example", contract=contract("U-1"))
    first = send(crm, ending, msg_id="evt_end_1")
    assert first.status_code == 202, first.get_data(as_text=True)
    assert send(crm, ending, msg_id="evt_end_1").json == first.json  # redelivered
    assert send(crm, ending, msg_id="evt_end_2").status_code == 202  # told again, new id
    [card] = cards_of(app, CardKind.RENEWAL)
    account = account_named(app, "umbrella.example")  # a customer we did not know: made
    assert account is not None and card.account_id == account.id
    assert card.status is CardStatus.OPEN
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Contract)) == 1
    # A contract ending beyond the window raises nothing (yet).
    later = contract("U-2", (utcnow() + timedelta(days=200)).date())
    send(crm, event("contract.ending", domain="umbrella.example", contract=later))
    assert len(cards_of(app, CardKind.RENEWAL)) == 1


def test_a_renewed_contract_closes_its_card_and_moves_the_end_date(
    app: Flask, crm: FlaskClient
) -> None:
    send(crm, event("contract.ending", domain="umbrella.example", contract=contract("U-1")))
    [card] = cards_of(app, CardKind.RENEWAL)
    new_end = IN_30_DAYS + timedelta(days=365)
    renewed = send(
        crm, event("contract.renewed", domain="umbrella.example", contract=contract("U-1", new_end))
    )
    assert renewed.status_code == 202, renewed.get_data(as_text=True)
    [done] = cards_of(app, CardKind.RENEWAL)
    assert done.id == card.id
    assert (done.status, done.outcome) == (CardStatus.DONE, "renewed")
    with app.app_context():
        kept = db.session().scalars(sa.select(Contract)).one()
        assert kept.ends_on == new_end and not kept.ended


def test_the_same_event_and_the_same_contract_arriving_at_once_make_one_of_each(
    pg_app: Flask,
) -> None:
    """Ten copies of one event (one webhook-id) and ten events about the same contract (ten
    webhook-ids), all at the same moment: one stored event per id, one contract, one card."""
    config.override(pg_app, crm={"events_secret": SECRET})
    with pg_app.app_context():  # a customer we know already
        s = db.session()
        umbrella = customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Umbrella", domains=["umbrella.example"])
        )
        umbrella.customer_since = utcnow() - timedelta(days=400)
        cards.customer_queue(s, config.current())
        s.commit()
    ending = json.dumps(event("contract.ending", domain="umbrella.example", contract=contract()))
    copies = [signed(ending, msg_id="evt_storm")] * 10
    fresh = [signed(ending) for _ in range(10)]
    barrier = threading.Barrier(20)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def deliver(headers: dict[str, str]) -> None:
        client = pg_app.test_client()
        barrier.wait()
        response = client.post(URL, data=ending.encode(), headers=headers)
        with lock:
            answers.append((response.status_code, response.json))

    threads = [threading.Thread(target=deliver, args=(h,)) for h in copies + fresh]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 20 and {status for status, _ in answers} == {202}, answers
    assert len(stored_events(pg_app)) == 11
    with pg_app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Contract)) == 1
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Account)) == 1
    assert len(cards_of(pg_app, CardKind.RENEWAL)) == 1


# --- refusals -------------------------------------------------------------------------------


def test_signatures_timestamps_and_set_up_are_checked(
    app: Flask, crm: FlaskClient, tmp_path: Path
) -> None:
    body = json.dumps(event("deal.won", domain="acme.example"))
    other = "whsec_" + base64.b64encode(b"someone else's secret").decode()
    forged = crm.post(URL, data=body, headers=signed(body, secret=other))
    assert forged.status_code == 401 and forged.json is not None
    assert forged.json["error"] == "unauthorized"
    stale = crm.post(URL, data=body, headers=signed(body, timestamp=utcnow() - timedelta(hours=1)))
    assert stale.status_code == 401
    assert "away from our clock" in (stale.json or {})["message"]
    unsigned = crm.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    tampered = signed(body)
    changed = crm.post(URL, data=body.replace("acme", "evil"), headers=tampered)
    assert changed.status_code == 401
    huge = json.dumps(event("deal.won", domain="acme.example", company="x" * 70_000))
    assert crm.post(URL, data=huge, headers=signed(huge)).status_code == 413
    assert stored_events(app) == []

    config.override(app, crm={"events_secret": ""})
    refused = app.test_client().post(URL, data=body, headers=signed(body))
    assert refused.status_code == 403
    assert "set [crm] events_secret" in (refused.json or {})["message"]


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(event("deal.won", domain="acme.example", company="Acme\u0000Widgets")),
        '{"type": "deal.won", "data": {"domain": "acme.example"}}\x00',
        json.dumps(event("deal.won", domain="acme.example", lead_id=10**30)),
        '{"type": "deal.won", "data": {"domain": "acme.example", "lead_id": ' + "9" * 5000 + "}}",
        json.dumps(event("deal.won", domain="acme.example", lead_id=-1)),
        json.dumps(event("deal.won", domain="acme.example", lead_id=1e308)),
        json.dumps(event("deal.won", domain="a" * 5000 + ".example")),
        json.dumps(event("deal.won", domain="acme.example", company="W" * 5000)),
        json.dumps(event("contract.ending", domain="acme.example", contract=contract("C" * 500))),
        json.dumps(event("contract.ending", domain="acme.example", contract=NO_SUCH_DAY)),
        json.dumps(event("contract.ending", domain="acme.example")),
        json.dumps(event("contract.ending", contract=contract())),
        json.dumps(event("deal.won", domain="not a domain")),
        json.dumps(event("deal.signed", domain="acme.example")),
        json.dumps({"type": "deal.won"}),
        json.dumps([1, 2, 3]),
        "[" * 5000 + "]" * 5000,
        "not json at all",
        "",
    ],
    ids=lambda body: body[:40],
)
def test_bad_bodies_are_refused_with_4xx_never_500(app: Flask, crm: FlaskClient, body: str) -> None:
    """A body that is no JSON object is a 400; one whose fields are at fault a 422 naming
    them, as the lead webhook answers. Neither is stored."""
    response = crm.post(URL, data=body.encode(), headers=signed(body))
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.json is not None
    expected = "bad_request" if response.status_code == 400 else "validation_failed"
    assert response.json["error"] == expected
    if response.status_code == 422:
        assert response.json["fields"]
    assert stored_events(app) == []


def test_field_errors_name_each_field(crm: FlaskClient) -> None:
    bad = event("contract.ending", domain="gmx.de", lead_id=0, contract={"ends_on": "soon"})
    response = send(crm, bad)
    assert response.status_code == 422 and response.json is not None
    fields = response.json["fields"]
    assert {"data.domain", "data.lead_id", "data.contract.id", "data.contract.ends_on"} <= set(
        fields
    ), fields


# --- failures on our side -------------------------------------------------------------------


def test_a_failure_while_processing_is_kept_and_retried_by_the_job(
    app: Flask, crm: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = crm_actions.apply_event

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the renewal window is out of order")

    monkeypatch.setattr(crm_actions, "apply_event", broken)
    ending = event("contract.ending", domain="umbrella.example", contract=contract("U-1"))
    first = send(crm, ending, msg_id="evt_flaky")
    assert first.status_code == 202 and first.json is not None
    assert first.json["status"] == "failed"
    [kept] = stored_events(app)
    assert kept.status is CrmEventStatus.FAILED and "out of order" in kept.error
    planned = crm_events.next_attempt(kept)
    assert planned is not None
    assert cards_of(app, CardKind.RENEWAL) == []

    monkeypatch.setattr(crm_actions, "apply_event", real)
    with app.app_context():
        s = db.session()
        settings = config.current()
        assert crm_events.retry_due(s, settings, planned - timedelta(seconds=1)).processed == 0
        assert crm_events.retry_due(s, settings, planned).processed == 1
        s.commit()
    [done] = stored_events(app)
    assert done.status is CrmEventStatus.PROCESSED and done.error == ""
    assert len(cards_of(app, CardKind.RENEWAL)) == 1
    # The redelivery now learns where it stands.
    again = send(crm, ending, msg_id="evt_flaky")
    assert again.json is not None and again.json["status"] == "processed"


def test_the_retry_job_is_scheduled_and_picks_up_an_abandoned_event(
    app: Flask, crm: FlaskClient
) -> None:
    job = next(j for j in customers_jobs.JOBS if j.id == "customers.retry_crm_events")
    from contentfeed.scheduler import all_jobs

    assert job.id in {j.id for j in all_jobs()}
    body = json.dumps(event("contract.ending", domain="umbrella.example", contract=contract()))
    with app.app_context():
        s = db.session()
        # A worker died after storing it (a restart mid-request): still "received".
        s.add(
            CrmEvent(
                event_id="evt_orphan",
                event_type="contract.ending",
                body=body,
                received_at=utcnow() - timedelta(minutes=30),
            )
        )
        s.commit()
    run_job(app, job)
    [done] = stored_events(app)
    assert done.status is CrmEventStatus.PROCESSED
    assert len(cards_of(app, CardKind.RENEWAL)) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def down_app(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "no-config.toml"))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'missing-folder' / 'contentfeed.db'}"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:9/contentfeed?connect_timeout=2"
    return make_test_app(url, tmp_path, crm={"events_secret": SECRET})


def test_with_the_database_down_the_crm_is_asked_to_deliver_again(down_app) -> None:  # type: ignore[no-untyped-def]
    response = send(down_app.test_client(), event("deal.won", domain="acme.example"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json is not None and response.json["error"] == "unavailable"


# --- the API document and the admin page ------------------------------------------------------


def test_the_api_document_describes_the_endpoint_and_its_answer(crm: FlaskClient) -> None:
    spec = crm.get("/api/v1/openapi.json").json
    assert spec is not None
    operation = spec["paths"][URL]["post"]
    assert {"202", "400", "401", "403", "413", "422", "503"} <= set(operation["responses"])
    response = send(crm, event("contract.ending", domain="umbrella.example", contract=contract()))
    check_against_spec(spec, URL, "post", 202, response.json)


def test_admins_see_recent_crm_events_in_english_and_german(
    app: Flask,
    crm: FlaskClient,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    send(crm, event("contract.ending", domain="umbrella.example", contract=contract()))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the renewal window is out of order")

    monkeypatch.setattr(crm_actions, "apply_event", broken)
    send(crm, event("contract.renewed", domain="umbrella.example", contract=contract()))
    monkeypatch.undo()
    config.override(app, crm={"events_secret": SECRET})

    admin = sign_in(app.test_client(), make_user(Role.ADMIN))
    page = admin.get("/admin/crm-events", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "contract.ending" in text and "contract.renewed" in text
    assert "Processed" in text and "Failed" in text and "out of order" in text
    assert "Lead deliveries" in text  # the tab back to the lead webhook's failures
    only_failed = admin.get("/admin/crm-events?status=failed").get_data(as_text=True)
    assert "contract.renewed" in only_failed and "contract.ending" not in only_failed

    german = admin.get("/admin/crm-events", headers={"Accept-Language": "de"})
    words = german.get_data(as_text=True)
    assert "CRM-Ereignisse" in words and "Verarbeitet" in words and "Fehlgeschlagen" in words

    # An admin processes the failed one again once the cause is fixed.
    failed = next(e for e in stored_events(app) if e.status is CrmEventStatus.FAILED)
    again = admin.post(f"/admin/crm-events/{failed.id}/reprocess", follow_redirects=True)
    assert again.status_code == 200
    assert all(e.status is CrmEventStatus.PROCESSED for e in stored_events(app))
    [card] = cards_of(app, CardKind.RENEWAL)
    assert card.status is CardStatus.DONE
