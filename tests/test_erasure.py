"""Erasure closes the lead: an erased person is in no queue, their lead cannot be claimed,
reassigned or moved on (page and API), reports keep it only as an anonymous count; exporting
an address we hold nothing about says so instead of handing out an empty file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.reports import sales
from contentfeed.reports.period import Period
from contentfeed.routing import work
from contentfeed.routing.models import OutboxMessage
from tests.apiclient import Api
from tests.conftest import sign_in
from tests.test_leads_ui import seller_lead
from tests.test_queue_ui import _text, rep_in, route

__all__ = ["seller_lead"]

EMAIL = "jane.doe@acme-widgets.example"
WRITE = ("read", "routing:write", "leads:write")


def erase_on_the_page(client_as: Callable[[str], FlaskClient]) -> str:
    admin = client_as("admin")
    done = admin.post(
        "/admin/privacy",
        data={"email": EMAIL, "action": "erase", "confirm": "y"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    return _text(done)


def test_an_erased_persons_lead_leaves_the_queue_and_cannot_be_worked_on_the_page(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
    client_as: Callable[[str], FlaskClient],
) -> None:
    riley = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    noah = rep_in(app, make_user, "Digital sales", name="Noah Rep")
    route(app)
    lead_id = seller_lead["lead_id"]
    rep = sign_in(app.test_client(), riley)
    assert "Jane Doe" in _text(rep.get("/queue"))

    said = erase_on_the_page(client_as)
    assert "1 lead erased" in said and "1 open lead closed and taken out of the queue" in said

    queue = _text(rep.get("/queue"))
    assert "erased" not in queue and "Jane" not in queue
    # Claiming the next lead never hands out the erased one.
    taken = rep.post(f"/queue/{_queue_id(app, lead_id)}/claim-next")
    assert f"/leads/{lead_id}" not in taken.headers.get("Location", "")
    for path, data in (
        (f"/leads/{lead_id}/claim", {}),
        (f"/leads/{lead_id}/reassign", {"user_id": noah.id}),
        (f"/leads/{lead_id}/status", {"status": "contacted"}),
        (f"/leads/{lead_id}/notes", {"text": "Call back Friday"}),
    ):
        page = _text(rep.post(path, data=data, follow_redirects=True))
        assert "This person's data was erased: the lead is closed" in page, path
    page = rep.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert f'action="/leads/{lead_id}/claim"' not in page  # nothing left to do on it
    assert f'action="/leads/{lead_id}/notes"' not in page
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, lead_id)
        assert lead is not None
        assert (lead.status, lead.disqualify_reason) == (LeadStatus.DISQUALIFIED, "erased")
        assert lead.closed_at is not None and lead.assignee_id is None
        # The CRM hears once that the lead closed, without the person.
        [closed] = s.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.lead_id == lead_id,
                OutboxMessage.event_type == "lead.status_changed",
            )
        ).all()
        assert closed.payload["data"]["status"] == "disqualified"
        assert closed.payload["data"]["erased"] is True
        assert closed.payload["data"]["first_name"] == ""
        # Reports count it, anonymously, where it was routed.
        today = utcnow().date()
        report = sales.sales(s, Period(today - timedelta(days=1), today, ZoneInfo("UTC")))
        everyone = s.scalar(sa.select(sa.func.count()).select_from(Lead))
        assert report.total == everyone  # the erased lead still counts
        assert report.status_total(LeadStatus.DISQUALIFIED) == 1


def test_an_erased_persons_lead_cannot_be_claimed_reassigned_or_moved_in_the_api(
    app: Flask,
    client: FlaskClient,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    riley = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    noah = rep_in(app, make_user, "Digital sales", name="Noah Rep")
    route(app)
    lead_id = seller_lead["lead_id"]
    api = Api(client)
    token = make_token(riley, *WRITE)
    admin = make_token(make_user(Role.ADMIN, name="Ada Admin"), *WRITE)
    queue_id = _queue_id(app, lead_id)

    erased = api("POST", "/api/v1/personal-data/erase", admin, json={"email": EMAIL.upper()})
    assert erased.status_code == 200, erased.json
    assert (erased.json["leads"], erased.json["closed"]) == (1, 1)

    listed = api("GET", "/api/v1/queues/{queue_id}/leads", token, queue_id=queue_id)
    assert listed.status_code == 200
    assert lead_id not in [item["id"] for item in listed.json["items"]]
    assert listed.json["queue"]["open"] == len(listed.json["items"])
    for _ in range(5):  # claiming the queue empty never hands out the erased lead
        taken = api("POST", "/api/v1/queues/{queue_id}/claim-next", token, queue_id=queue_id)
        assert taken.status_code == 200
        if taken.json["lead"] is None:
            break
        assert taken.json["lead"]["id"] != lead_id
    else:
        pytest.fail("the queue never ran empty")
    for path, body in (
        ("/api/v1/leads/{lead_id}/claim", None),
        ("/api/v1/leads/{lead_id}/reassign", {"user_id": noah.id}),
        ("/api/v1/leads/{lead_id}/status", {"status": "contacted"}),
        ("/api/v1/leads/{lead_id}/notes", {"text": "Call back Friday"}),
    ):
        refused = api("POST", path, token, lead_id=lead_id, json=body)
        assert refused.status_code == 409, (path, refused.status_code, refused.json)
        assert "data was erased" in refused.json["message"]
    with app.app_context():
        lead = db.session().get(Lead, lead_id)
        assert lead is not None and lead.status is LeadStatus.DISQUALIFIED


def test_the_use_cases_refuse_an_erased_lead(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    from contentfeed.errors import Conflict
    from contentfeed.leads import privacy

    riley = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    route(app)
    lead_id = seller_lead["lead_id"]
    with app.app_context():
        s = db.session()
        rep = s.get(User, riley.id)
        assert rep is not None
        work.claim(s, rep, lead_id)  # claimed when the person asks to be forgotten
        s.commit()
        report = privacy.erase_person(s, EMAIL, actor=None)
        s.commit()
        assert report.closed == 1
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.claim_due_at is None
        assert work.my_leads(s, rep) == []
        # The sweep has no claim to return: the close is the one status change.
        assert work.sla_sweep(s, utcnow() + timedelta(days=1)).returned == 0
        for act in (
            lambda: work.release(s, rep, lead_id),
            lambda: work.set_status(s, rep, lead_id, LeadStatus.CONTACTED),
            lambda: work.reassign(s, rep, lead_id, rep.id),
        ):
            with pytest.raises(Conflict):
                act()
        # A second erasure finds the lead closed already: no second CRM message.
        again = privacy.erase_person(s, f"erased-{lead_id}@erased.invalid", actor=None)
        s.commit()
        assert again.closed == 0
        changes = s.scalars(
            sa.select(OutboxMessage.event_type).where(OutboxMessage.lead_id == lead_id)
        ).all()
        assert changes.count("lead.status_changed") == 2  # claimed, closed by the erasure


# --- export of an address we hold nothing about ---------------------------------------------


def test_exporting_an_unknown_address_says_so_on_the_page(
    client_as: Callable[[str], FlaskClient],
) -> None:
    admin = client_as("admin")
    answer = admin.post("/admin/privacy", data={"email": "nobody@example.com", "action": "export"})
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    assert "attachment" not in answer.headers.get("Content-Disposition", "")
    page = _text(answer)
    assert "We hold no personal data about nobody@example.com" in page
    assert 'value="nobody@example.com"' in answer.get_data(as_text=True)


def test_exporting_in_the_api_gives_the_data_or_an_empty_result_with_a_message(
    app: Flask,
    client: FlaskClient,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    api = Api(client)
    admin = make_token(make_user(Role.ADMIN, name="Ada Admin"), "read")
    held = api("GET", "/api/v1/personal-data", admin, query={"email": EMAIL})
    assert held.status_code == 200, held.json
    assert held.json["found"] is True and held.json["message"] == ""
    assert [lead["id"] for lead in held.json["leads"]] == [seller_lead["lead_id"]]

    empty = api("GET", "/api/v1/personal-data", admin, query={"email": "Nobody@Example.com"})
    assert empty.status_code == 200
    assert empty.json["found"] is False
    assert empty.json["message"].startswith("We hold no personal data about nobody@example.com")
    assert [empty.json[k] for k in ("leads", "touches", "inbound_events")] == [[], [], []]

    bad = api("GET", "/api/v1/personal-data", admin, query={"email": "not an address"})
    assert bad.status_code == 422 and "email" in bad.json["fields"]
    rep = make_token(make_user(Role.REP), "read")
    assert api("GET", "/api/v1/personal-data", rep, query={"email": EMAIL}).status_code == 403


def _queue_id(app: Flask, lead_id: int) -> int:
    with app.app_context():
        lead = db.session().get(Lead, lead_id)
        assert lead is not None and lead.queue_id is not None
        return lead.queue_id
