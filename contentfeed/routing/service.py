"""Routing a lead: where each new lead goes and which rep gets it, and the dry run.

A new lead is routed by the ``routing.route_leads`` job, woken by the intake the moment the
lead is committed (wakeup.py; its 5-second interval is the safety net), so the lead webhook
stays a two-statement affair that does not wait for routing. Routing a lead, in one
transaction: if the same person has an open lead, the new one is folded into it (the rep sees
the person came back);
otherwise the rules are tried in order (rulebook.py), the first match names a queue and a
strategy, a rep is picked where the strategy says so, the SLA clock starts (queue_setup.py), the
trace of every decision is kept on the lead, a message for the CRM goes to the outbox and the
attributed seller is told (seller_notices.py). Working a routed lead is work.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import sqlalchemy as sa
from pydantic import ConfigDict, Field, field_validator
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import User

# The routing settings ([routing] in config.toml), by the name this domain has always used.
from contentfeed.config import RoutingSettings as RoutingSettings
from contentfeed.db import utcnow
from contentfeed.i18n import N_
from contentfeed.leads import attribution, intake
from contentfeed.leads.models import (
    OPEN_STATUSES,
    Lead,
    LeadStatus,
    Touch,
)
from contentfeed.routing.batch import Batch, prepare
from contentfeed.routing.lead_facts import facts_of
from contentfeed.routing.lead_history import record
from contentfeed.routing.models import (
    Queue,
    QueueMember,
    RoutingRule,
    Strategy,
)
from contentfeed.routing.outbox import enqueue
from contentfeed.routing.queue_setup import claim_due, new_queue, queue_by_name, sla_due
from contentfeed.routing.reasons import reason
from contentfeed.routing.rulebook import evaluate, list_rules
from contentfeed.routing.seller_notices import tell_seller
from contentfeed.text import Input

ROUTE_BATCH = 200
# Leads the routing job routes per run, in one transaction: few, so that under a burst each
# lead's commit comes soon after its routing (a run of 200 took 3.4 s on a busy machine:
# BENCHMARKS.md, speed to lead); a full batch is followed by another run at once (jobs.py).
JOB_BATCH = 25
# The session a scheduled job is handed, named here for the jobs module (which imports no
# sqlalchemy of its own).
JobSession: TypeAlias = Session


# --- defaults ----------------------------------------------------------------------------


def ensure_defaults(s: Session, settings: RoutingSettings, *, force: bool = False) -> None:
    """Create the two default queues and rules from config on first use.

    Known customers go to customer development ("hunters after the signature"), everyone else
    to digital sales. Reps of a team of the matching kind become the queues' members. Only
    while no queue exists (a fresh install), unless ``force`` (an admin asked for them): an
    admin who deleted every rule does not get them back behind their back.
    """
    if s.scalar(sa.select(sa.func.count()).select_from(RoutingRule)):
        return
    if not force and s.scalar(sa.select(sa.func.count()).select_from(Queue)):
        return
    customer = queue_by_name(s, settings.customer_queue) or new_queue(
        s, settings.customer_queue, settings.customer_sla_minutes, "customer_development"
    )
    default = queue_by_name(s, settings.default_queue) or new_queue(
        s, settings.default_queue, settings.default_sla_minutes, "digital_sales"
    )
    s.add_all(
        [
            RoutingRule(
                position=1,
                name="Known customers",
                conditions={"customer": True},
                queue=customer,
            ),
            RoutingRule(position=2, name="Everyone else", conditions={}, queue=default),
        ]
    )
    s.flush()


@dataclass(frozen=True)
class RoutingNames:
    """The names behind leads' queue and assignee ids."""

    queues: dict[int, str]
    users: dict[int, str]


def routing_names(s: Session, leads: Sequence[Lead]) -> RoutingNames:
    """Load the names of the queues and reps a list of leads points to, in two queries."""
    queue_ids = {lead.queue_id for lead in leads if lead.queue_id is not None}
    user_ids = {lead.assignee_id for lead in leads if lead.assignee_id is not None}
    queues: dict[int, str] = {}
    users: dict[int, str] = {}
    if queue_ids:
        queues = dict(
            s.execute(sa.select(Queue.id, Queue.name).where(Queue.id.in_(queue_ids))).all()
        )
    if user_ids:
        users = dict(s.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids))).all())
    return RoutingNames(queues=queues, users=users)


# --- picking a rep -------------------------------------------------------------------------


def _open_load(s: Session, user_ids: Sequence[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = s.execute(
        sa.select(Lead.assignee_id, sa.func.count())
        .where(
            Lead.assignee_id.in_(user_ids),
            Lead.status.in_([LeadStatus.CLAIMED, LeadStatus.CONTACTED]),
            Lead.merged_into_id.is_(None),
        )
        .group_by(Lead.assignee_id)
    ).all()
    return {int(user_id or 0): int(n) for user_id, n in rows}


def pick_rep(
    s: Session, queue: Queue, strategy: Strategy, now: datetime, batch: Batch | None = None
) -> tuple[QueueMember | None, dict[str, Any]]:
    """Pick the rep a lead goes to (None when reps claim, or nobody can take it).

    Round-robin gives the lead to the eligible rep with the fewest leads so far; weighted
    to the one furthest below their share (fewest leads per unit of weight). Counters are
    stored, so the order survives restarts and is the same on every run: no randomness.
    """
    if strategy is Strategy.CLAIM:
        return None, {"strategy": strategy.value, **reason(N_("reps claim leads from this queue"))}
    members = list(queue.members)
    user_ids = [m.user_id for m in members]
    load = batch.load_of(s, user_ids) if batch is not None else _open_load(s, user_ids)
    considered = []
    eligible: list[QueueMember] = []
    for member in members:
        busy = None
        if not member.user.is_active:
            busy = reason(N_("account deactivated"))
        elif not member.available:
            busy = reason(N_("unavailable"))
        elif member.capacity and load.get(member.user_id, 0) >= member.capacity:
            busy = reason(
                N_("at capacity (%(open)s of %(capacity)s open)"),
                open=load.get(member.user_id, 0),
                capacity=member.capacity,
            )
        considered.append(
            {
                "user_id": member.user_id,
                "name": member.user.name,
                "eligible": busy is None,
                **(
                    busy
                    or reason(
                        N_("%(count)s assigned so far, weight %(weight)s"),
                        count=member.assigned_count,
                        weight=member.weight,
                    )
                ),
            }
        )
        if busy is None:
            eligible.append(member)
    if not eligible:
        return None, {
            "strategy": strategy.value,
            "reps": considered,
            **reason(N_("no rep can take it now; it waits in the queue for anyone to claim")),
        }
    if strategy is Strategy.WEIGHTED:
        chosen = min(eligible, key=lambda m: (m.assigned_count / m.weight, -m.weight, m.id))
        why = reason(
            N_("%(name)s is furthest below their share (weight %(weight)s)"),
            name=chosen.user.name,
            weight=chosen.weight,
        )
    else:
        chosen = min(eligible, key=lambda m: (m.assigned_count, m.id))
        why = reason(N_("%(name)s is next in turn"), name=chosen.user.name)
    chosen.assigned_count += 1
    chosen.last_assigned_at = now
    return chosen, {
        "strategy": strategy.value,
        "reps": considered,
        "picked": chosen.user_id,
        **why,
    }


# --- routing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteResult:
    """What one run of the routing job did."""

    routed: int = 0
    merged: int = 0


def open_lead_of(s: Session, lead: Lead, *, window_days: int) -> Lead | None:
    """Return the same person's open lead from inside the window, if any."""
    since = lead.submitted_at - timedelta(days=window_days)
    return s.scalar(
        sa.select(Lead)
        .where(
            Lead.email == lead.email,
            Lead.id != lead.id,
            Lead.merged_into_id.is_(None),
            Lead.routed_at.is_not(None),
            Lead.erased_at.is_(None),
            Lead.status.in_(list(OPEN_STATUSES)),
            Lead.submitted_at >= since,
        )
        .order_by(Lead.submitted_at.desc(), Lead.id.desc())
        .limit(1)
    )


def route_pending(
    s: Session,
    settings: RoutingSettings,
    now: datetime | None = None,
    *,
    limit: int = ROUTE_BATCH,
) -> RouteResult:
    """Route the leads not routed yet (the oldest ``limit``) in one transaction."""
    now = now or utcnow()
    _write_lock(s)
    ensure_defaults(s, settings)  # a fresh install's queues exist before its first lead
    query = (
        sa.select(Lead)
        .options(selectinload(Lead.touches))  # the facts and the seller notice read them
        .where(Lead.routed_at.is_(None), Lead.erased_at.is_(None))
        .order_by(Lead.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    routed = merged = 0
    with _holding_what_is_loaded(s):
        leads = s.scalars(query).all()
        if not leads:  # the usual answer to the router looking again
            return RouteResult(0, 0)
        rules = list_rules(s)
        batch = prepare(s, leads, window_days=settings.dedupe_days)
        # Nothing routing a lead reads needs this run's earlier writes flushed (the batch
        # keeps track of them), so they all go out together at the end: one statement a
        # table instead of one a lead. A failing lead fails the run; it is retried whole.
        with s.no_autoflush:
            for lead in leads:
                if route_lead(s, lead, settings, rules, now, batch):
                    routed += 1
                else:
                    merged += 1
        s.flush()
    return RouteResult(routed, merged)


@contextmanager
def _holding_what_is_loaded(s: Session) -> Iterator[None]:
    """Keep every object the run loads in the session's identity map until it ends.

    The identity map holds objects only while something else does, so each lead of the same
    seller loaded the seller, their team, profile and the content again (5 of 13 statements
    a lead). Held, ``s.get`` and the many-to-one loads find them without a query.
    """
    held: list[object] = []

    def hold(_session: Session, instance: object) -> None:
        held.append(instance)

    sa.event.listen(s, "loaded_as_persistent", hold)
    try:
        yield
    finally:
        sa.event.remove(s, "loaded_as_persistent", hold)
        held.clear()


def _write_lock(s: Session) -> None:
    """On SQLite, take the database's write lock before reading the leads to route.

    A transaction that reads first and writes later fails at once ("database is locked")
    when another connection (the webhook, taking a lead in) committed in between: SQLite
    cannot upgrade a read snapshot grown stale, and its busy timeout does not apply. Taken
    first, the lock waits its turn instead. PostgreSQL locks the leads' rows (SKIP LOCKED).
    """
    connection = s.connection()
    if connection.dialect.name != "sqlite":
        return
    driver: Any = connection.connection.dbapi_connection
    if driver is not None and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def route_lead(
    s: Session,
    lead: Lead,
    settings: RoutingSettings,
    rules: Sequence[RoutingRule],
    now: datetime,
    batch: Batch | None = None,
) -> bool:
    """Route one lead; return False when it was folded into the person's open lead.

    ``batch`` is what a run loaded for all its leads (batch.py); without one, the lead's
    own queries read it.
    """
    if batch is not None:
        earlier = batch.earlier_open(lead)
    else:
        earlier = open_lead_of(s, lead, window_days=settings.dedupe_days)
    if earlier is not None:
        fold_into(s, lead, earlier, now)
        return False
    facts = facts_of(s, lead, batch.accounts if batch is not None else None)
    rule, tried = evaluate(rules, facts)
    if rule is not None:
        queue, strategy = rule.queue, rule.strategy or rule.queue.strategy
        why = reason(N_("rule %(rule)s matched"), rule=repr(rule.name))
    else:
        queue = queue_by_name(s, settings.default_queue) or new_queue(
            s, settings.default_queue, settings.default_sla_minutes, "digital_sales"
        )
        strategy, why = queue.strategy, reason(N_("no rule matched: the default queue"))
    member, assignment = pick_rep(s, queue, strategy, now, batch)
    lead.score = facts.score
    lead.account_id = facts.account_id
    lead.queue_id = queue.id
    lead.routed_at = now
    lead.due_at = sla_due(queue, now)
    if member is not None:
        lead.assignee_id = member.user_id
        lead.status = LeadStatus.CLAIMED
        lead.claimed_at = now
        lead.claim_due_at = claim_due(queue, now)  # handed out: the rep's window starts now
    lead.routing_trace = {
        "at": now.isoformat(),
        "facts": facts.as_dict(),
        "rules": tried,
        "queue": {"id": queue.id, "name": queue.name, **why},
        "assignment": assignment,
    }
    text = f"Routed to {queue.name}: {why['why']}."
    if member is not None:
        text += f" Assigned to {member.user.name}."
    # The facts the line names, so each reader gets it in their language (lead_history.describe)
    facts_named = {
        "queue": queue.name,
        "rule": rule.name if rule is not None else "",
        "assignee": member.user.name if member is not None else "",
    }
    record(s, lead, "routed", text, detail={"queue_id": queue.id, **facts_named}, now=now)
    enqueue(s, lead, "lead.routed", now)
    tell_seller(s, lead, facts, now)
    if batch is not None:
        batch.routed(lead)
    return True


def fold_into(s: Session, lead: Lead, earlier: Lead, now: datetime) -> None:
    """The person came back while their lead is open: add the new touches to it."""
    lead.merged_into_id = earlier.id
    lead.routed_at = now
    lead.queue_id = earlier.queue_id
    lead.routing_trace = {
        "at": now.isoformat(),
        "duplicate_of": earlier.id,
        **reason(N_("the same person has open lead #%(id)s; added to it"), id=earlier.id),
    }
    known = {touch.code for touch in earlier.touches}
    added = []
    for touch in lead.touches:
        if touch.code in known:
            continue
        added.append(
            Touch(
                lead=earlier,
                code=touch.code,
                found_in="returned",
                link_id=touch.link_id,
                click_id=touch.click_id,
                suggestion_id=touch.suggestion_id,
                seller_id=touch.seller_id,
                content_id=touch.content_id,
                campaign_id=touch.campaign_id,
                touched_at=touch.touched_at,
            )
        )
        known.add(touch.code)
    s.add_all(added)
    s.flush()
    if added:  # the person converted again: credit over every touch, as of this visit
        touches = sorted(earlier.touches, key=lambda t: (t.touched_at, t.code))
        shares = attribution.credit_shares(
            [t.touched_at for t in touches], converted_at=lead.submitted_at
        )
        for touch, credits in zip(touches, shares, strict=True):
            touch.credits = credits
    where = f" via {added[-1].code}" if added else ""
    record(
        s,
        earlier,
        "came_back",
        f"{lead.full_name} came back{where} (form sent {lead.submitted_at:%Y-%m-%d %H:%M} UTC).",
        detail={
            "lead_id": lead.id,
            "touches_added": len(added),
            "via": added[-1].code if added else "",
        },
        now=now,
    )
    record(
        s,
        lead,
        "merged",
        f"Added to open lead #{earlier.id}.",
        detail={"into": earlier.id},
        now=now,
    )
    s.flush()


UK_HINT = " (the United Kingdom is GB)"


class SampleLead(Input):
    """A made-up lead to route; nothing is stored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(max_length=254)
    first_name: str = Field(default="", max_length=120)
    last_name: str = Field(default="", max_length=120)
    company: str = Field(default="", max_length=200)
    job_title: str = Field(default="", max_length=200)
    country: str = Field(default="", description="An ISO code or a country's name")
    utm_content: str = Field(
        default="",
        max_length=200,
        description="A tracked-link code, as a lead carries it: attributes the sample to the "
        "link's seller and content",
    )

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        return str(intake.checked_email(value))

    @field_validator("country")
    @classmethod
    def _alpha_2(cls, value: str) -> str:
        # The same reading as a lead's country: "DE", "de" and "Germany" are all DE.
        try:
            return intake.country_code(value)
        except ValueError as exc:
            raise ValueError(str(exc) + (UK_HINT if value.upper() == "UK" else "")) from None


def sample_lead(s: Session, sample: SampleLead, *, lookback_days: int, now: datetime) -> Lead:
    """Build an unsaved lead for a dry run, with the touches its code would give it.

    Nothing is added to the session; callers roll back after the dry run all the same.
    """
    lead = Lead(
        email=sample.email,
        email_domain=sample.email.rpartition("@")[2],
        first_name=sample.first_name.strip(),
        last_name=sample.last_name.strip(),
        company=sample.company.strip(),
        job_title=sample.job_title.strip(),
        country=sample.country.strip().upper(),
        utm_content=sample.utm_content.strip(),
        phone="",
        consent=False,
        submitted_at=now,
    )
    if lead.utm_content:
        found = attribution.find_touches(
            s.connection(),
            {"utm_content": lead.utm_content},
            email=lead.email,
            converted_at=now,
            lookback_days=lookback_days,
        )
        lead.touches = [Touch(**asdict(item.touch), credits=item.credits) for item in found]
    return lead


def dry_run(s: Session, sample: Lead, settings: RoutingSettings) -> dict[str, Any]:
    """Say where a lead would go, with the trace, changing nothing."""
    facts = facts_of(s, sample)
    rule, tried = evaluate(list_rules(s), facts)
    if rule is not None:
        queue, strategy = rule.queue, rule.strategy or rule.queue.strategy
        why = reason(N_("rule %(rule)s matched"), rule=repr(rule.name))
    else:
        queue = queue_by_name(s, settings.default_queue)  # type: ignore[assignment]
        strategy = queue.strategy if queue else Strategy.CLAIM
        why = reason(N_("no rule matched: the default queue"))
    assignment: dict[str, Any] = {"strategy": strategy.value}
    if queue is not None:
        with s.begin_nested() as savepoint:  # counters move while picking: undo them
            _member, assignment = pick_rep(s, queue, strategy, utcnow())
            savepoint.rollback()
    return {
        "facts": facts.as_dict(),
        "rules": tried,
        "queue": {"id": queue.id, "name": queue.name, **why} if queue else None,
        "assignment": assignment,
        "due_at": sla_due(queue, utcnow()).isoformat() if queue else None,
    }


@dataclass(frozen=True)
class TryResult:
    """A dry run of a typed-in lead: the routing trace, who the sample was, and whether the
    tracked-link code given matched no link."""

    trace: dict[str, Any]
    name: str
    email: str
    unknown_code: bool


def try_sample(
    s: Session, sample: SampleLead, settings: RoutingSettings, *, lookback_days: int
) -> TryResult:
    """Say where a lead like the sample would go; the sample and its touches are built in the
    session only for the run and rolled back after it (the admin page and the API both)."""
    try:
        with s.no_autoflush:
            lead = sample_lead(s, sample, lookback_days=lookback_days, now=utcnow())
            code = lead.utm_content
            return TryResult(
                trace=dry_run(s, lead, settings),
                name=lead.full_name,
                email=lead.email,
                unknown_code=bool(code) and not any(t.code == code for t in lead.touches),
            )
    finally:
        s.rollback()  # a dry run changes nothing
