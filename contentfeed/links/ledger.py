"""The click ledger: every request for a tracked link with the reason it counts or does not.

One function counts requests per reason (``breakdown``) for an item page, a report or the
API alike, so "N human clicks · M filtered (HEAD k, scanners l)" reads the same everywhere;
``latest`` lists an item's newest requests with their reasons for marketers and admins.
Only what the redirect stored is shown: time, reason, client family, referring host, and the
seller whose link it was; never an address (none is stored).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import User
from contentfeed.content.visibility import AUTHORS
from contentfeed.errors import Forbidden
from contentfeed.i18n import _, ngettext, number_text
from contentfeed.links.models import Click, TrackedLink
from contentfeed.links.reasons import FILTERED, LABELS, SHORT_LABELS, Reason
from contentfeed.suggestions.models import Suggestion

LATEST = 10  # requests the item page (and the API) lists


@dataclass(frozen=True)
class ReasonCount:
    """How many requests had one reason, and its name in the request's language."""

    reason: Reason
    count: int
    label: str
    short: str


@dataclass(frozen=True)
class Breakdown:
    """Requests by reason: human clicks, and the filtered ones with why."""

    counts: Mapping[Reason, int] = field(default_factory=dict)

    @property
    def human(self) -> int:
        """Requests counted as human clicks."""
        return self.counts.get(Reason.HUMAN, 0)

    @property
    def filtered(self) -> int:
        """Requests kept but not counted."""
        return sum(self.counts.get(r, 0) for r in FILTERED)

    @property
    def total(self) -> int:
        """Every recorded request."""
        return self.human + self.filtered

    @property
    def reasons(self) -> list[ReasonCount]:
        """The filtered reasons that occurred, in the fixed order, with their names."""
        return [
            ReasonCount(r, self.counts[r], str(LABELS[r]), str(SHORT_LABELS[r]))
            for r in FILTERED
            if self.counts.get(r, 0)
        ]

    def summary(self) -> str:
        """'N human clicks · M filtered (HEAD k, scanners l)' in the request's language."""
        text = ngettext(
            "%(count)s human click",
            "%(count)s human clicks",
            self.human,
            count=number_text(self.human),
        )
        if not self.filtered:
            return text
        parts = ", ".join(f"{r.short} {number_text(r.count)}" for r in self.reasons)
        filtered = _(
            "%(count)s filtered (%(reasons)s)", count=number_text(self.filtered), reasons=parts
        )
        return f"{text} · {filtered}"


def known(reason: str) -> Reason:
    """Read a stored reason; one this version does not know is a machine's, not counted."""
    try:
        return Reason(reason)
    except ValueError:
        return Reason.BOT


def _from_rows(rows: Iterable[Any]) -> Breakdown:
    found: dict[Reason, int] = {}
    for reason, n in rows:
        key = known(reason)
        found[key] = found.get(key, 0) + int(n)
    return Breakdown(found)


def breakdown(
    s: Session,
    *,
    content_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Breakdown:
    """Count requests per reason: of one item's links (or all), in [start, end) (or ever)."""
    stmt = sa.select(Click.reason, sa.func.count()).select_from(Click)
    if content_id is not None:
        links = (
            sa.select(TrackedLink.id)
            .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
            .where(Suggestion.content_id == content_id)
        )
        stmt = stmt.where(Click.link_id.in_(links))
    if start is not None:
        stmt = stmt.where(Click.clicked_at >= start)
    if end is not None:
        stmt = stmt.where(Click.clicked_at < end)
    return _from_rows(s.execute(stmt.group_by(Click.reason)))


def breakdown_by_item(s: Session, start: datetime, end: datetime) -> dict[int, Breakdown]:
    """Requests per reason for every item with any in [start, end) (one GROUP BY)."""
    stmt = (
        sa.select(Suggestion.content_id, Click.reason, sa.func.count())
        .select_from(Click)
        .join(TrackedLink, TrackedLink.id == Click.link_id)
        .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        .where(Click.clicked_at >= start, Click.clicked_at < end)
        .group_by(Suggestion.content_id, Click.reason)
    )
    rows: dict[int, list[tuple[str, int]]] = {}
    for content_id, reason, n in s.execute(stmt):
        rows.setdefault(content_id, []).append((reason, n))
    return {cid: _from_rows(found) for cid, found in rows.items()}


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded request as marketers see it."""

    at: datetime
    reason: Reason
    label: str
    seller: str
    agent: str
    referrer: str


@dataclass(frozen=True)
class ContentLedger:
    """An item's requests: the breakdown and the newest requests with their reasons."""

    breakdown: Breakdown
    latest: list[LedgerEntry]


def latest(s: Session, content_id: int, limit: int = LATEST) -> list[LedgerEntry]:
    """The item's newest recorded requests, with their reasons (newest first)."""
    rows = s.execute(
        sa.select(
            Click.clicked_at, Click.reason, User.name, Click.agent_family, Click.referrer_host
        )
        .join(TrackedLink, TrackedLink.id == Click.link_id)
        .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        .join(User, User.id == Suggestion.seller_id)
        .where(Suggestion.content_id == content_id)
        .order_by(Click.clicked_at.desc(), Click.id.desc())
        .limit(limit)
    )
    entries = []
    for at, reason, seller, agent, referrer in rows:
        why = known(reason)
        entries.append(LedgerEntry(at, why, str(LABELS[why]), seller, agent, referrer))
    return entries


def content_ledger(s: Session, actor: User, content_id: int) -> ContentLedger:
    """Return an item's click ledger (for the people who run the library)."""
    if actor.role not in AUTHORS:
        raise Forbidden(_("Only marketers and admins see the click ledger."))
    return ContentLedger(breakdown(s, content_id=content_id), latest(s, content_id))
