"""Tracked links: unguessable codes, redirect targets with UTM values, and recording clicks.

Following a link is the product's hottest path, so the redirect target is computed once, when
the link is made, and following it costs one indexed read and one insert (on PostgreSQL a
single statement doing both).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import crawleruseragents
import sqlalchemy as sa
from sqlalchemy.orm import Session
from ua_parser import parse as parse_user_agent

from contentfeed.links.models import Click, TrackedLink

CODE_BYTES = 6  # 48 bits of randomness, 8 URL-safe characters
COOKIE_NAME = "cf_ref"
UTM_FIXED = (("utm_source", "linkedin"), ("utm_medium", "social"))
DEFAULT_CAMPAIGN = "contentfeed"
# Link-preview fetchers and crawlers the shared list may not name yet.
EXTRA_BOT_MARKERS = ("linkedinbot", "linkedin-preview", "headlesschrome", "preview")


def new_code() -> str:
    """Return a fresh, unguessable, URL-safe short code."""
    return secrets.token_urlsafe(CODE_BYTES)


def target_with_utm(url: str, *, campaign_slug: str | None, code: str) -> str:
    """Add utm_source/medium/campaign/content to a content URL; UTM values already there win."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    additions = [
        *UTM_FIXED,
        ("utm_campaign", campaign_slug or DEFAULT_CAMPAIGN),
        ("utm_content", code),
    ]
    query += [(key, value) for key, value in additions if key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class UtmTemplate:
    """A content URL with its UTM values, waiting for each link's code (built once per item)."""

    prefix: str
    separator: str
    has_own_content: bool
    fragment: str

    def for_code(self, code: str) -> str:
        """Return the redirect target for one link."""
        if self.has_own_content:
            return self.prefix + self.fragment
        return f"{self.prefix}{self.separator}utm_content={quote(code)}{self.fragment}"


def utm_template(url: str, *, campaign_slug: str | None) -> UtmTemplate:
    """Prepare target_with_utm for many codes of the same content."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    additions = [*UTM_FIXED, ("utm_campaign", campaign_slug or DEFAULT_CAMPAIGN)]
    query += [(key, value) for key, value in additions if key not in present]
    prefix = urlunsplit(parts._replace(query=urlencode(query), fragment=""))
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return UtmTemplate(prefix, "&" if query else "?", "utm_content" in present, fragment)


def public_link(base_url: str, code: str) -> str:
    """Return the link a seller shares."""
    return f"{base_url}/r/{code}"


@lru_cache(maxsize=8192)
def classify_agent(user_agent: str) -> tuple[bool, str]:
    """Return (is a bot, agent family) for a User-Agent string (cached: agents repeat)."""
    lowered = user_agent.lower()
    if not user_agent.strip():
        return True, "Unknown"
    is_bot = crawleruseragents.is_crawler(user_agent) or any(
        m in lowered for m in EXTRA_BOT_MARKERS
    )
    if "linkedinbot" in lowered:
        return True, "LinkedInBot"
    parsed = parse_user_agent(user_agent)
    family = parsed.user_agent.family if parsed and parsed.user_agent else "Other"
    return is_bot, family[:40]


def visitor_hash(address: str, user_agent: str, *, secret: str, day: str) -> str:
    """Return a daily-salted hash of the visitor: counts unique visitors, keeps no address."""
    return hashlib.blake2b(
        f"{day}|{address}|{user_agent}".encode(), key=secret.encode()[:64], digest_size=16
    ).hexdigest()


def referrer_host(referrer: str | None) -> str:
    """Keep only the host of the referring page."""
    return (urlsplit(referrer).hostname or "")[:255] if referrer else ""


@dataclass(frozen=True)
class Visit:
    """One request for a tracked link, as the redirect sees it."""

    code: str
    user_agent: str
    referrer: str | None
    address: str


def _click_values(visit: Visit, secret: str, now: datetime) -> dict[str, object]:
    is_bot, family = classify_agent(visit.user_agent)
    return {
        "clicked_at": now,
        "is_bot": is_bot,
        "referrer_host": referrer_host(visit.referrer),
        "agent_family": family,
        "visitor_hash": visitor_hash(
            visit.address, visit.user_agent, secret=secret, day=now.date().isoformat()
        ),
    }


_PG_FOLLOW = sa.text(
    """
    WITH link AS (SELECT id, target_url FROM tracked_link WHERE code = :code),
    recorded AS (
        INSERT INTO click (link_id, clicked_at, is_bot, referrer_host, agent_family, visitor_hash)
        SELECT id, :clicked_at, :is_bot, :referrer_host, :agent_family, :visitor_hash FROM link
    )
    SELECT target_url FROM link
    """
)


def follow_link_pg(connection: sa.Connection, visit: Visit, secret: str) -> str | None:
    """Record a click and return the target in one statement (PostgreSQL, autocommit)."""
    values = _click_values(visit, secret, datetime.now(UTC))
    result: str | None = connection.execute(_PG_FOLLOW, {"code": visit.code, **values}).scalar()
    return result


def follow_link(s: Session, visit: Visit, secret: str) -> str | None:
    """Record a click and return the redirect target, or None for an unknown code."""
    row = s.execute(
        sa.select(TrackedLink.id, TrackedLink.target_url).where(TrackedLink.code == visit.code)
    ).first()
    if row is None:
        return None
    values = _click_values(visit, secret, datetime.now(UTC))
    s.execute(sa.insert(Click).values(link_id=row.id, **values))
    return str(row.target_url)
