"""Suggestion decisions: whose feed is due, filling it in bulk, the seller's actions, expiry.

Never commits; the caller commits once.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from contentfeed import tables
from contentfeed.accounts.models import Role, SellerProfile, User
from contentfeed.content import service as content_service
from contentfeed.content.models import Campaign, Content, ContentStatus, PostVariant, shared_url
from contentfeed.content.service import Compliance
from contentfeed.content.templating import ContentView, SellerView, TemplateRefused, render_post
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Forbidden, Invalid, NotFound
from contentfeed.links import service as links
from contentfeed.links.models import Click, TrackedLink
from contentfeed.suggestions import engine
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from contentfeed.text import checked_text

log = logging.getLogger(__name__)

# A variant that ran into a template limit (time, loop steps, size) this many times in one run
# is not tried again in that run: a limit costs up to the render budget each time it is hit.
COSTLY_FAILURES_PER_RUN = 3
# Rounds of choosing in one run: a slot whose item could not be rendered is offered the
# next-best item, twice at most.
RENDER_ROUNDS = 3
NOW_SLOT_BASE = 100  # slots for "suggest now" sit above any planned slot of the day
SKIP_REASONS = {
    "not_relevant": "Not relevant for my network",
    "already_shared": "I already shared something similar",
    "too_salesy": "Too promotional",
    "wrong_language": "Wrong language or region",
    "bad_timing": "Bad timing",
    "other": "Something else",
}


@dataclass(frozen=True)
class FeedSettings:
    """What filling feeds needs from config."""

    public_base_url: str
    default_timezone: str
    local_hour: int
    ttl_days: int
    rules: Compliance


@dataclass(frozen=True)
class DueSeller:
    """A seller with the (day, slot) pairs their feed still needs."""

    facts: engine.SellerFacts
    first_name: str
    name: str
    title: str
    slots: list[tuple[date, int]]


@dataclass(frozen=True)
class FillResult:
    """What a fill-feeds run did."""

    sellers_due: int
    created: int
    seller_ids: list[int]
    not_rendered: int = 0  # suggestions left out because their variant could not be rendered

    def __str__(self) -> str:
        text = f"{self.created} suggestions for {self.sellers_due} due sellers"
        if self.not_rendered:
            text += (
                f"; {self.not_rendered} left out because their variant could not be rendered "
                "(see the items' pages)"
            )
        return text


@lru_cache(maxsize=512)
def zone_named(name: str, default: str) -> ZoneInfo:
    """Return a time zone by name, falling back to the company default."""
    try:
        return ZoneInfo(name or default)
    except (KeyError, ValueError):
        return ZoneInfo(default)


def seller_zone(user: User, default: str) -> ZoneInfo:
    """Return the seller's time zone (their own, else the company default)."""
    return zone_named(user.timezone, default)


def due_sellers(
    s: Session,
    now: datetime,
    settings: FeedSettings,
    *,
    only: Sequence[int] | None = None,
    ignore_cadence: bool = False,
) -> list[DueSeller]:
    """Find sellers whose local day and cadence call for suggestions not made yet.

    The slots of the seller's current local week up to today are planned from their
    cadence; those without a suggestion are due (today's only from ``local_hour`` on). A
    scheduler that was down catches up within the week; one that runs twice finds nothing.
    ``ignore_cadence`` (``suggest --now``) gives each seller one extra slot today.
    """
    query = (
        sa.select(
            User.id,
            User.name,
            User.timezone,
            User.created_at,
            User.team_id,
            SellerProfile.title,
            SellerProfile.region,
            SellerProfile.language,
            SellerProfile.topics,
            SellerProfile.weekdays,
            SellerProfile.posts_per_week,
        )
        .join(SellerProfile, SellerProfile.user_id == User.id)
        .where(User.is_active, User.role == Role.SELLER)
    )
    if only is not None:
        query = query.where(User.id.in_(only))
    if not ignore_cadence:
        query = query.where(~SellerProfile.is_paused, SellerProfile.posts_per_week > 0)
    rows = s.execute(query.order_by(User.id)).all()
    if not rows:
        return []
    local_now = {
        row.id: now.astimezone(zone_named(row.timezone, settings.default_timezone)) for row in rows
    }
    earliest = min(d.date() for d in local_now.values()) - timedelta(days=7)
    taken: dict[int, set[tuple[date, int]]] = defaultdict(set)
    ids = [row.id for row in rows]
    for chunk in _chunks(ids, 5000):
        for seller_id, day, slot in s.execute(
            sa.select(Suggestion.seller_id, Suggestion.day, Suggestion.slot).where(
                among(s, Suggestion.seller_id, chunk), Suggestion.day >= earliest
            )
        ):
            taken[seller_id].add((day, slot))
    due: list[DueSeller] = []
    for row in rows:
        local = local_now[row.id]
        today = local.date()
        if ignore_cadence:
            used = [slot for day, slot in taken[row.id] if day == today]
            slots = [(today, max([NOW_SLOT_BASE - 1, *used]) + 1)]
        else:
            week_start = today - timedelta(days=today.weekday())
            joined = row.created_at.astimezone(local.tzinfo).date()  # no backlog for a newcomer
            slots = [
                (day, slot)
                for day, slot in engine.planned_slots(week_start, row.weekdays, row.posts_per_week)
                if joined <= day
                and (day < today or (day == today and local.hour >= settings.local_hour))
                and (day, slot) not in taken[row.id]
            ]
        if slots:
            facts = engine.SellerFacts(
                id=row.id,
                team_id=row.team_id,
                region=row.region,
                language=row.language,
                topics=frozenset(row.topics),
            )
            first_name = row.name.split()[0] if row.name.strip() else ""
            due.append(DueSeller(facts, first_name, row.name, row.title, slots))
    return due


def among(
    s: Session, column: sa.orm.InstrumentedAttribute[int], ids: Sequence[int]
) -> sa.ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL as ``= ANY(array)``: one parameter, not thousands."""
    if s.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=ARRAY(sa.Integer)))
    return column.in_(ids)


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class LiveContent:
    """What rendering and linking need of a live item."""

    view: ContentView
    utm: links.UtmTemplate
    variants: dict[int, str]


def live_content_facts(
    s: Session, now: datetime, *, base_url: str
) -> tuple[list[engine.ContentFacts], dict[int, LiveContent]]:
    """Load every live item with its variants and observed performance; links will lead to
    each item's URL, or for a gated file to its form page under ``base_url``."""
    items = s.execute(
        sa.select(
            Content.id,
            Content.title,
            Content.summary,
            Content.url,
            Content.is_gated,
            Content.asset_id,
            Content.priority,
            Content.topics,
            Content.language,
            Content.target_team_ids,
            Content.target_regions,
            Content.target_languages,
            Content.approved_at,
            Campaign.slug,
        )
        .outerjoin(Campaign, Campaign.id == Content.campaign_id)
        .where(
            Content.status == ContentStatus.APPROVED,
            sa.or_(Content.starts_at.is_(None), Content.starts_at <= now),
            sa.or_(Content.expires_at.is_(None), Content.expires_at > now),
        )
        .order_by(Content.id)
    ).all()
    ids = [row.id for row in items]
    variants: dict[int, dict[int, str]] = defaultdict(dict)
    suggested: dict[int, int] = defaultdict(int)
    engaged: dict[int, int] = defaultdict(int)
    for chunk in _chunks(ids, 5000):
        for variant_id, content_id, body in s.execute(
            sa.select(PostVariant.id, PostVariant.content_id, PostVariant.body)
            .where(among(s, PostVariant.content_id, chunk))
            .order_by(PostVariant.content_id, PostVariant.position)
        ):
            variants[content_id][variant_id] = body
        for content_id, n in s.execute(
            sa.select(Suggestion.content_id, sa.func.count())
            .where(among(s, Suggestion.content_id, chunk))
            .group_by(Suggestion.content_id)
        ):
            suggested[content_id] = n
        clicked = (
            sa.select(Suggestion.content_id, sa.func.count(sa.distinct(Suggestion.id)))
            .join(TrackedLink, TrackedLink.suggestion_id == Suggestion.id)
            .join(Click, Click.link_id == TrackedLink.id)
            .where(among(s, Suggestion.content_id, chunk), ~Click.is_bot)
            .group_by(Suggestion.content_id)
        )
        for content_id, n in s.execute(clicked):
            engaged[content_id] = n
    facts = [
        engine.ContentFacts(
            id=row.id,
            priority=row.priority,
            topics=frozenset(row.topics),
            language=row.language,
            target_team_ids=frozenset(row.target_team_ids),
            target_regions=frozenset(r.lower() for r in row.target_regions),
            target_languages=frozenset(row.target_languages),
            approved_at=row.approved_at,
            variant_ids=tuple(variants[row.id]),
            suggested=suggested[row.id],
            engaged=engaged[row.id],
        )
        for row in items
    ]
    live = {
        row.id: LiveContent(
            view=ContentView(row.title, row.summary, row.url),
            utm=links.utm_template(
                shared_url(
                    row.url,
                    is_gated=row.is_gated,
                    has_file=row.asset_id is not None,
                    content_id=row.id,
                    base_url=base_url,
                ),
                campaign_slug=row.slug,
            ),
            variants=variants[row.id],
        )
        for row in items
    }
    return facts, live


def fill_feeds(
    s: Session,
    settings: FeedSettings,
    *,
    now: datetime | None = None,
    seed: int | None = None,
    only: Sequence[int] | None = None,
    ignore_cadence: bool = False,
) -> FillResult:
    """Give every due seller their suggestions, rendered with a tracked link each.

    Inserts skip rows that already exist (ON CONFLICT DO NOTHING on the seller/day/slot and
    seller/content constraints), so a rival scheduler or a rerun creates no duplicate.
    """
    now = now or utcnow()
    due = due_sellers(s, now, settings, only=only, ignore_cadence=ignore_cadence)
    if not due:
        return FillResult(0, 0, [])
    facts, contents = live_content_facts(s, now, base_url=settings.public_base_url)
    due_ids = [d.facts.id for d in due]
    already: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(due_ids, 5000):
        for seller_id, content_id in s.execute(
            sa.select(Suggestion.seller_id, Suggestion.content_id).where(
                among(s, Suggestion.seller_id, chunk)
            )
        ):
            already[seller_id].add(content_id)
    variant_uses: dict[int, int] = {}
    if contents:
        for variant_id, n in s.execute(
            sa.select(Suggestion.variant_id, sa.func.count())
            .where(Suggestion.content_id.in_(contents), Suggestion.variant_id.is_not(None))
            .group_by(Suggestion.variant_id)
        ):
            if variant_id is not None:
                variant_uses[variant_id] = n
    today = now.date()
    team_counts = (
        {
            (team_id, content_id): n
            for team_id, content_id, n in s.execute(
                sa.select(User.team_id, Suggestion.content_id, sa.func.count())
                .join(User, User.id == Suggestion.seller_id)
                .where(Suggestion.day >= today - timedelta(days=1), User.team_id.is_not(None))
                .group_by(User.team_id, Suggestion.content_id)
            )
        }
        if contents
        else {}
    )
    sellers: list[tuple[engine.SellerFacts, list[tuple[date, int]]]] = [
        (d.facts, d.slots) for d in due
    ]
    by_id = {d.facts.id: d for d in due}
    created = not_rendered = 0
    served: set[int] = set()
    costly: dict[int, list[TemplateRefused]] = defaultdict(list)
    for _round in range(RENDER_ROUNDS):
        choices = engine.choose(
            sellers,
            facts,
            already,
            now=now,
            seed=seed if seed is not None else int(now.timestamp()) // 3600,
            variant_uses=variant_uses,
            team_counts=team_counts,
        )
        written, failed = _write(s, choices, by_id, contents, settings, now, costly)
        created += written
        not_rendered += len(failed)
        left_out = {(c.seller_id, c.day, c.slot) for c in failed}
        served.update(c.seller_id for c in choices if (c.seller_id, c.day, c.slot) not in left_out)
        if not failed:
            break
        # A seller whose item could not be rendered for them gets the next-best item for
        # that slot, so one bad variant costs them nothing but that item.
        for c in choices:
            already[c.seller_id].add(c.content_id)
        retry: dict[int, list[tuple[date, int]]] = defaultdict(list)
        for c in failed:
            retry[c.seller_id].append((c.day, c.slot))
        sellers = [(by_id[seller_id].facts, slots) for seller_id, slots in retry.items()]
    return FillResult(len(due), created, sorted(served), not_rendered)


def _write(
    s: Session,
    choices: list[engine.Choice],
    due: dict[int, DueSeller],
    contents: dict[int, LiveContent],
    settings: FeedSettings,
    now: datetime,
    costly: dict[int, list[TemplateRefused]],
) -> tuple[int, list[engine.Choice]]:
    """Render and insert suggestions and their links in bulk; return how many were new and
    the choices left out because their variant could not be rendered. ``costly`` collects,
    per variant, the limits it ran into that took time, over the whole run."""
    if not choices:
        return 0, []
    expires = now + timedelta(days=settings.ttl_days)
    not_rendered: list[engine.Choice] = []
    rows = []
    codes: dict[tuple[int, date, int], str] = {}
    failed: dict[tuple[int, str], list[int]] = defaultdict(list)  # (variant, reason): sellers
    for choice in choices:
        seller = due[choice.seller_id]
        code = links.new_code()
        link = links.public_link(settings.public_base_url, code)
        view = SellerView(seller.first_name, seller.name, seller.title)
        content = contents[choice.content_id]
        try:
            if len(costly[choice.variant_id]) >= COSTLY_FAILURES_PER_RUN:
                raise costly[choice.variant_id][-1]  # it would only spend its budget again
            text = render_post(
                content.variants[choice.variant_id],
                seller=view,
                content=content.view,
                link=link,
                disclosure=settings.rules.disclosure,
            )
        except TemplateRefused as exc:
            # Checked at save, so only a changed rule or a variant that got past the check
            # lands here: this seller is offered another item instead, everyone else gets
            # theirs, and the item's authors are told on its page.
            failed[(choice.variant_id, exc.reason)].append(choice.seller_id)
            not_rendered.append(choice)
            if exc.is_costly and len(costly[choice.variant_id]) < COSTLY_FAILURES_PER_RUN:
                costly[choice.variant_id].append(exc)
            continue
        codes[(choice.seller_id, choice.day, choice.slot)] = code
        rows.append(
            {
                "seller_id": choice.seller_id,
                "content_id": choice.content_id,
                "variant_id": choice.variant_id,
                "day": choice.day,
                "slot": choice.slot,
                "rendered_text": text,
                "status": SuggestionStatus.PENDING.value,
                "score": choice.score,
                "score_parts": choice.parts,
                "created_at": now,
                "expires_at": expires,
                "skip_reason": "",
                "skip_note": "",
            }
        )
    for (variant_id, reason), seller_ids in failed.items():
        log.warning(
            "variant %s could not be rendered for %s sellers: %s",
            variant_id,
            len(seller_ids),
            reason,
        )
        content_service.note_render_failures(s, variant_id, reason, seller_ids, now)
    if not rows:
        return 0, not_rendered
    # One order for every writer: two schedulers inserting the same keys in different orders
    # could each wait on the other's uncommitted row (a deadlock); in the same order, one waits.
    rows.sort(key=lambda r: (r["seller_id"], r["day"], r["slot"]))
    is_pg = s.get_bind().dialect.name == "postgresql"
    inserted: list[tuple[int, int, date, int]] = []
    for chunk_start in range(0, len(rows), 5000):
        chunk = rows[chunk_start : chunk_start + 5000]
        if is_pg:
            inserted.extend(_insert_suggestions_pg(s, chunk))
        else:
            statement = (
                sqlite_insert(Suggestion)
                .on_conflict_do_nothing()
                .returning(Suggestion.id, Suggestion.seller_id, Suggestion.day, Suggestion.slot)
            )
            inserted.extend(s.execute(statement, chunk))
    content_of = {(r["seller_id"], r["day"], r["slot"]): r["content_id"] for r in rows}
    link_rows = []
    for suggestion_id, seller_id, day, slot in inserted:
        code = codes[(seller_id, day, slot)]
        content = contents[content_of[(seller_id, day, slot)]]  # type: ignore[index]
        link_rows.append(
            {
                "code": code,
                "suggestion_id": suggestion_id,
                "target_url": content.utm.for_code(code),
                "created_at": now,
            }
        )
    for chunk_start in range(0, len(link_rows), 5000):
        chunk = link_rows[chunk_start : chunk_start + 5000]
        if is_pg:
            _insert_links_pg(s, chunk)
        else:
            s.execute(sa.insert(TrackedLink), chunk)
    return len(inserted), not_rendered


# On PostgreSQL, many rows go in as one JSON document expanded by json_to_recordset(): one
# short statement and one parameter (json.dumps is C-fast), instead of thousands of
# placeholders or per-column arrays that the driver would format in Python. The columns
# and their types come from the tables (contentfeed.tables): a column a model gains is
# written with its default, as the ORM insert on SQLite does.
_SUGGESTION: sa.Table = Suggestion.__table__  # type: ignore[assignment]
_LINK: sa.Table = TrackedLink.__table__  # type: ignore[assignment]
_SUGGESTION_COLUMNS = tables.insert_columns(_SUGGESTION, also=("variant_id", "expires_at"))
_LINK_COLUMNS = tables.insert_columns(_LINK)


def _recordset_insert(table: sa.Table, columns: Sequence[str], tail: str = "") -> sa.TextClause:
    names = ", ".join(columns)
    shape = ", ".join(f"{name} {tables.pg_type(table.c[name])}" for name in columns)
    # Table and column names are the table definition's, never input.
    statement = (
        f"INSERT INTO {table.name} ({names}) SELECT {names} "  # noqa: S608
        f"FROM json_to_recordset(CAST(:rows AS json)) AS r({shape}) {tail}"
    )
    return sa.text(statement)


_PG_INSERT_SUGGESTIONS = _recordset_insert(
    _SUGGESTION,
    _SUGGESTION_COLUMNS,
    "ON CONFLICT DO NOTHING RETURNING id, seller_id, day, slot",
)
_PG_INSERT_LINKS = _recordset_insert(_LINK, _LINK_COLUMNS)


def _as_json(table: sa.Table, columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """Return rows as a JSON document, each with every column (the model's defaults for
    columns the caller did not give)."""
    missing = set(columns) - set(rows[0]) if rows else set()
    if missing:
        defaults = tables.python_defaults(table, missing)
        rows = [{**defaults(), **row} for row in rows]
    return json.dumps(rows, default=lambda value: value.isoformat())


def _insert_links_pg(s: Session, rows: list[dict[str, Any]]) -> None:
    s.execute(_PG_INSERT_LINKS, {"rows": _as_json(_LINK, _LINK_COLUMNS, rows)})


def _insert_suggestions_pg(
    s: Session, rows: list[dict[str, Any]]
) -> list[tuple[int, int, date, int]]:
    rows_json = _as_json(_SUGGESTION, _SUGGESTION_COLUMNS, rows)
    result = s.execute(_PG_INSERT_SUGGESTIONS, {"rows": rows_json})
    return [(row[0], row[1], row[2], row[3]) for row in result]


# --- the seller's feed -------------------------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    """A suggestion as the seller sees it: the post, its link, and how it did.

    ``text`` is the post to copy; its tracked link is always ``link``, so a page never shows
    two addresses for one code.
    """

    suggestion: Suggestion
    link: str
    clicks: int
    text: str = ""


def _with_links(s: Session, suggestions: Sequence[Suggestion], base_url: str) -> list[FeedItem]:
    if not suggestions:
        return []
    ids = [x.id for x in suggestions]
    codes: dict[int, str] = {
        suggestion_id: code
        for suggestion_id, code in s.execute(
            sa.select(TrackedLink.suggestion_id, TrackedLink.code).where(
                TrackedLink.suggestion_id.in_(ids)
            )
        )
    }
    clicks = clicks_by_suggestion(s, ids)
    return [_item(x, codes.get(x.id), clicks.get(x.id, 0), base_url) for x in suggestions]


def _item(suggestion: Suggestion, code: str | None, clicks: int, base_url: str) -> FeedItem:
    """One address per code: the text was rendered with the base URL of its day (maybe a
    server no longer there); its link is shown, like the link beside it, with today's."""
    if code is None:
        return FeedItem(suggestion, "", clicks, suggestion.rendered_text)
    link = links.public_link(base_url, code)
    return FeedItem(suggestion, link, clicks, links.relink(suggestion.rendered_text, code, link))


def clicks_by_suggestion(s: Session, suggestion_ids: Sequence[int]) -> dict[int, int]:
    """Count human clicks (bots excluded) per suggestion."""
    if not suggestion_ids:
        return {}
    rows = s.execute(
        sa.select(TrackedLink.suggestion_id, sa.func.count(Click.id))
        .join(Click, Click.link_id == TrackedLink.id)
        .where(TrackedLink.suggestion_id.in_(suggestion_ids), ~Click.is_bot)
        .group_by(TrackedLink.suggestion_id)
    )
    return {suggestion_id: n for suggestion_id, n in rows}


def _suggestion_query() -> sa.Select[Suggestion]:
    return sa.select(Suggestion).options(
        selectinload(Suggestion.content).selectinload(Content.campaign),
    )


def pending_feed(s: Session, seller: User, base_url: str) -> list[FeedItem]:
    """Return the seller's current suggestions, newest day first."""
    rows = s.scalars(
        _suggestion_query()
        .where(Suggestion.seller_id == seller.id, Suggestion.status == SuggestionStatus.PENDING)
        .order_by(Suggestion.day.desc(), Suggestion.slot)
    ).all()
    return _with_links(s, rows, base_url)


# How a seller's history can be ordered (ties: newest first).
HISTORY_SORTS: dict[str, sa.ColumnElement[Any]] = {
    "when": sa.func.coalesce(Suggestion.posted_at, Suggestion.skipped_at, Suggestion.expires_at),
    "clicks": sa.select(sa.func.count(Click.id))
    .join(TrackedLink, Click.link_id == TrackedLink.id)
    .where(TrackedLink.suggestion_id == Suggestion.id, ~Click.is_bot)
    .correlate(Suggestion)
    .scalar_subquery(),
    "post": sa.select(sa.func.lower(Content.title))
    .where(Content.id == Suggestion.content_id)
    .scalar_subquery(),
    "status": sa.case(
        {status.value: n for n, status in enumerate(SuggestionStatus)}, value=Suggestion.status
    ),
}


def history(
    s: Session,
    seller: User,
    base_url: str,
    *,
    sort: str = "when",
    descending: bool = True,
    offset: int = 0,
    limit: int = 25,
) -> tuple[list[FeedItem], int]:
    """Return the seller's past suggestions (newest first unless sorted otherwise: by when,
    clicks, post title or status; ties newest first) and how many there are."""
    where = (Suggestion.seller_id == seller.id, Suggestion.status != SuggestionStatus.PENDING)
    total = s.scalar(sa.select(sa.func.count()).select_from(Suggestion).where(*where)) or 0
    key = HISTORY_SORTS.get(sort, HISTORY_SORTS["when"])
    order = [key.desc() if descending else key.asc()]
    rows = s.scalars(
        _suggestion_query()
        .where(*where)
        .order_by(*order, Suggestion.day.desc(), Suggestion.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return _with_links(s, rows, base_url), total


@dataclass(frozen=True)
class SellerTotals:
    suggested: int
    posted: int
    clicks: int
    pending: int


def seller_totals(s: Session, seller: User, since: datetime) -> SellerTotals:
    """Count a seller's suggestions, posts and human clicks since a moment."""
    counts: dict[SuggestionStatus, int] = {
        status: n
        for status, n in s.execute(
            sa.select(Suggestion.status, sa.func.count())
            .where(Suggestion.seller_id == seller.id, Suggestion.created_at >= since)
            .group_by(Suggestion.status)
        )
    }
    clicks = (
        s.scalar(
            sa.select(sa.func.count(Click.id))
            .join(TrackedLink, Click.link_id == TrackedLink.id)
            .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
            .where(Suggestion.seller_id == seller.id, ~Click.is_bot, Click.clicked_at >= since)
        )
        or 0
    )
    return SellerTotals(
        suggested=sum(counts.values()),
        posted=counts.get(SuggestionStatus.POSTED, 0),
        clicks=clicks,
        pending=counts.get(SuggestionStatus.PENDING, 0),
    )


def list_suggestions(
    s: Session,
    base_url: str,
    *,
    seller_id: int | None = None,
    status: SuggestionStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[FeedItem], int]:
    """Return suggestions (one seller's, or everyone's) newest first, and how many match."""
    where: list[sa.ColumnElement[bool]] = []
    if seller_id is not None:
        where.append(Suggestion.seller_id == seller_id)
    if status is not None:
        where.append(Suggestion.status == status)
    total = s.scalar(sa.select(sa.func.count()).select_from(Suggestion).where(*where)) or 0
    rows = s.scalars(
        _suggestion_query()
        .options(selectinload(Suggestion.seller))
        .where(*where)
        .order_by(Suggestion.day.desc(), Suggestion.slot, Suggestion.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return _with_links(s, rows, base_url), total


def feed_items(s: Session, suggestions: Sequence[Suggestion], base_url: str) -> list[FeedItem]:
    """Return suggestions with their public links and human clicks."""
    return _with_links(s, suggestions, base_url)


def status_counts(s: Session, seller_ids: Sequence[int]) -> dict[int, dict[SuggestionStatus, int]]:
    """Count each seller's suggestions per status."""
    counts: dict[int, dict[SuggestionStatus, int]] = {
        seller_id: dict.fromkeys(SuggestionStatus, 0) for seller_id in seller_ids
    }
    for chunk in _chunks(list(seller_ids), 5000):
        for seller_id, status, n in s.execute(
            sa.select(Suggestion.seller_id, Suggestion.status, sa.func.count())
            .where(among(s, Suggestion.seller_id, chunk))
            .group_by(Suggestion.seller_id, Suggestion.status)
        ):
            counts[seller_id][SuggestionStatus(status)] = n
    return counts


def suggest_now(
    s: Session,
    settings: FeedSettings,
    seller_id: int,
    *,
    now: datetime | None = None,
    seed: int | None = None,
) -> list[Suggestion]:
    """Give one seller a suggestion today, whatever their cadence; say why when none fits."""
    seller = s.get(User, seller_id)
    if seller is None or seller.role is not Role.SELLER:
        raise NotFound("No such seller.")
    if not seller.is_active:
        raise Conflict(f"{seller.name} is deactivated; reactivate them before suggesting.")
    now = now or utcnow()
    before = (
        s.scalar(sa.select(sa.func.max(Suggestion.id)).where(Suggestion.seller_id == seller.id))
        or 0
    )
    result = fill_feeds(s, settings, now=now, seed=seed, only=[seller.id], ignore_cadence=True)
    if result.created == 0:
        facts, _contents = live_content_facts(s, now, base_url=settings.public_base_url)
        if not any(f.variant_ids for f in facts):
            raise Conflict("The library has no live content with a post variant to suggest.")
        raise Conflict(
            f"No live content fits {seller.name}: every live item aimed at their team, "
            "region and language has already been suggested to them."
        )
    return list(
        s.scalars(
            _suggestion_query()
            .options(selectinload(Suggestion.seller))
            .where(Suggestion.seller_id == seller.id, Suggestion.id > before)
            .order_by(Suggestion.id)
        )
    )


def get_suggestion(s: Session, suggestion_id: int, viewer: User) -> Suggestion:
    """Return a suggestion: sellers only their own; marketers and admins any."""
    suggestion = s.get(Suggestion, suggestion_id)
    if suggestion is None or (
        viewer.role not in (Role.ADMIN, Role.MARKETER) and suggestion.seller_id != viewer.id
    ):
        raise NotFound("No such suggestion.")
    return suggestion


def mark_posted(
    s: Session, suggestion: Suggestion, *, actor: User, now: datetime | None = None
) -> Suggestion:
    """Record that the seller shared the post (marking twice changes nothing)."""
    if actor.id != suggestion.seller_id and actor.role not in (Role.ADMIN, Role.MARKETER):
        raise Forbidden("Only the seller can mark their post shared.")
    if suggestion.status is SuggestionStatus.POSTED:
        return suggestion
    suggestion.status = SuggestionStatus.POSTED
    suggestion.posted_at = now or utcnow()
    suggestion.skipped_at, suggestion.skip_reason, suggestion.skip_note = None, "", ""
    s.flush()
    return suggestion


def skip(
    s: Session,
    suggestion: Suggestion,
    *,
    actor: User,
    reason: str,
    note: str = "",
    now: datetime | None = None,
) -> Suggestion:
    """Set a suggestion aside with a reason (it tells marketing what doesn't work)."""
    if actor.id != suggestion.seller_id and actor.role not in (Role.ADMIN, Role.MARKETER):
        raise Forbidden("Only the seller can skip their suggestion.")
    if reason not in SKIP_REASONS:
        message = "Choose a reason: " + ", ".join(SKIP_REASONS.values()) + "."
        raise Invalid(message, {"reason": message})
    checked_text("note", note, multiline=True)
    if suggestion.status is SuggestionStatus.POSTED:
        raise Conflict("This post is already marked shared.")
    suggestion.status = SuggestionStatus.SKIPPED
    suggestion.skipped_at = now or utcnow()
    suggestion.skip_reason = reason
    suggestion.skip_note = note.strip()[:500]
    s.flush()
    return suggestion


def expire_stale(s: Session, now: datetime | None = None) -> int:
    """Expire pending suggestions past their time or whose content is no longer live."""
    now = now or utcnow()
    not_live = (
        sa.select(Content.id)
        .where(
            sa.or_(
                Content.status != ContentStatus.APPROVED,
                sa.and_(Content.expires_at.is_not(None), Content.expires_at <= now),
            )
        )
        .scalar_subquery()
    )
    result = s.execute(
        sa.update(Suggestion)
        .where(
            Suggestion.status == SuggestionStatus.PENDING,
            sa.or_(Suggestion.expires_at <= now, Suggestion.content_id.in_(not_live)),
        )
        .values(status=SuggestionStatus.EXPIRED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ContentActivity:
    """Who was suggested an item, and who shared it."""

    seller: User
    suggestion: Suggestion
    clicks: int


def content_activity(s: Session, content_id: int) -> list[ContentActivity]:
    """List each seller suggested this content, newest first, with their clicks."""
    rows = s.scalars(
        sa.select(Suggestion)
        .where(Suggestion.content_id == content_id)
        .options(selectinload(Suggestion.seller), selectinload(Suggestion.variant))
        .order_by(Suggestion.created_at.desc(), Suggestion.id.desc())
    ).all()
    clicks = clicks_by_suggestion(s, [r.id for r in rows])
    return [ContentActivity(r.seller, r, clicks.get(r.id, 0)) for r in rows]


def feed_settings(config: Mapping[str, Any]) -> FeedSettings:
    """Read what filling feeds needs from an app's config."""
    return FeedSettings(
        public_base_url=config["PUBLIC_BASE_URL"],
        default_timezone=config["DEFAULT_TIMEZONE"],
        local_hour=config["SUGGEST_LOCAL_HOUR"],
        ttl_days=config["SUGGESTION_TTL_DAYS"],
        rules=Compliance.from_config(config),
    )
