"""The demo's clicks: people following shared links, and the requests the click ledger keeps
without counting them (scanners, HEAD requests, double clicks, fetches right after posting)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from contentfeed.links import reasons


def click(
    rng: random.Random, link_id: int, after: datetime, now: datetime, agent: str
) -> dict[str, Any]:
    """A request for a shared link some time after it was posted, as ``agent`` makes it."""
    span = max(60.0, (now - after).total_seconds())
    when = after + timedelta(seconds=min(span - 1, rng.expovariate(1 / (span / 6))))
    reason, family = reasons.classify_agent(agent)
    referrer = rng.choice(["www.linkedin.com", "www.linkedin.com", "lnkd.in", ""])
    return {
        "link_id": link_id,
        "clicked_at": when,
        "is_bot": reasons.is_bot(reason),
        "reason": reason.value,
        "referrer_host": referrer,
        "agent_family": family,
        "visitor_hash": f"{rng.getrandbits(128):032x}",
    }


def ledger(
    rng: random.Random, link_id: int, posted_at: datetime, now: datetime
) -> list[dict[str, Any]]:
    """Requests a shared link gets besides people's clicks (kept, not counted): a mail
    scanner opening it, a HEAD request, a reader's double click, a fetch on posting."""
    extra: list[dict[str, Any]] = []
    latest = max(posted_at, now - timedelta(minutes=1))
    base = {"link_id": link_id, "is_bot": False, "agent_family": "Chrome"}
    if rng.random() < 0.2:
        at = min(posted_at + timedelta(minutes=rng.randint(5, 600)), latest)
        extra.append(
            {
                **base,
                "clicked_at": at,
                "is_bot": True,
                "reason": "scanner",
                "referrer_host": "eur02.safelinks.protection.outlook.com",
                "agent_family": "Microsoft SafeLinks",
                "visitor_hash": f"{rng.getrandbits(128):032x}",
            }
        )
    if rng.random() < 0.15:
        at = min(posted_at + timedelta(minutes=rng.randint(5, 600)), latest)
        hashed = f"{rng.getrandbits(128):032x}"
        extra.append(
            {
                **base,
                "clicked_at": at,
                "reason": "head",
                "referrer_host": "",
                "agent_family": "curl",
                "visitor_hash": hashed,
            }
        )
    if rng.random() < 0.15:
        at = min(posted_at + timedelta(minutes=rng.randint(5, 600)), latest)
        hashed = f"{rng.getrandbits(128):032x}"
        for seconds, reason in ((0, "human"), (4, "repeat")):
            extra.append(
                {
                    **base,
                    "clicked_at": at + timedelta(seconds=seconds),
                    "reason": reason,
                    "referrer_host": "www.linkedin.com",
                    "visitor_hash": hashed,
                }
            )
    if rng.random() < 0.1:
        extra.append(
            {
                **base,
                "clicked_at": posted_at + timedelta(seconds=rng.randint(2, 40)),
                "reason": "early",
                "referrer_host": "",
                "visitor_hash": f"{rng.getrandbits(128):032x}",
            }
        )
    return extra
