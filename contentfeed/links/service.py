"""Tracked links: unguessable codes, redirect targets with UTM values, and recording clicks.

Following a link is the product's hottest path, so the redirect target is computed once, when
the link is made, and following it costs one indexed read and one insert (on PostgreSQL a
single statement doing both).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from flask import Flask
from werkzeug.http import dump_cookie
from werkzeug.urls import iri_to_uri

from contentfeed import db, tables
from contentfeed.config import LinkSettings, Settings
from contentfeed.content.service import PREVIEW_CODE
from contentfeed.errors import Unavailable
from contentfeed.i18n import _l
from contentfeed.links import reasons
from contentfeed.links.models import Click
from contentfeed.links.reasons import Reason

CODE_BYTES = 6  # 48 bits of randomness, 8 URL-safe characters
# What a link code may be made of, and how long it may be: every code we made, and the
# longer hand-made ones of old. The redirect, attribution and relinking all read this.
CODE_CHARACTERS = "A-Za-z0-9_-"
CODE_PATTERN = re.compile(f"[{CODE_CHARACTERS}]{{4,16}}")
COOKIE_NAME = "cf_ref"
# Said to the visitor whose link could not be followed, in their language (lazy: a module text).
DATABASE_DOWN = _l("The database is briefly unavailable. Please try the link again in a minute.")
UTM_FIXED = (("utm_source", "linkedin"), ("utm_medium", "social"))
DEFAULT_CAMPAIGN = "contentfeed"


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
    return iri_to_uri(urlunsplit(parts._replace(query=urlencode(query))))


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
    prefix = iri_to_uri(urlunsplit(parts._replace(query=urlencode(query), fragment="")))
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return UtmTemplate(prefix, "&" if query else "?", "utm_content" in present, fragment)


def public_link(base_url: str, code: str) -> str:
    """Return the link a seller shares."""
    return f"{base_url}/r/{code}"


def _spelled(code: str) -> re.Pattern[str]:
    # Any base URL (with a path prefix or none) followed by /r/<code>, the code ending there.
    return re.compile(r"https?://[^\s\"'<>?=&]*?/r/" + re.escape(code) + f"(?![{CODE_CHARACTERS}])")


def relink(text: str, code: str, link: str) -> str:
    """Return the post text with its tracked link for this code spelled as ``link``.

    A post text is rendered once, with the base URL of that moment; shown later, its link
    must be the one the service is reached at now, the same the feed shows beside it.
    """
    return _spelled(code).sub(lambda _match: link, text)


def classify_agent(user_agent: str) -> tuple[bool, str]:
    """Return (is a known machine, agent family) for a User-Agent (links.reasons decides)."""
    reason, family = reasons.classify_agent(user_agent)
    return reasons.is_bot(reason), family


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
    method: str = "GET"


def _click_values(visit: Visit, secret: str, now: datetime) -> tuple[dict[str, object], Reason]:
    host = referrer_host(visit.referrer)
    reason, family = reasons.classify_request(visit.method, visit.user_agent, host)
    values = {
        **_CLICK_DEFAULTS(),
        "clicked_at": now,
        "is_bot": reasons.is_bot(reason),
        "referrer_host": host,
        "agent_family": family,
        "visitor_hash": visitor_hash(
            visit.address, visit.user_agent, secret=secret, day=now.date().isoformat()
        ),
    }
    return values, reason


# The redirect talks to the driver directly: no ORM, no statement building per request.
# A link's target never changes once made, so each worker remembers the codes it has seen
# (bounded): a repeat visit costs a single insert and no read at all. The click's columns
# come from its table (contentfeed.tables): one the model gains is written with its default.
_CLICK: sa.Table = Click.__table__  # type: ignore[assignment]
CLICK_COLUMNS = tables.insert_columns(_CLICK)
_CLICK_DEFAULTS = tables.python_defaults(_CLICK, CLICK_COLUMNS)
_FIND = "SELECT id, target_url FROM tracked_link WHERE code = {p}"
# Column names are the table's, never input. The reason is the last value: a parameter when
# the request's headers decide it, else an expression deciding repeat / early / human from
# the visitor's earlier requests and the post's time in the same statement (no round trip).
_RECORD = (
    f"INSERT INTO click ({', '.join(CLICK_COLUMNS)}, reason) "  # noqa: S608
    f"VALUES ({', '.join('{p}' for _ in CLICK_COLUMNS)}, {{reason}})"
)
# The visitor (same daily hash) asked for this link within links.repeat_seconds: one range
# read of ix_click_link_time. Parameters: link id, visitor hash, since.
_REPEAT = (
    "WHEN EXISTS (SELECT 1 FROM click WHERE link_id = {p} AND clicked_at >= {p}"
    " AND visitor_hash = {p}) THEN 'repeat' "
)
# The post was marked posted within links.early_seconds (asked only for a request without a
# referrer): two primary-key reads. Parameters: link id, since.
_EARLY = (
    "WHEN EXISTS (SELECT 1 FROM tracked_link JOIN suggestion"
    " ON suggestion.id = tracked_link.suggestion_id"
    " WHERE tracked_link.id = {p} AND suggestion.posted_at >= {p}) THEN 'early' "
)
_KNOWN_LINKS: OrderedDict[str, tuple[int, str]] = OrderedDict()
_KNOWN_LINKS_MAX = 100_000


def _remember(code: str, link: tuple[int, str]) -> None:
    _KNOWN_LINKS[code] = link
    if len(_KNOWN_LINKS) > _KNOWN_LINKS_MAX:
        _KNOWN_LINKS.popitem(last=False)


HOT_CONNECTIONS = "contentfeed.hot_connections"


class HotConnections:
    """A minimal pool of driver connections for the redirect: borrowing one costs a list
    pop, where SQLAlchemy's pool adds checkout, reset and event handling to every click."""

    def __init__(self, engine: sa.Engine, keep: int = 16) -> None:
        self.engine = engine
        self.keep = keep
        self.idle: list[Any] = []

    def borrow(self) -> Any:
        """Return an idle connection, or a new one (outside SQLAlchemy's pool)."""
        try:
            return self.idle.pop()
        except IndexError:
            connection = self.engine.raw_connection()
            connection.detach()
            return connection

    def give_back(self, connection: Any) -> None:
        """Keep a healthy connection for the next click (up to ``keep`` of them)."""
        if len(self.idle) < self.keep:
            self.idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Close every idle connection (app shutdown, tests)."""
        while self.idle:
            self.idle.pop().close()

    @staticmethod
    def discard(connection: Any) -> None:
        """Close a connection found broken, without giving it back.

        The connections are detached from SQLAlchemy's pool, where ``invalidate()`` would
        only forget the driver's connection and leave it open until garbage collection.
        """
        with contextlib.suppress(Exception):
            connection.close()


def hot_connections(app: Flask) -> HotConnections:
    """Return the app's redirect connections (made on first use, on the hot engine)."""
    found: HotConnections | None = app.extensions.get(HOT_CONNECTIONS)
    if found is None:
        from contentfeed import db

        with app.app_context():
            found = HotConnections(db.hot_engine())
        app.extensions[HOT_CONNECTIONS] = found
    return found


def follow_link(
    connections: HotConnections, visit: Visit, secret: str, rules: LinkSettings | None = None
) -> str | None:
    """Record a click and return the redirect target, or None for an unknown code.

    One indexed read (skipped for links this process has seen) and one insert, committed at
    once (on PostgreSQL in autocommit: one round trip each). A connection found dead (the
    database restarted) is dropped and the click tried once more on a fresh one.
    """
    now = datetime.now(UTC)
    values, reason = _click_values(visit, secret, now)
    rules = rules or LinkSettings()
    is_pg = connections.engine.dialect.name == "postgresql"
    dbapi = connections.engine.dialect.loaded_dbapi
    for attempt in (1, 2):
        try:
            connection = connections.borrow()
        except (dbapi.OperationalError, dbapi.InterfaceError, sa.exc.DBAPIError):
            raise Unavailable(DATABASE_DOWN) from None
        try:
            target = _follow(connection, is_pg, visit.code, values, reason, rules)
        except dbapi.IntegrityError:
            _KNOWN_LINKS.pop(visit.code, None)  # the link was deleted since we saw it
            connection.rollback()
            connections.give_back(connection)
            if attempt == 2:
                return None
            continue
        except (dbapi.OperationalError, dbapi.InterfaceError):
            connections.discard(connection)
            # The other idle connections are most likely dead as well (a restart, or a
            # pg_terminate_backend): the retry and the next clicks connect afresh.
            connections.close()
            db.forget_stale_connections(connections.engine, connection)
            if attempt == 2:
                raise Unavailable(DATABASE_DOWN) from None
            continue
        except BaseException:
            connections.discard(connection)
            raise
        connections.give_back(connection)
        return target
    return None  # pragma: no cover - the loop returns or raises


def _sqlite_value(value: object) -> object:
    """Give sqlite3 a value as SQLAlchemy would store it (datetimes as text, booleans as 0/1)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's format
    if isinstance(value, bool):
        return int(value)
    return value


@lru_cache(maxsize=8)
def _record_sql(is_pg: bool, repeat: bool, early: bool) -> str:
    """The click INSERT for one dialect and the look-ups its reason needs (built once)."""
    p = "%s" if is_pg else "?"
    if not (repeat or early):
        return _RECORD.format(p=p, reason=p)
    cases = (_REPEAT.format(p=p) if repeat else "") + (_EARLY.format(p=p) if early else "")
    return _RECORD.format(p=p, reason=f"CASE {cases}ELSE 'human' END")


def _record(
    is_pg: bool, link_id: int, values: dict[str, object], reason: Reason, rules: LinkSettings
) -> tuple[str, tuple[object, ...]]:
    """The click INSERT and its parameters: the reason, or what deciding it needs."""
    row = {**values, "link_id": link_id}
    params = [row[name] for name in CLICK_COLUMNS]
    repeat = early = False
    if reason is not Reason.HUMAN:
        params.append(reason.value)
    else:
        now: datetime = values["clicked_at"]  # type: ignore[assignment]
        repeat = rules.repeat_seconds > 0
        early = rules.early_seconds > 0 and not values["referrer_host"]
        if repeat:
            since = now - timedelta(seconds=rules.repeat_seconds)
            params += [link_id, since, values["visitor_hash"]]
        if early:
            params += [link_id, now - timedelta(seconds=rules.early_seconds)]
    if not is_pg:
        params = [_sqlite_value(value) for value in params]
    return _record_sql(is_pg, repeat, early), tuple(params)


def _follow(
    connection: Any,
    is_pg: bool,
    code: str,
    values: dict[str, object],
    reason: Reason,
    rules: LinkSettings,
) -> str | None:
    placeholder = "%s" if is_pg else "?"
    cursor = connection.cursor()
    link = _KNOWN_LINKS.get(code)
    if link is None:
        cursor.execute(_FIND.format(p=placeholder), (code,))
        row = cursor.fetchone()
        if row is None:
            return None
        link = (int(row[0]), str(row[1]))
        _remember(code, link)
    cursor.execute(*_record(is_pg, link[0], values, reason, rules))
    if not is_pg:
        connection.commit()  # PostgreSQL connections here are in autocommit mode
    return link[1]


# A redirect's (empty) body.
REDIRECT_TYPE = "text/plain; charset=utf-8"
# Where the fast path hands a visit's page answer on to the Flask view (the WSGI environ).
PAGE_KEY = "contentfeed.links.page"


class Page(StrEnum):
    """The pages a visit may be answered with instead of a redirect (drawn by Flask)."""

    PREVIEW = "preview"
    UNKNOWN = "unknown"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Redirect:
    """A visit answered: where to send the visitor, with the response's headers."""

    target: str
    headers: list[tuple[str, str]]


def answer_visit(connections: HotConnections, visit: Visit, settings: Settings) -> Redirect | Page:
    """Record a visit of /r/<code> and say how to answer it: a redirect or a page.

    The redirect carries the visitor's referral cookie (the code), and is never cached.
    """
    if visit.code == PREVIEW_CODE:
        return Page.PREVIEW
    if CODE_PATTERN.fullmatch(visit.code) is None:
        return Page.UNKNOWN
    try:
        target = follow_link(connections, visit, settings.secret_key, settings.links)
    except Unavailable:
        return Page.UNAVAILABLE
    if target is None:
        return Page.UNKNOWN
    cookie = dump_cookie(
        COOKIE_NAME,
        visit.code,
        max_age=settings.links.cookie_days * 86400,
        secure=settings.sign_in.cookie_secure,
        httponly=True,
        samesite="Lax",
    )
    headers = [
        ("Location", target),
        ("Cache-Control", "no-store"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Set-Cookie", cookie),
    ]
    return Redirect(target, headers)
