"""Keeping an open queue page current: "anything new?" in one query, and who arrived.

The queue page carries a version of what it shows (``queue_version``); its script asks
``queue_changes`` every second or so with that version. Nothing changed (the usual answer)
costs one aggregate over the open leads of the rep's queues and the leads the rep holds,
which the queue and assignee indexes find. A change answers the new version and the leads
routed to the rep's queues since the version was made, for the browser's notifications.

A version is ``<digest>.<mark>``: a digest of what the page shows (how many open leads, the
latest change to any of them, the latest routing, their ids) and the time of the latest
routing the page has seen, which only moves on. It tells nothing about queues the user is
not in: they are not part of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import User
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing.panel import company_text
from contentfeed.routing.work import QUEUE_STATUSES, queues_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The statuses of the leads a rep holds that the page lists (work.my_leads).
HELD_STATUSES = (LeadStatus.CLAIMED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
# At most this many arrivals are named in one answer (a notification each).
MAX_ARRIVED = 20
MAX_VERSION_LENGTH = 80


@dataclass(frozen=True)
class Arrived:
    """A lead routed to one of the rep's queues since the page's version."""

    id: int
    name: str
    company: str


@dataclass(frozen=True)
class QueueChanges:
    """The answer to "anything new?": the current version, and whether it moved on."""

    version: str
    changed: bool
    arrived: tuple[Arrived, ...] = ()


def _scope(s: Session, user: User) -> sa.ColumnElement[bool]:
    """The leads the queue page shows the user: their queues' open leads, and their own."""
    queue_ids = [queue.id for queue in queues_of(s, user)]
    return sa.and_(
        Lead.merged_into_id.is_(None),
        sa.or_(
            sa.and_(Lead.queue_id.in_(queue_ids), Lead.status.in_(QUEUE_STATUSES)),
            sa.and_(Lead.assignee_id == user.id, Lead.status.in_(HELD_STATUSES)),
        ),
    )


def _micros(moment: datetime | None) -> int:
    return 0 if moment is None else (moment - EPOCH) // timedelta(microseconds=1)


def _current(s: Session, scope: sa.ColumnElement[bool]) -> tuple[str, int]:
    """The digest of what the page shows and the latest routing among it, in one query."""
    count, updated, routed, ids = s.execute(
        sa.select(
            sa.func.count(),
            sa.func.max(Lead.updated_at),
            sa.func.max(Lead.routed_at),
            sa.func.coalesce(sa.func.sum(Lead.id), 0),
        ).where(scope)
    ).one()
    facts = f"{count}|{_micros(updated)}|{_micros(routed)}|{ids}"
    return hashlib.sha256(facts.encode()).hexdigest()[:16], _micros(routed)


def _parse(version: str) -> tuple[str, int | None]:
    """Split a version the page sent into its digest and mark (None when it is not one)."""
    digest, _, mark = version[:MAX_VERSION_LENGTH].partition(".")
    if not mark.isascii() or not mark.isdigit() or len(mark) > 18:
        return digest, None
    return digest, int(mark)


def queue_version(s: Session, user: User) -> str:
    """Return the version of the user's queue page as it is now."""
    digest, mark = _current(s, _scope(s, user))
    return f"{digest}.{mark}"


def queue_changes(s: Session, user: User, since: str) -> QueueChanges:
    """Tell whether the user's queue page changed since ``since`` (a version it was given),
    and name the leads routed to the user's queues meanwhile (none for a version that is
    not one: a page that lost its version just refreshes)."""
    scope = _scope(s, user)
    digest, mark = _current(s, scope)
    seen_digest, seen_mark = _parse(since)
    if seen_digest == digest and seen_mark is not None:
        return QueueChanges(since, changed=False)
    arrived: tuple[Arrived, ...] = ()
    if seen_mark is not None and mark > seen_mark:
        after = EPOCH + timedelta(microseconds=seen_mark)
        leads = s.scalars(
            sa.select(Lead)
            .where(scope, Lead.routed_at > after)
            .order_by(Lead.routed_at, Lead.id)
            .limit(MAX_ARRIVED)
        )
        arrived = tuple(Arrived(lead.id, lead.full_name, company_text(lead)) for lead in leads)
    return QueueChanges(f"{digest}.{max(mark, seen_mark or 0)}", changed=True, arrived=arrived)
