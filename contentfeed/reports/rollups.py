"""Daily click rollups: human clicks per UTC day and post, so reports need not count millions
of raw clicks on every page.

``daily_clicks`` holds one row per (UTC day, content item, seller) with clicks; the watermark
``RollupWatermark("daily_clicks")`` says through which UTC day the rows are final. Reports
(``human_clicks``) sum the rollup for the UTC days wholly inside their period and up to the
watermark, and count raw clicks for the rest: the partial UTC days at the period's edges (a
viewer's day starts at their own midnight) and the days not rolled up yet (today and
yesterday, or everything on a new install). Figures are therefore exact in any time zone and
always current, whatever state the rollup is in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from contentfeed.db import utcnow
from contentfeed.links.models import Click, TrackedLink
from contentfeed.reports.models import DailyClicks, HourlyClicks, RollupWatermark
from contentfeed.reports.period import Period
from contentfeed.suggestions.models import Suggestion

WATERMARK = "daily_clicks"
# A click's time is taken at the redirect, a moment before its commit: a UTC day is final
# once the next one has begun too, so the job keeps recomputing today and yesterday.
OPEN_DAYS = 2


@dataclass(frozen=True)
class RollupResult:
    """What a roll-up run did: the UTC days it recomputed and the rows it wrote."""

    days: int = 0
    rows: int = 0


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), UTC)


def _utc_day(s: Session) -> sa.ColumnElement[Any]:
    """A click's UTC calendar day, in SQL."""
    if s.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", Click.clicked_at), sa.Date)
    return sa.func.date(Click.clicked_at)  # SQLite stores UTC text: "YYYY-MM-DD HH:MM:SS"


def watermark(s: Session) -> date | None:
    """Return the last UTC day whose rollup rows are final, None before the first run."""
    return s.scalar(sa.select(RollupWatermark.through).where(RollupWatermark.name == WATERMARK))


def _set_watermark(s: Session, through: date) -> None:
    mark = s.get(RollupWatermark, WATERMARK)
    if mark is None:
        s.add(RollupWatermark(name=WATERMARK, through=through))
    else:
        mark.through = through
    s.flush()


def _refresh(s: Session, first: date, last: date) -> int:
    """Recompute the rows of UTC days first..last (both included) from the raw clicks.

    Rows of those days are deleted, then written again by one INSERT ... SELECT ... GROUP BY;
    ON CONFLICT DO UPDATE lets a second run racing this one converge instead of adding twice.
    """
    if first > last:
        return 0
    s.execute(sa.delete(DailyClicks).where(DailyClicks.day.between(first, last)))
    day = _utc_day(s).label("day")
    counts = (
        sa.select(day, Suggestion.content_id, Suggestion.seller_id, sa.func.count())
        .select_from(Click)
        .join(TrackedLink, TrackedLink.id == Click.link_id)
        .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        .where(
            Click.clicked_at >= _midnight(first),
            Click.clicked_at < _midnight(last + timedelta(days=1)),
            Click.counted,
        )
        .group_by(day, Suggestion.content_id, Suggestion.seller_id)
    )
    is_pg = s.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert(DailyClicks) if is_pg else sqlite.insert(DailyClicks)
    stmt = insert.from_select(["day", "content_id", "seller_id", "clicks"], counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "content_id", "seller_id"],
        set_={"clicks": stmt.excluded.clicks},
    )
    s.execute(stmt)
    _refresh_hours(s, first, last)
    # Drivers differ in the rowcount of an INSERT ... SELECT ... ON CONFLICT: count instead.
    in_range = DailyClicks.day.between(first, last)
    return int(s.scalar(sa.select(sa.func.count()).where(in_range)) or 0)


def _utc_hour(s: Session) -> sa.ColumnElement[Any]:
    """A click's UTC hour, in SQL, in the form the hour column stores."""
    if s.get_bind().dialect.name == "postgresql":
        utc = sa.func.timezone("UTC", Click.clicked_at)
        return sa.func.timezone("UTC", sa.func.date_trunc("hour", utc))
    return sa.func.strftime("%Y-%m-%d %H:00:00.000000", Click.clicked_at)


def _refresh_hours(s: Session, first: date, last: date) -> None:
    """Recompute the hourly rows of UTC days first..last, as _refresh does the daily ones."""
    begin, end = _midnight(first), _midnight(last + timedelta(days=1))
    s.execute(sa.delete(HourlyClicks).where(HourlyClicks.hour >= begin, HourlyClicks.hour < end))
    hour = _utc_hour(s).label("hour")
    counts = (
        sa.select(hour, Suggestion.content_id, sa.func.count())
        .select_from(Click)
        .join(TrackedLink, TrackedLink.id == Click.link_id)
        .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        .where(Click.clicked_at >= begin, Click.clicked_at < end, Click.counted)
        .group_by(hour, Suggestion.content_id)
    )
    is_pg = s.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert(HourlyClicks) if is_pg else sqlite.insert(HourlyClicks)
    stmt = insert.from_select(["hour", "content_id", "clicks"], counts)
    s.execute(
        stmt.on_conflict_do_update(
            index_elements=["hour", "content_id"], set_={"clicks": stmt.excluded.clicks}
        )
    )


def _first_click_day(s: Session) -> date | None:
    first = s.scalar(sa.select(sa.func.min(Click.clicked_at)))
    return first.astimezone(UTC).date() if first is not None else None


def roll_up_clicks(s: Session, now: datetime | None = None) -> RollupResult:
    """Bring the rollup up to date: recompute today and yesterday, and every older day not
    rolled up yet (all of them on the first run); then move the watermark. Idempotent."""
    today = (now or utcnow()).astimezone(UTC).date()
    open_from = today - timedelta(days=OPEN_DAYS - 1)
    through = watermark(s)
    # The first run starts at the first click; later ones after the watermark.
    start = through + timedelta(days=1) if through is not None else _first_click_day(s)
    first = min(start or open_from, open_from)
    rows = _refresh(s, first, today)
    final = today - timedelta(days=OPEN_DAYS)
    _set_watermark(s, max(final, through) if through is not None else final)
    return RollupResult(days=(today - first).days + 1, rows=rows)


def rebuild(s: Session, since: date | None = None, now: datetime | None = None) -> RollupResult:
    """Recompute the rollup from the raw clicks: every day, or the UTC days from ``since``."""
    today = (now or utcnow()).astimezone(UTC).date()
    if since is None:
        s.execute(sa.delete(DailyClicks))
        s.execute(sa.delete(HourlyClicks))
        first = min(_first_click_day(s) or today, today)
    else:
        first = min(since, today)
    rows = _refresh(s, first, today)
    final = today - timedelta(days=OPEN_DAYS)
    through = watermark(s)
    # Every day up to ``final`` is complete unless a partial rebuild left days before it
    # unrolled; then the watermark stays and the job fills the gap on its next run.
    if since is None or (through is not None and first <= through + timedelta(days=1)):
        _set_watermark(s, max(final, through) if through is not None else final)
    return RollupResult(days=(today - first).days + 1, rows=rows)


def _split(period: Period, through: date | None) -> tuple[tuple[date, date] | None, list[Any]]:
    """Split a period into UTC days the rollup answers and instant ranges left to raw clicks."""
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    first = start.date() if start == _midnight(start.date()) else start.date() + timedelta(days=1)
    last = end.date() - timedelta(days=1)
    if through is not None:
        last = min(last, through)
    if through is None or first > last:
        return None, [(start, end)]
    edges = []
    if start < _midnight(first):
        edges.append((start, _midnight(first)))
    after = _midnight(last + timedelta(days=1))
    if after < end:
        edges.append((after, end))
    return (first, last), edges


def human_clicks(s: Session, period: Period) -> sa.Subquery:
    """Human clicks in the period per (content_id, seller_id), as a subquery of rows
    ``content_id, seller_id, clicks`` (a pair may appear twice: sum them).

    Whole UTC days up to the watermark come from the rollup, the rest from raw clicks.
    """
    days, edges = _split(period, watermark(s))
    parts: list[sa.Select[int, int, int]] = []
    if days is not None:
        parts.append(
            sa.select(
                DailyClicks.content_id.label("content_id"),
                DailyClicks.seller_id.label("seller_id"),
                DailyClicks.clicks.label("clicks"),
            ).where(DailyClicks.day.between(*days))
        )
    if edges:
        in_edges = sa.or_(
            *(sa.and_(Click.clicked_at >= lo, Click.clicked_at < hi) for lo, hi in edges)
        )
        per_link = sa.select(Click.link_id, sa.func.count().label("n")).where(
            in_edges, Click.counted
        )
        # Count per link first: the join then sees one row per link instead of one per click.
        counted = per_link.group_by(Click.link_id).subquery()
        parts.append(
            sa.select(
                Suggestion.content_id.label("content_id"),
                Suggestion.seller_id.label("seller_id"),
                sa.cast(counted.c.n, sa.Integer).label("clicks"),
            )
            .select_from(counted)
            .join(TrackedLink, TrackedLink.id == counted.c.link_id)
            .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        )
    if len(parts) == 1:
        return parts[0].subquery("human_clicks")
    return sa.union_all(*parts).subquery("human_clicks")


def _minute_bucket(s: Session) -> tuple[sa.ColumnElement[Any], Callable[[Any], datetime]]:
    """A click's UTC minute in SQL, and how to read one back as an aware UTC instant."""
    if s.get_bind().dialect.name == "postgresql":
        return sa.func.date_trunc("minute", Click.clicked_at), lambda v: v.astimezone(UTC)
    key = sa.func.substr(Click.clicked_at, 1, 16, type_=sa.String)  # SQLite: UTC text
    return key, lambda v: datetime.strptime(str(v), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def clicks_by_day(s: Session, period: Period, content_ids: Any = None) -> dict[date, int]:
    """Human clicks on every viewer-zone day of the period (of some items: ``content_ids``,
    a select of content ids), exact in any zone.

    UTC hours up to the watermark that lie wholly inside one viewer day come from the hourly
    rollup (in a whole-hour zone, all of them); the rest (the days after the watermark, and
    in a zone like Asia/Kolkata the hour each midnight splits) are counted from raw clicks.
    """
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    through = watermark(s)
    ranges: list[tuple[datetime, datetime]] = []
    counts: dict[date, int] = defaultdict(int)
    hour = timedelta(hours=1)
    first_hour = start.replace(minute=0, second=0, microsecond=0)
    if first_hour < start:
        first_hour += hour
    rolled_end = min(end, _midnight(through + timedelta(days=1))) if through is not None else start
    last_hour = rolled_end.replace(minute=0, second=0, microsecond=0)
    if first_hour < last_hour:
        if start < first_hour:
            ranges.append((start, first_hour))
        per_hour = (
            sa.select(HourlyClicks.hour, sa.func.sum(HourlyClicks.clicks))
            .where(HourlyClicks.hour >= first_hour, HourlyClicks.hour < last_hour)
            .group_by(HourlyClicks.hour)
        )
        if content_ids is not None:
            per_hour = per_hour.where(HourlyClicks.content_id.in_(content_ids))
        for moment, n in s.execute(per_hour):
            day = period.day_of(moment)
            if day == period.day_of(moment + hour - timedelta(microseconds=1)):
                counts[day] += int(n)
        moment = first_hour
        while moment < last_hour:  # hours a viewer's midnight splits: raw
            if period.day_of(moment) != period.day_of(moment + hour - timedelta(microseconds=1)):
                ranges.append((moment, moment + hour))
            moment += hour
        tail = last_hour
    else:
        tail = start
    if tail < end:
        ranges.append((tail, end))
    if ranges:
        minute, read = _minute_bucket(s)
        raw = sa.select(minute, sa.func.count()).where(
            sa.or_(*(sa.and_(Click.clicked_at >= lo, Click.clicked_at < hi) for lo, hi in ranges)),
            Click.counted,
        )
        if content_ids is not None:
            links = (
                sa.select(TrackedLink.id)
                .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
                .where(Suggestion.content_id.in_(content_ids))
            )
            raw = raw.where(Click.link_id.in_(links))
        for bucket, n in s.execute(raw.group_by(minute)):
            counts[period.day_of(read(bucket))] += int(n)
    return {d: counts.get(d, 0) for d in period.each_day()}
