"""What one run of the router loads once for all the leads it routes.

Routed one by one, a lead cost eleven statements: its seller, their team and profile, the
content, the account of its domain, the person's open lead, and a flush of its own for its
history line, outbox message and notice. A run of 25 leads now reads each of these in one
query for them all, and the writes of the whole run go out in one flush (one statement per
table: SQLAlchemy batches the inserts). On PostgreSQL that made the router about three times
faster (BENCHMARKS.md, speed to lead), so a burst no longer waits behind a backlog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.leads.models import OPEN_STATUSES, Lead, LeadStatus
from contentfeed.leads.service import last_touch
from contentfeed.routing.customer_accounts import accounts_for_domains
from contentfeed.routing.models import Account

BUSY = (LeadStatus.CLAIMED, LeadStatus.CONTACTED)


@dataclass
class Batch:
    """The run's leads and what routing them reads, loaded up front and kept current."""

    window_days: int
    accounts: dict[str, Account | None] = field(default_factory=dict)
    # The people's open leads inside the window, newest last; each lead routed joins them.
    open_leads: dict[str, list[Lead]] = field(default_factory=lambda: defaultdict(list))
    # Open claimed or contacted leads per rep, counted once and moved with each assignment.
    load: dict[int, int] = field(default_factory=dict)
    held: list[object] = field(default_factory=list)

    def earlier_open(self, lead: Lead) -> Lead | None:
        """Return the same person's newest open lead from inside the window, if any."""
        since = lead.submitted_at - timedelta(days=self.window_days)
        found = [
            other
            for other in self.open_leads.get(lead.email, ())
            if other.id != lead.id
            and other.merged_into_id is None
            and other.status in OPEN_STATUSES
            and other.submitted_at >= since
        ]
        return max(found, key=lambda other: (other.submitted_at, other.id), default=None)

    def routed(self, lead: Lead) -> None:
        """Note a lead the run routed: the person's next lead in the run folds into it."""
        if lead.status in OPEN_STATUSES:
            self.open_leads[lead.email].append(lead)
        if lead.assignee_id in self.load and lead.status in BUSY:
            self.load[lead.assignee_id] += 1

    def load_of(self, s: Session, user_ids: Sequence[int]) -> dict[int, int]:
        """Return the reps' open leads, counting only those not counted yet in this run."""
        missing = [user_id for user_id in user_ids if user_id not in self.load]
        if missing:
            self.load.update(dict.fromkeys(missing, 0))
            rows = s.execute(
                sa.select(Lead.assignee_id, sa.func.count())
                .where(
                    Lead.assignee_id.in_(missing),
                    Lead.status.in_(BUSY),
                    Lead.merged_into_id.is_(None),
                )
                .group_by(Lead.assignee_id)
            ).all()
            self.load.update({int(user_id or 0): int(n) for user_id, n in rows})
        return {user_id: self.load[user_id] for user_id in user_ids}


def prepare(s: Session, leads: Sequence[Lead], *, window_days: int) -> Batch:
    """Load, for all the leads at once, what routing each of them reads."""
    batch = Batch(window_days=window_days)
    if not leads:
        return batch
    batch.accounts = accounts_for_domains(s, (_domain(lead) for lead in leads))
    last = [touch for touch in (last_touch(lead) for lead in leads) if touch is not None]
    sellers = _ids(touch.seller_id for touch in last)
    contents = _ids(touch.content_id for touch in last)
    if sellers:
        batch.held += s.scalars(
            sa.select(User)
            .options(selectinload(User.team), selectinload(User.seller_profile))
            .where(User.id.in_(sellers))
        ).all()
    if contents:
        batch.held += s.scalars(sa.select(Content).where(Content.id.in_(contents))).all()
    since = min(lead.submitted_at for lead in leads) - timedelta(days=window_days)
    earlier = s.scalars(
        sa.select(Lead)
        .options(selectinload(Lead.touches))  # a lead folded into one adds its touches
        .where(
            Lead.email.in_({lead.email for lead in leads}),
            Lead.merged_into_id.is_(None),
            Lead.routed_at.is_not(None),
            Lead.erased_at.is_(None),
            Lead.status.in_(list(OPEN_STATUSES)),
            Lead.submitted_at >= since,
        )
        .order_by(Lead.submitted_at, Lead.id)
    ).all()
    for lead in earlier:
        batch.open_leads[lead.email].append(lead)
    return batch


def _domain(lead: Lead) -> str:
    return lead.email_domain or lead.email.rpartition("@")[2]


def _ids(values: Iterable[int | None]) -> set[int]:
    return {value for value in values if value is not None}
