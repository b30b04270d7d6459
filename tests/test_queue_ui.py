"""The rep's queue and lead page: a routed lead is claimed, worked and closed; the seller hears.

Leads come in through the real webhook (tests.test_leads_ui.seller_lead: a click on a
seller's tracked link, then a signed lead carrying its code) and are routed by the routing
job, as in production.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db, i18n
from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.leads import privacy
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import customer_accounts, jobs, queue_setup, work
from contentfeed.routing import service as routing
from contentfeed.routing.models import LeadActivity, OutboxMessage, Queue, SellerNotice
from tests.conftest import sign_in
from tests.test_leads_ui import seller_lead
from tests.test_webhook import make_secret, post_signed

__all__ = ["seller_lead"]


def _text(response: Any) -> str:
    """The page's words as a person reads them: tags removed, whitespace collapsed."""
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


def route(app: Flask) -> routing.RouteResult:
    """Run the routing job once, as the scheduler would."""
    with app.app_context():
        s = db.session()
        result = jobs.route_leads(s)
        s.commit()
        return result


def rep_in(app: Flask, make_user: Callable[..., User], queue_name: str, **kwargs: Any) -> User:
    """A rep who is a member of the named queue (default queues created if missing)."""
    rep = make_user(Role.REP, **kwargs)
    with app.app_context():
        s = db.session()
        routing.ensure_defaults(s, config.settings_of(app).routing)
        queue = queue_setup.queue_by_name(s, queue_name)
        assert queue is not None
        queue_setup.set_member(s, queue, rep.id)
        s.commit()
    return rep


def test_a_sellers_lead_is_claimed_worked_and_the_seller_hears(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
) -> None:
    rep = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    assert route(app).routed == 2  # Jane, and an unattributed lead of the fixture
    client = sign_in(app.test_client(), rep)

    queue = _text(client.get("/queue"))
    assert "Digital sales" in queue and "1 new" in queue
    assert "Jane Doe" in queue
    assert "Sam Seller · Zero-downtime migrations" in queue  # who and what brought them

    with app.app_context():
        queue_id = (
            db.session().scalars(sa.select(Queue.id).where(Queue.name == "Digital sales")).one()
        )
    claimed = client.post(f"/queue/{queue_id}/claim-next")
    lead_id = seller_lead["lead_id"]
    assert claimed.headers["Location"].endswith(f"/leads/{lead_id}")
    page = _text(client.get(f"/leads/{lead_id}"))
    assert "with Riley Rep" in page
    assert "Digital sales" in page and "not a customer domain" in page  # the trace
    assert "Mark contacted" in page and "Release to the queue" in page

    client.post(f"/leads/{lead_id}/status", data={"status": "contacted"})
    client.post(f"/leads/{lead_id}/notes", data={"text": "Booked a demo for Tuesday."})
    client.post(f"/leads/{lead_id}/status", data={"status": "qualified"})
    page = _text(client.get(f"/leads/{lead_id}"))
    assert "Qualified by Riley Rep" in page and "Booked a demo for Tuesday." in page
    assert "Mark converted" in page

    with app.app_context():
        s = db.session()
        lead = s.get(Lead, lead_id)
        assert lead is not None
        assert lead.status is LeadStatus.QUALIFIED
        assert lead.claimed_at is not None and lead.first_contact_at is not None
        kinds = [n.kind for n in s.scalars(sa.select(SellerNotice).order_by(SellerNotice.id))]
        assert kinds == ["lead", "outcome"]
        events = list(s.scalars(sa.select(OutboxMessage.event_type).order_by(OutboxMessage.id)))
        assert events[0] == "lead.routed" and events.count("lead.status_changed") == 3

    seller = sign_in(app.test_client(), seller_lead["seller"])
    feed = _text(seller.get("/feed"))
    assert "What your posts brought in" in feed
    assert "Your post brought a lead from Acme" in feed
    assert "was qualified" in feed


def test_known_customer_goes_to_customer_development(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
) -> None:
    with app.app_context():
        s = db.session()
        customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Acme", domains=["acme-widgets.example"])
        )
        s.commit()
    rep = rep_in(app, make_user, "Customer development")
    route(app)
    client = sign_in(app.test_client(), rep)
    queue = _text(client.get("/queue"))
    assert "Customer development" in queue and "Jane Doe" in queue
    page = _text(client.get(f"/leads/{seller_lead['lead_id']}"))
    assert "belongs to customer Acme" in page


def test_overdue_leads_stand_out_without_colour(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    route(app)
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, seller_lead["lead_id"])
        assert lead is not None
        lead.due_at = utcnow() - timedelta(minutes=12)
        s.commit()
    html = _text(sign_in(app.test_client(), rep).get("/queue"))
    assert "1 overdue" in html
    assert "⚠" in html and "12 min overdue" in html


def test_disqualifying_needs_a_reason(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    route(app)
    client = sign_in(app.test_client(), rep)
    lead_id = seller_lead["lead_id"]
    client.post(f"/leads/{lead_id}/claim")
    refused = client.post(
        f"/leads/{lead_id}/status", data={"status": "disqualified"}, follow_redirects=True
    )
    assert "Say why the lead is disqualified." in _text(refused)
    done = client.post(
        f"/leads/{lead_id}/status",
        data={"status": "disqualified", "reason": "A student project"},
        follow_redirects=True,
    )
    assert "Disqualified: A student project" in _text(done)


def test_a_rep_outside_the_queue_cannot_act_on_its_leads(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
) -> None:
    rep_in(app, make_user, "Digital sales")
    route(app)
    outsider = sign_in(app.test_client(), make_user(Role.REP))
    lead_id = seller_lead["lead_id"]
    assert outsider.post(f"/leads/{lead_id}/claim").status_code == 404
    assert "not in a queue yet" in _text(outsider.get("/queue"))
    with app.app_context():
        lead = db.session().get(Lead, lead_id)
        assert lead is not None and lead.assignee_id is None


def test_a_returning_person_is_added_to_their_open_lead(
    app: Flask,
    client: FlaskClient,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    route(app)
    again = post_signed(
        client, make_secret(app), {"email": "jane.doe@acme-widgets.example", "first_name": "Jane"}
    )
    assert again.status_code == 202
    assert route(app).merged == 1
    page = _text(sign_in(app.test_client(), rep).get(f"/leads/{seller_lead['lead_id']}"))
    assert "came back" in page
    queue = _text(sign_in(app.test_client(), rep).get("/queue"))
    assert "1 new" in queue  # still one queue item


def test_erasure_blanks_the_pending_crm_message(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    route(app)
    with app.app_context():
        s = db.session()
        worker = s.get(User, rep.id)
        assert worker is not None
        work.add_note(s, worker, seller_lead["lead_id"], "Jane prefers calls after 4pm.")
        s.commit()
        # Before erasing, the export holds the rep's note and the CRM message about her.
        held = privacy.export_person(s, "jane.doe@acme-widgets.example")
        assert [a["text"] for a in held["activity"] if a["kind"] == "note"] == [
            "Jane prefers calls after 4pm."
        ]
        [crm] = held["crm_messages"]
        assert crm["payload"]["data"]["email"] == "jane.doe@acme-widgets.example"
        report = privacy.erase_person(s, "jane.doe@acme-widgets.example", actor=None)
        s.commit()
        assert report.messages == 1
        notes = s.scalars(sa.select(LeadActivity).where(LeadActivity.kind == "note")).all()
        assert [n.text for n in notes] == ["(erased)"]
        message = s.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.lead_id == seller_lead["lead_id"],
                OutboxMessage.event_type == "lead.routed",
            )
        ).one()
        assert message.payload["data"]["email"] == ""
        assert message.payload["data"]["first_name"] == ""
        assert message.payload["data"]["erased"] is True
        notice = s.scalars(sa.select(SellerNotice)).one()
        assert "Jane" not in notice.text and "Acme" not in notice.subject


def test_a_lead_is_handed_to_another_rep_of_its_queue(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
) -> None:
    rep = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    rep_in(app, make_user, "Digital sales", name="Noah Rep")
    route(app)
    client = sign_in(app.test_client(), rep)
    lead_id = seller_lead["lead_id"]
    client.post(f"/leads/{lead_id}/claim")
    with app.app_context():
        noah = db.session().scalars(sa.select(User).where(User.name == "Noah Rep")).one()
    refused = client.post(f"/leads/{lead_id}/reassign", data={}, follow_redirects=True)
    assert "Pick the rep to hand it to." in _text(refused)
    done = client.post(
        f"/leads/{lead_id}/reassign", data={"user_id": noah.id}, follow_redirects=True
    )
    page = _text(done)
    assert "Handed to Noah Rep." in page and "with Noah Rep" in page
    assert "Reassigned to Noah Rep by Riley Rep." in page


# --- the lead page tells one story ---------------------------------------------------------


def _local(app: Flask, at: datetime, relative: bool = False) -> str:
    """A time as the page shows it (ui.time): in the company's default zone (the test users
    have none) and the page's language, formatted on the server."""
    with app.test_request_context():
        shown = i18n.when_text(at) if relative else i18n.datetime_text(at)
    return re.sub(r"\s+", " ", shown)  # as _text reads it (Babel puts a thin space before AM)


def _order(page: str, *phrases: str) -> list[int]:
    """Where each phrase first appears in the page's text (-1 when missing)."""
    return [page.find(phrase) for phrase in phrases]


def test_a_late_delivery_names_the_forms_time_and_when_it_reached_us(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    sent = utcnow() - timedelta(days=3)
    response = post_signed(
        client,
        make_secret(app),
        {
            "email": "late@acme-widgets.example",
            "first_name": "Lena",
            "last_name": "Late",
            "submitted_at": sent.isoformat(),
        },
    )
    assert response.status_code == 202
    lead_id = response.json["lead_id"] if response.json else 0
    route(app)
    worker = sign_in(app.test_client(), rep)
    worker.post(f"/leads/{lead_id}/claim")
    worker.post(f"/leads/{lead_id}/status", data={"status": "contacted"})
    page = _text(worker.get(f"/leads/{lead_id}"))
    # Not "came in 3 days ago" beside "received 10 min ago": each time has its name.
    assert "came in" not in page
    assert f"form sent {_local(app, sent, relative=True)}" in page  # the header: the form is older
    assert "by signed webhook, 3 days after the form was sent" in page
    labels = _order(page, "Form sent", "Reached us", "Routed", "Claimed", "First contact")
    assert -1 not in labels and labels == sorted(labels), labels
    assert "within the SLA" in page


def test_a_claimed_lead_says_who_works_it(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    route(app)
    client = sign_in(app.test_client(), rep)
    lead_id = seller_lead["lead_id"]
    before = _text(client.get(f"/leads/{lead_id}"))
    assert "Rep Nobody yet" in before  # waiting: nobody has it
    client.post(f"/leads/{lead_id}/claim")
    page = _text(client.get(f"/leads/{lead_id}"))
    assert "Nobody yet" not in page
    assert "Rep Riley Rep — claimed it" in page
    assert "At routing Nobody — reps claim leads from this queue" in page
    assert "With Riley Rep since" in page
    # the claim's own contact deadline is named, apart from the lead's response SLA
    assert "contact by" in page and "or it goes back to the queue" in page


def test_the_work_comes_before_the_story(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    route(app)
    client = sign_in(app.test_client(), rep)
    lead_id = seller_lead["lead_id"]
    client.post(f"/leads/{lead_id}/claim")
    page = _text(client.get(f"/leads/{lead_id}"))
    work = _order(page, "Mark contacted", "Release to the queue", "Add note")
    story = _order(page, "Timeline", "Where they came from", "Form data", "Routing")
    assert -1 not in work + story
    assert max(work) < min(story)


def test_a_link_is_shared_only_once_the_seller_marked_it_posted(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    route(app)
    client = sign_in(app.test_client(), rep)
    lead_id = seller_lead["lead_id"]
    page = _text(client.get(f"/leads/{lead_id}"))
    assert "suggested, not marked posted" in page
    assert "shared" not in page.lower().replace("shared 0", "")  # no "Shared 24 Nov"
    with app.app_context():
        from contentfeed.suggestions import actions as suggestions
        from contentfeed.suggestions.models import Suggestion

        s = db.session()
        post = s.scalars(sa.select(Suggestion)).one()
        seller = s.get(User, post.seller_id)
        assert seller is not None
        posted_at = utcnow() - timedelta(minutes=50)
        suggestions.mark_posted(s, seller, post.id, now=posted_at)
        s.commit()
    page = _text(client.get(f"/leads/{lead_id}"))
    assert f"shared {_local(app, posted_at)} (marked posted)" in page
    assert "not marked posted" not in page


def test_a_repeat_visit_is_a_return_not_a_new_arrival(
    app: Flask, client: FlaskClient, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    route(app)
    again = post_signed(
        client, make_secret(app), {"email": "jane.doe@acme-widgets.example", "first_name": "Jane"}
    )
    assert again.status_code == 202 and again.json is not None
    assert route(app).merged == 1
    worker = sign_in(app.test_client(), rep)
    first = _text(worker.get(f"/leads/{seller_lead['lead_id']}"))
    assert "Came back" in first and "sent the form again" in first
    repeat = _text(worker.get(f"/leads/{again.json['lead_id']}"))
    assert "came back" in repeat and "reached us" not in repeat  # the header
    assert f"added to lead #{seller_lead['lead_id']}" in repeat
    assert "Routed" not in repeat.split("Timeline", 1)[1].split("Who", 1)[0]


# --- the queue's Due and Company columns ----------------------------------------------------


def test_the_due_column_says_met_and_a_free_mail_company_is_never_invented(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    secret = make_secret(app)
    for email, first, company in (
        ("pierre.dubois@gmail.com", "Pierre", ""),
        ("kim@gmx.de", "Kim", "Kim Consulting"),
        ("ola@nordbank.example", "Ola", ""),
    ):
        body = {"email": email, "first_name": first, "last_name": "Test", "company": company}
        assert post_signed(client, secret, body).status_code == 202
    route(app)
    worker = sign_in(app.test_client(), rep)
    with app.app_context():
        pierre = db.session().scalars(sa.select(Lead.id).where(Lead.first_name == "Pierre")).one()
    worker.post(f"/leads/{pierre}/claim")
    worker.post(f"/leads/{pierre}/status", data={"status": "contacted"})
    page = worker.get("/queue").get_data(as_text=True)
    cells = re.findall(r'data-label="Company">([^<]*)</td>', page)
    assert "—" in cells and "Kim Consulting" in cells and "nordbank.example" in cells
    assert "gmail" not in " ".join(cells)
    due = re.findall(r'data-label="Due" class="queue-due">(.*?)</td>', page, re.S)
    text = [_text_of(cell) for cell in due]
    assert any(cell.startswith("met") for cell in text)  # Pierre: contacted in time
    at = r"\d+/\d+/\d+, \d+:\d\d\s[AP]M"  # the due time, short, in the viewer's language
    assert any(re.match(rf"in \d+ min at {at}", cell) for cell in text), text
    assert "contacted" not in " ".join(text)


def _text_of(fragment: str) -> str:
    words = re.sub(r"<[^>]+>", " ", fragment)
    return re.sub(r"\s+", " ", html.unescape(words)).strip()


def test_the_same_form_delivered_twice_is_a_redelivery_not_a_return(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    secret = make_secret(app)
    form = {
        "email": "twice@acme-widgets.example",
        "first_name": "Tess",
        "submitted_at": (utcnow() - timedelta(minutes=3)).isoformat(),
    }
    first = post_signed(client, secret, form, msg_id="msg_form_1")
    route(app)
    # The sender retried under a new webhook id: a second event, the same form.
    second = post_signed(client, secret, form, msg_id="msg_form_2")
    assert route(app).merged == 1
    assert first.json is not None and second.json is not None
    worker = sign_in(app.test_client(), rep)
    page = _text(worker.get(f"/leads/{first.json['lead_id']}"))
    assert re.search(r"Delivered again [\d:, A-Za-z\s]+ the same form a second time", page)
    assert "Came back" not in page
    copy = _text(worker.get(f"/leads/{second.json['lead_id']}"))
    assert "delivered again" in copy and "came back" not in copy.lower()
