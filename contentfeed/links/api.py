"""The click ledger in API answers: one shape for the content report and an item's clicks."""

from __future__ import annotations

from pydantic import BaseModel, Field

from contentfeed.api import Timestamp
from contentfeed.links.ledger import Breakdown, LedgerEntry
from contentfeed.links.reasons import FILTERED, Reason

REASON_HELP = (
    "Why a request counts or not: human (counted), head (a HEAD request), scanner (a link "
    "scanner or preview fetcher), bot (a crawler or a client without User-Agent), repeat "
    "(the same visitor again within links.repeat_seconds), early (no referrer, within "
    "links.early_seconds after the post was marked posted)"
)


class RequestsOut(BaseModel):
    """Recorded requests by reason: only human ones count as clicks."""

    human: int = Field(description="Requests counted as human clicks")
    filtered: int = Field(description="Requests kept but not counted")
    reasons: dict[str, int] = Field(
        description="Filtered requests per reason (head, scanner, bot, repeat, early), all keys"
    )


def requests_out(found: Breakdown) -> RequestsOut:
    """Give a breakdown its API shape (every filtered reason present, 0 when none)."""
    return RequestsOut(
        human=found.human,
        filtered=found.filtered,
        reasons={r.value: found.counts.get(r, 0) for r in FILTERED},
    )


class LedgerEntryOut(BaseModel):
    """One recorded request of a tracked link (no address: none is stored)."""

    at: Timestamp
    reason: Reason = Field(description=REASON_HELP)
    counted: bool = Field(description="Counted as a human click")
    seller: str = Field(description="The seller whose link it was")
    agent: str = Field(description="Client family read from the User-Agent")
    referrer_host: str = Field(description="Host of the referring page, empty if none")


def entry_out(entry: LedgerEntry) -> LedgerEntryOut:
    """Give a ledger entry its API shape."""
    return LedgerEntryOut(
        at=entry.at,
        reason=entry.reason,
        counted=entry.reason is Reason.HUMAN,
        seller=entry.seller,
        agent=entry.agent,
        referrer_host=entry.referrer,
    )
