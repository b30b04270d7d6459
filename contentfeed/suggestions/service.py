"""Suggestion decisions: filling due sellers' feeds in bulk, each post rendered with its link.

Whose feed is due and what is live: planning; the seller's feed and history: listing; the
seller's actions and suggest now: actions; expiry: expiry; who was suggested an item: activity.
Never commits; the caller commits once.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from contentfeed import tables
from contentfeed.accounts.models import User
from contentfeed.content import service as content_service
from contentfeed.content.templating import (
    SellerView,
    TemplateRefused,
    render_comment,
    render_post,
)
from contentfeed.db import utcnow
from contentfeed.links import service as links
from contentfeed.links.models import TrackedLink
from contentfeed.suggestions import engine
from contentfeed.suggestions.activity import content_activity as content_activity
from contentfeed.suggestions.models import SKIP_REASONS as SKIP_REASONS
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from contentfeed.suggestions.planning import (
    DueSeller,
    LiveContent,
    among,
    due_sellers,
    live_content_facts,
)
from contentfeed.suggestions.planning import FeedSettings as FeedSettings
from contentfeed.suggestions.planning import chunks as _chunks
from contentfeed.suggestions.planning import feed_settings as feed_settings
from contentfeed.suggestions.planning import seller_zone as seller_zone

# The names imported "as" themselves are kept here for other domains' pages, the CLI, the demo
# and the tests, which know them from this module.

log = logging.getLogger(__name__)

# A variant that ran into a template limit (time, loop steps, size) this many times in one run
# is not tried again in that run: a limit costs up to the render budget each time it is hit.
COSTLY_FAILURES_PER_RUN = 3
# Rounds of choosing in one run: a slot whose item could not be rendered is offered the
# next-best item, twice at most.
RENDER_ROUNDS = 3


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
            comment = render_comment(
                content.comments.get(choice.variant_id, ""),
                seller=view,
                content=content.view,
                link=link,
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
                "rendered_comment": comment,
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
