"""A claim belongs to the rep who took it: its own contact deadline, counted from the claim in
the queue's claim window, apart from the lead's response SLA; the sweep returns only claims
past that deadline, once, and the CRM hears of each real status change once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from contentfeed import db
from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.errors import Invalid
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import lead_history, queue_setup, work
from contentfeed.routing.models import OutboxMessage, Queue, Strategy
from tests.apiclient import Api
from tests.test_routing import add_rule, kinds, make_queue, new_lead, route

UserFactory = Callable[..., User]
BERLIN = ZoneInfo("Europe/Berlin")


def status_messages(s: Session, lead_id: int) -> int:
    """How many lead.status_changed messages the CRM outbox holds for a lead."""
    return int(
        s.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.lead_id == lead_id,
                OutboxMessage.event_type == "lead.status_changed",
            )
        )
        or 0
    )


def overdue_lead(s: Session, rep: User, t0: datetime, **queue: object) -> Lead:
    """A lead routed at t0 to a queue with a 60-minute SLA, ``rep`` a member; not claimed."""
    q = make_queue(s, "Inbound", sla_minutes=60, **queue)
    queue_setup.set_member(s, q, rep.id)
    add_rule(s, "Everyone", q)
    lead = new_lead(s, "olga@alpha.example", first_name="Olga", at=t0)
    route(s, t0)
    s.commit()
    return lead


@pytest.mark.parametrize("how", ["claim", "claim_next", "set_status"])
def test_a_rep_who_claims_an_overdue_lead_still_has_it_after_the_sweep(
    app: Flask, make_user: UserFactory, how: str
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=3)
    claimed_at = t0 + timedelta(minutes=120)  # an hour past its SLA
    with app.app_context():
        s = db.session()
        lead = overdue_lead(s, ann, t0, claim_minutes=30)
        rep = s.get(User, ann.id)
        assert rep is not None
        if how == "claim":
            work.claim(s, rep, lead.id, now=claimed_at)
        elif how == "claim_next":
            taken = work.claim_next(s, rep, lead.queue_id or 0, now=claimed_at)
            assert taken is not None and taken.id == lead.id
        else:
            work.set_status(s, rep, lead.id, LeadStatus.CLAIMED, now=claimed_at)
        s.commit()
        s.refresh(lead)
        assert lead.claim_due_at == claimed_at + timedelta(minutes=30)

        # Ten minutes later (and every minute up to the deadline) the sweep leaves it alone.
        for minutes in (1, 10, 29):
            assert work.sla_sweep(s, claimed_at + timedelta(minutes=minutes)).returned == 0
        s.commit()
        s.refresh(lead)
        assert (lead.status, lead.assignee_id) == (LeadStatus.CLAIMED, ann.id)
        assert "returned" not in kinds(s, lead.id)
        assert status_messages(s, lead.id) == 1  # the claim itself, nothing more
        # The lead is still overdue on its response SLA: the flag follows due_at.
        assert lead.due_at == t0 + timedelta(minutes=60)
        assert work.is_overdue(lead, claimed_at + timedelta(minutes=10))
        view = work.queue_view(s, s.get(Queue, lead.queue_id), claimed_at + timedelta(minutes=10))
        assert [row.overdue for row in view.rows] == [True]
        assert view.counts.overdue == 1


def test_a_claim_past_its_deadline_goes_back_once_with_one_crm_message(
    app: Flask, make_user: UserFactory
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=5)
    claimed_at = t0 + timedelta(minutes=120)
    with app.app_context():
        s = db.session()
        lead = overdue_lead(s, ann, t0, claim_minutes=30)
        rep = s.get(User, ann.id)
        assert rep is not None
        work.claim(s, rep, lead.id, now=claimed_at)
        s.commit()

        returned = work.sla_sweep(s, claimed_at + timedelta(minutes=31))
        s.commit()
        assert returned.returned == 1
        # The sweep runs every minute: the lead is back in the queue, returned once.
        for minutes in (32, 33, 60, 90):
            assert work.sla_sweep(s, claimed_at + timedelta(minutes=minutes)).returned == 0
        s.commit()
        s.refresh(lead)
        assert (lead.status, lead.assignee_id, lead.claim_due_at) == (LeadStatus.NEW, None, None)
        assert lead.returned_count == 1
        assert kinds(s, lead.id).count("returned") == 1
        [entry] = [a for a in lead_history.history(s, lead.id) if a.kind == "returned"]
        assert "Ann Rep did not contact them within 30 minutes of claiming" in entry.text
        assert status_messages(s, lead.id) == 2  # claimed, then returned

        # Claimed again, the rep gets a fresh window of their own.
        again = claimed_at + timedelta(minutes=100)
        work.claim(s, rep, lead.id, now=again)
        assert work.sla_sweep(s, again + timedelta(minutes=10)).returned == 0
        s.commit()
        assert lead.status is LeadStatus.CLAIMED and status_messages(s, lead.id) == 3


def test_contacted_released_and_reassigned_leads_keep_the_right_claim_deadline(
    app: Flask, make_user: UserFactory
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    ben = make_user(Role.REP, name="Ben Rep")
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=5)
    with app.app_context():
        s = db.session()
        lead = overdue_lead(s, ann, t0, claim_minutes=30)
        rep = s.get(User, ann.id)
        assert rep is not None
        work.claim(s, rep, lead.id, now=t0 + timedelta(minutes=5))
        work.release(s, rep, lead.id, now=t0 + timedelta(minutes=6))
        assert lead.claim_due_at is None
        # Handed to Ben at minute 20: his window starts then, not at Ann's claim.
        work.reassign(s, rep, lead.id, ben.id, now=t0 + timedelta(minutes=20))
        assert lead.claim_due_at == t0 + timedelta(minutes=50)
        messages = status_messages(s, lead.id)
        # Reassigning to the rep who has it changes nothing: no history line, no CRM message.
        before = kinds(s, lead.id)
        work.reassign(s, rep, lead.id, ben.id, now=t0 + timedelta(minutes=21))
        assert lead.claim_due_at == t0 + timedelta(minutes=50)
        assert status_messages(s, lead.id) == messages and kinds(s, lead.id) == before
        s.commit()
        assert work.sla_sweep(s, t0 + timedelta(minutes=45)).returned == 0
        benny = s.get(User, ben.id)
        assert benny is not None
        work.set_status(s, benny, lead.id, LeadStatus.CONTACTED, now=t0 + timedelta(minutes=46))
        assert lead.claim_due_at is None
        assert work.sla_sweep(s, t0 + timedelta(hours=4)).returned == 0
        s.commit()
        assert lead.status is LeadStatus.CONTACTED and lead.assignee_id == ben.id


@pytest.mark.parametrize("strategy", [Strategy.ROUND_ROBIN, Strategy.WEIGHTED])
def test_leads_handed_out_by_assignment_get_a_claim_deadline(
    app: Flask, make_user: UserFactory, strategy: Strategy
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=5)
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Handed out", strategy, sla_minutes=20, claim_minutes=45)
        queue_setup.set_member(s, queue, ann.id)
        add_rule(s, "Everyone", queue)
        lead = new_lead(s, "olga@alpha.example", at=t0)
        route(s, t0)
        s.commit()
        assert (lead.status, lead.assignee_id) == (LeadStatus.CLAIMED, ann.id)
        assert lead.due_at == t0 + timedelta(minutes=20)
        assert lead.claim_due_at == t0 + timedelta(minutes=45)
        # Past its SLA (overdue) but within the claim window: the rep keeps it.
        assert work.sla_sweep(s, t0 + timedelta(minutes=30)).returned == 0
        assert work.is_overdue(lead, t0 + timedelta(minutes=30))
        assert work.sla_sweep(s, t0 + timedelta(minutes=46)).returned == 1
        s.commit()
        assert lead.status is LeadStatus.NEW


def test_the_claim_window_counts_business_hours_when_the_queue_does(
    app: Flask, make_user: UserFactory
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    friday = datetime(2025, 3, 7, 16, 30, tzinfo=BERLIN).astimezone(UTC)
    with app.app_context():
        s = db.session()
        queue = make_queue(
            s,
            "Berlin desk",
            sla_minutes=15,
            claim_minutes=60,
            business_hours=True,
            timezone="Europe/Berlin",
        )
        queue_setup.set_member(s, queue, ann.id)
        add_rule(s, "Everyone", queue)
        lead = new_lead(s, "jane@acme.example", at=friday)
        route(s, friday)
        rep = s.get(User, ann.id)
        assert rep is not None
        work.claim(s, rep, lead.id, now=friday)
        s.commit()
        # Half an hour on Friday, half on Monday morning.
        assert lead.claim_due_at == datetime(2025, 3, 10, 9, 30, tzinfo=BERLIN)
        saturday = datetime(2025, 3, 8, 12, 0, tzinfo=BERLIN)
        assert work.sla_sweep(s, saturday).returned == 0
        assert lead.status is LeadStatus.CLAIMED
        assert work.sla_sweep(s, datetime(2025, 3, 10, 9, 31, tzinfo=BERLIN)).returned == 1


# --- the queue setting -----------------------------------------------------------------------


def test_the_claim_window_is_checked_and_saved(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        for minutes in (0, -5, queue_setup.MAX_CLAIM_MINUTES + 1):
            with pytest.raises(Invalid) as refused:
                make_queue(s, f"Q{minutes}", claim_minutes=minutes)
            assert "claim_minutes" in refused.value.fields
        queue = make_queue(s, "Fine", claim_minutes=90)
        assert queue.claim_minutes == 90
        assert make_queue(s, "Default").claim_minutes == queue_setup.DEFAULT_CLAIM_MINUTES


def test_the_queue_form_sets_the_claim_window(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    admin = client_as("admin")
    form = admin.get("/admin/queues/new").get_data(as_text=True)
    assert "Contact within minutes of claiming" in form
    data = {
        "name": "Key accounts",
        "strategy": "claim",
        "sla_minutes": "60",
        "timezone": "UTC",
        "lead_user_id": "0",
    }
    refused = admin.post("/admin/queues/new", data={**data, "claim_minutes": "0"})
    assert refused.status_code == 422
    assert "Between 1 and 10080 minutes" in refused.get_data(as_text=True)
    saved = admin.post("/admin/queues/new", data={**data, "claim_minutes": "45"})
    assert saved.status_code in (302, 303)
    with app.app_context():
        queue = queue_setup.queue_by_name(db.session(), "Key accounts")
        assert queue is not None and queue.claim_minutes == 45
        queue_id = queue.id
    edit = admin.get(f"/admin/queues/{queue_id}").get_data(as_text=True)
    assert 'name="claim_minutes"' in edit and 'value="45"' in edit
    listed = admin.get("/admin/queues").get_data(as_text=True)
    assert "contact within <strong>45 min</strong> of claiming" in listed


def test_the_queues_api_reads_and_checks_the_claim_window(
    app: Flask,
    client: FlaskClient,
    make_user: UserFactory,
    make_token: Callable[..., str],
) -> None:
    api = Api(client)
    token = make_token(make_user("admin", name="Ada Admin"), "read", "routing:write")
    with app.app_context():
        s = db.session()
        queue_id = make_queue(s, "Inbound").id
        s.commit()
    path = "/api/v1/routing/queues/{queue_id}"
    changed = api(
        "PUT", path, token, queue_id=queue_id, json={"name": "Inbound", "claim_minutes": 20}
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["claim_minutes"] == 20
    listed = api("GET", "/api/v1/routing/queues", token).json["items"]
    assert [q["claim_minutes"] for q in listed] == [20]
    mine = api("GET", "/api/v1/queues", token).json["items"]  # what a rep sees of the queue
    assert [q["claim_minutes"] for q in mine] == [20]
    for bad in (0, queue_setup.MAX_CLAIM_MINUTES + 1):
        refused = api(
            "PUT", path, token, queue_id=queue_id, json={"name": "Inbound", "claim_minutes": bad}
        )
        assert refused.status_code == 422
        assert "claim_minutes" in refused.json["fields"]


# --- the demo ---------------------------------------------------------------------------------


def test_a_rep_claims_the_most_overdue_demo_lead_and_still_has_it_ten_minutes_later(
    app: Flask,
) -> None:
    from contentfeed import demo

    with app.app_context():
        s = db.session()
        demo.seed(s)
        s.commit()
        now = utcnow()
        # Demo claims still open got a deadline from their claim, like every claim.
        open_claims = s.scalars(
            sa.select(Lead).where(
                Lead.status == LeadStatus.CLAIMED, Lead.first_contact_at.is_(None)
            )
        ).all()
        assert all(lead.claim_due_at is not None for lead in open_claims)
        rep = s.scalar(sa.select(User).where(User.email == demo.demo_email("rep")))
        assert rep is not None
        queue_ids = [q.id for q in work.queues_of(s, rep)]
        most_overdue = s.scalar(
            sa.select(Lead)
            .where(
                Lead.queue_id.in_(queue_ids),
                Lead.status == LeadStatus.NEW,
                Lead.merged_into_id.is_(None),
                Lead.due_at <= now,
            )
            .order_by(Lead.due_at, Lead.id)
            .limit(1)
        )
        assert most_overdue is not None, "the demo has an overdue lead waiting"
        queue_id = most_overdue.queue_id or 0
        taken = work.claim_next(s, rep, queue_id, now=now)
        assert taken is not None and taken.id == most_overdue.id
        s.commit()
        messages = status_messages(s, taken.id)
        assert work.sla_sweep(s, now + timedelta(minutes=10)).returned == 0
        s.commit()
        s.refresh(taken)
        assert (taken.status, taken.assignee_id) == (LeadStatus.CLAIMED, rep.id)
        assert status_messages(s, taken.id) == messages
