"""The last English texts of issue #15, each shown to a German reader.

Routing traces are written once by the routing job (which speaks the default language, English)
and read by many: each reason is kept with its text and values and said in the reader's
language, and a trace stored before that still shows its English reason.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.errors import Invalid, NotFound
from contentfeed.leads import jobs, signing, store
from contentfeed.leads.models import EventStatus, InboundEvent, Lead
from contentfeed.scheduler import run_job
from tests import test_notifications
from tests.conftest import make_test_app, sign_in
from tests.test_gated import FORM, make_gated
from tests.test_leads_ui import seller_lead
from tests.test_public_pages import COMPANY, _mails
from tests.test_queue_ui import rep_in, route

__all__ = ["seller_lead", "smtp_server"]

smtp_server = test_notifications.smtp_server  # a real SMTP server (aiosmtpd) per test

GERMAN = {"Accept-Language": "de"}


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    page = html.unescape(str(response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _absent(page: str, phrases: list[str]) -> None:
    left = [phrase for phrase in phrases if phrase in page]
    assert not left, left


def _german(app: Flask, user: User) -> User:
    with app.app_context():
        s = db.session()
        stored = s.get(User, user.id)
        assert stored is not None
        stored.locale = "de"
        s.commit()
    return user


# --- 1. the routing trace ---------------------------------------------------------------------


def test_a_lead_s_routing_trace_reads_german_for_a_german_rep(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = _german(app, rep_in(app, make_user, "Digital sales", name="Riley Rep"))
    route(app)  # the job speaks English: the trace keeps the texts, not German sentences
    lead_id = int(seller_lead["lead_id"])
    with app.app_context():
        lead = db.session().get(Lead, lead_id)
        assert lead is not None
        trace = lead.routing_trace
        assert trace["queue"]["why"] == "rule 'Everyone else' matched"  # the API's English

    page = _text(sign_in(app.test_client(), rep).get(f"/leads/{lead_id}"))
    for german in (
        "Regel 'Everyone else' hat gegriffen.",  # why the lead is in its queue
        "gegriffen: keine Bedingungen: passt auf jeden Lead",  # the matched rule
        "ist keine Kunden-Domain",  # the failed check of "Known customers"
        "Leads aus dieser Queue werden vom Vertrieb selbst übernommen",  # the assignment
    ):
        assert german in page, german
    _absent(
        page,
        [
            "Rule 'Everyone else' matched",
            "matches every lead",
            "is not a customer domain",
            "reps claim leads from this queue",
        ],
    )


def test_a_trace_stored_before_the_texts_were_kept_still_shows_its_reason(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = _german(app, rep_in(app, make_user, "Digital sales", name="Riley Rep"))
    route(app)
    lead_id = int(seller_lead["lead_id"])
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, lead_id)
        assert lead is not None
        old = dict(lead.routing_trace)
        old["queue"] = {"id": old["queue"]["id"], "name": old["queue"]["name"], "why": "as of old"}
        lead.routing_trace = old
        s.commit()
    page = _text(sign_in(app.test_client(), rep).get(f"/leads/{lead_id}"))
    assert "As of old." in page


def test_the_dry_run_says_why_in_german(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    admin = client_as("admin")
    with app.app_context():
        from contentfeed.routing import service as routing

        routing.ensure_defaults(db.session(), routing.RoutingSettings())
        db.session().commit()
    response = admin.post(
        "/admin/routing/dry-run",
        data={"email": "jane.doe@gmail.com", "country": "DE"},
        headers=GERMAN,
    )
    result = _text(response)
    for german in (
        "gmail.com ist eine Freemail-Adresse",
        "Regel 'Everyone else' hat gegriffen.",
        "Leads aus dieser Queue werden vom Vertrieb selbst übernommen",
    ):
        assert german in result, german
    _absent(result, ["is a free-mail address", "matched", "claim leads from this queue"])


# --- 5. double opt-in for a lead the retry job made -----------------------------------------


def test_a_gated_lead_made_on_a_retry_still_gets_its_german_confirmation_email(
    app: Flask,
    client: FlaskClient,
    make_content: Callable[..., Content],
    smtp_server: tuple[test_notifications.Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, port = smtp_server
    config.override(
        app,
        consent={"double_opt_in": True},
        company=COMPANY,
        email={"host": "127.0.0.1", "port": port, "security": "none"},
        public_base_url="https://content.muster.example",
    )
    content_id = make_gated(app, make_content)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away mid-write")

    monkeypatch.setattr(store, "write_lead", broken)
    response = client.post(f"/g/{content_id}", data=FORM, headers=GERMAN)
    assert response.status_code == 302  # the visitor gets the download all the same
    assert "confirm=" not in response.headers["Location"]  # no lead yet: nothing to confirm
    assert inbox.messages == []
    monkeypatch.undo()
    with app.app_context():
        s = db.session()
        event = s.scalar(sa.select(InboundEvent))
        assert event is not None and event.status is EventStatus.FAILED
        event.next_attempt_at = utcnow() - timedelta(seconds=1)
        s.commit()

    run_job(app, next(job for job in jobs.JOBS if job.id == "leads.retry_events"))

    with app.app_context():
        lead = db.session().scalar(sa.select(Lead))
        assert lead is not None and lead.consent_locale == "de"
        assert lead.consent_confirm_requested_at is not None
    [mail] = _mails(inbox)
    assert mail["To"] == "jane.doe@acme.example"
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre Einwilligung: Muster Software GmbH"
    body = mail.get_content()
    assert "Guten Tag Jane Doe," in body and "„The cloud whitepaper“" in body
    assert "Please" not in body
    assert re.search(r"https://content\.muster\.example/g/confirm/\S+", body)

    run_job(app, next(job for job in jobs.JOBS if job.id == "leads.retry_events"))
    assert len(inbox.messages) == 1  # once only


# --- 4. Python texts people see ---------------------------------------------------------------


def test_a_page_preview_that_cannot_be_fetched_says_why_in_german(
    client_as: Callable[[str], FlaskClient],
) -> None:
    marketer = client_as("marketer")
    response = marketer.get(
        "/library/prefill", query_string={"url": "http://127.0.0.1:9/whitepaper"}, headers=GERMAN
    )
    assert response.status_code == 200 and response.json is not None
    note = response.json["note"]
    assert "einer privaten oder lokalen Adresse" in note, note
    assert "only public addresses" not in note and "private or local" not in note


def test_a_link_followed_while_the_database_is_down_says_so_in_german(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "no-config.toml"))
    down = make_test_app(f"sqlite:///{tmp_path / 'missing-folder' / 'contentfeed.db'}", tmp_path)
    response = down.test_client().get("/r/abcdEFGH", headers=GERMAN)
    assert response.status_code == 503
    page = html.unescape(response.get_data(as_text=True))
    assert "Die Datenbank ist kurz nicht erreichbar." in page
    assert "briefly unavailable" not in page


def test_webhook_secret_refusals_speak_the_admins_language(app: Flask) -> None:
    with app.test_request_context("/admin/webhook-secrets", headers=GERMAN), app.app_context():
        s = db.session()
        with pytest.raises(Invalid) as unnamed:
            signing.create_secret(s, name="   ")
        assert (
            unnamed.value.message == "Benennen Sie das Secret nach dem Absender, der es verwendet."
        )
        with pytest.raises(Invalid) as long:
            signing.create_secret(s, name="x" * 121)
        assert long.value.message == "Der Name ist zu lang."
        assert long.value.fields == {"name": "höchstens 120 Zeichen"}
        with pytest.raises(NotFound) as unknown:
            signing.revoke_secret(s, 999_999)
        assert unknown.value.message == "Es gibt kein Webhook-Secret mit dieser ID."


# --- 2. history lines and the queue lead's notices ------------------------------------------


def test_a_german_queue_lead_is_told_of_a_returned_and_an_overdue_lead_in_german(
    app: Flask, make_user: Callable[..., User]
) -> None:
    from contentfeed.routing import lead_history, queue_setup, work
    from contentfeed.routing.models import SellerNotice
    from tests.test_routing import add_rule, make_queue, new_lead
    from tests.test_routing import route as route_now

    ann = make_user(Role.REP, name="Ann Rep")
    lena = _german(app, make_user(Role.REP, name="Lena Lead"))
    t0 = utcnow().replace(microsecond=0)
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Inbound", sla_minutes=60, claim_minutes=55, lead_user_id=lena.id)
        queue_setup.set_member(s, queue, ann.id)
        add_rule(s, "Everyone", queue)
        old = new_lead(s, "old@alpha.example", first_name="Olga", company="Alpha")
        new_lead(s, "young@beta.example", first_name="Yuri", company="Beta")
        route_now(s, t0)
        rep = s.get(User, ann.id)
        assert rep is not None
        work.claim(s, rep, old.id, now=t0 + timedelta(minutes=5))
        s.commit()
        work.sla_sweep(s, t0 + timedelta(minutes=61))  # returned unworked, and overdue
        s.commit()
        texts = s.scalars(
            sa.select(SellerNotice.text)
            .where(SellerNotice.user_id == lena.id)
            .order_by(SellerNotice.id)
        ).all()
        [returned] = [a for a in lead_history.history(s, old.id) if a.kind == "returned"]
        assert "Ann Rep did not contact them within 55 minutes" in returned.text  # English kept
    assert sorted(texts) == [
        "Olga (Alpha): Zurück in die Queue: Ann Rep hat die Person nicht innerhalb von 55 Minuten"
        " nach der Übernahme kontaktiert.",
        "Yuri (Beta): Überfällig: Niemand hat diesen Lead innerhalb des SLA übernommen.",
    ]


def test_released_returned_and_folded_history_lines_read_german(
    app: Flask, make_user: Callable[..., User]
) -> None:
    from contentfeed import i18n
    from contentfeed.routing import lead_history, queue_setup, work
    from tests.test_routing import add_rule, make_queue, new_lead
    from tests.test_routing import route as route_now

    ann = make_user(Role.REP, name="Ann Rep")
    t0 = utcnow().replace(microsecond=0)
    with app.app_context(), app.test_request_context():
        s = db.session()
        queue = make_queue(s, "Inbound", sla_minutes=600, claim_minutes=30)
        queue_setup.set_member(s, queue, ann.id)
        add_rule(s, "Everyone", queue)
        first = new_lead(s, "max@alpha.example", first_name="Max", at=t0)
        route_now(s, t0)
        rep = s.get(User, ann.id)
        assert rep is not None
        work.claim(s, rep, first.id, now=t0 + timedelta(minutes=1))
        work.release(s, rep, first.id, now=t0 + timedelta(minutes=2))
        work.claim(s, rep, first.id, now=t0 + timedelta(minutes=3))
        work.sla_sweep(s, t0 + timedelta(minutes=40))  # not contacted within 30 minutes
        again = new_lead(s, "max@alpha.example", first_name="Max", at=t0 + timedelta(minutes=41))
        route_now(s, t0 + timedelta(minutes=41))  # the same person: folded into the first
        s.commit()
        entries = [*lead_history.history(s, first.id), *lead_history.history(s, again.id)]
        with i18n.speaking("de"):
            worded = {e.kind: lead_history.describe(s, e) for e in entries}
    assert worded["released"] == "Von Ann Rep an die Queue freigegeben.", worded
    assert worded["returned"].startswith("Zurück in die Queue: Ann Rep hat"), worded
    assert worded["merged"] == f"Zum offenen Lead #{first.id} hinzugefügt.", worded
    assert worded["routed"].startswith("An Inbound geroutet"), worded


def test_a_gated_form_the_intake_refuses_says_so_in_german(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    # The form takes a 200-character name; the intake keeps first names to 120.
    response = client.post(
        f"/g/{content_id}", data={**FORM, "name": "A" * 150 + " Doe"}, headers=GERMAN
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Einige Felder brauchen Ihre Aufmerksamkeit." in page
    assert "Zu lang: höchstens 120 statt 150" in page
    assert "Some fields need attention" not in page and "should have at most" not in page
