"""The daily click rollup: equal to the raw clicks, idempotent, current, and invisible in the
reports (same figures with the rollup empty, partly behind or full, in any viewer zone)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from contentfeed import db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.links.models import Click, TrackedLink
from contentfeed.reports import campaigns, jobs, people, rollups
from contentfeed.reports import content as report
from contentfeed.reports.models import DailyClicks, HourlyClicks
from contentfeed.reports.period import Period
from contentfeed.scheduler import all_jobs
from contentfeed.suggestions.models import Suggestion, SuggestionStatus

NOW = datetime(2026, 10, 12, 10, 0, tzinfo=UTC)
# Asia/Kolkata (UTC+5:30): its midnights split UTC hours, which the hourly rollup cannot.
ZONES = [ZoneInfo(z) for z in ("Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata")]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def links(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> list[int]:
    """Three posts (two sellers, two items in two campaigns) with human and bot clicks over
    ten days, many of them near UTC midnight, where Berlin's and New York's days turn."""
    ann, bob = make_user("seller", name="Ann"), make_user("seller", name="Bob")
    first, second = make_content(campaign="Launch"), make_content(campaign="Autumn")
    ids = []
    with app.app_context():
        s = db.session()
        for slot, (seller, item) in enumerate([(ann, first), (ann, second), (bob, first)]):
            suggestion = Suggestion(
                seller_id=seller.id,
                content_id=item.id,
                day=date(2026, 10, 2),
                slot=slot,
                rendered_text="Read this",
                status=SuggestionStatus.POSTED,
                created_at=at(2, 6),
                posted_at=at(2, 8),
            )
            s.add(suggestion)
            s.flush()
            link = TrackedLink(
                code=f"r{suggestion.id:05d}", suggestion_id=suggestion.id, target_url="https://x"
            )
            s.add(link)
            s.flush()
            ids.append(link.id)
        for day in range(2, 13):
            for n, link_id in enumerate(ids):
                # 22:30 and 23:30 UTC are already the next day in Berlin; 01:00 and 03:30
                # UTC still the previous day in New York.
                for hour, minute in [(1, 0), (3, 30), (12, 0), (22, 30), (23, 30)][
                    : 2 + n + day % 4
                ]:
                    s.add(Click(link_id=link_id, clicked_at=at(day, hour, minute)))
                s.add(Click(link_id=link_id, clicked_at=at(day, 23, 45), is_bot=True))
        s.commit()
    return ids


def raw_counts(s: Any) -> Counter[tuple[date, int, int]]:
    """Human clicks per (UTC day, content, seller), counted in Python from every click."""
    rows = s.execute(
        sa.select(Click.clicked_at, Suggestion.content_id, Suggestion.seller_id)
        .join(TrackedLink, TrackedLink.id == Click.link_id)
        .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        .where(Click.is_bot.is_(False))
    )
    return Counter((when.astimezone(UTC).date(), cid, sid) for when, cid, sid in rows)


def raw_hours(s: Any) -> Counter[tuple[datetime, int]]:
    """Human clicks per (UTC hour, content), counted in Python from every click."""
    rows = s.execute(
        sa.select(Click.clicked_at, Suggestion.content_id)
        .join(TrackedLink, TrackedLink.id == Click.link_id)
        .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        .where(Click.is_bot.is_(False))
    )
    return Counter((when.replace(minute=0, second=0, microsecond=0), cid) for when, cid in rows)


def hourly_rows(s: Any) -> Counter[tuple[datetime, int]]:
    rows = s.execute(sa.select(HourlyClicks.hour, HourlyClicks.content_id, HourlyClicks.clicks))
    return Counter({(hour, cid): n for hour, cid, n in rows})


def rollup_rows(s: Any) -> Counter[tuple[date, int, int]]:
    rows = s.execute(
        sa.select(
            DailyClicks.day, DailyClicks.content_id, DailyClicks.seller_id, DailyClicks.clicks
        )
    )
    return Counter({(day, cid, sid): n for day, cid, sid, n in rows})


def figures(s: Any, period: Period) -> dict[str, Any]:
    """Every click figure the dashboards show, for comparison between rollup states."""
    dashboard = report.content_report(s, period, "item", "linear")
    campaign_id = next(r.campaign_id for r in dashboard.rows if r.campaign_id is not None)
    drill = campaigns.campaign_report(s, period, campaign_id, "linear")
    board = people.leaderboard(s, period)
    seller = s.get(User, board.rows[0].seller_id)
    page = people.seller_page(s, seller, period)
    return {
        "items": sorted((r.content_id, r.figures.clicks) for r in dashboard.rows),
        "total": dashboard.total.clicks,
        "previous": dashboard.previous_total.clicks,
        "daily": [(p.day, p.clicks) for p in dashboard.daily],
        "campaign": (drill.total.clicks, drill.previous_total.clicks),
        "campaign_items": sorted((r.content_id, r.figures.clicks) for r in drill.items),
        "posts": sorted(
            (p.content_id, p.seller_id, p.clicks) for posts in drill.sellers.values() for p in posts
        ),
        "leaderboard": sorted((r.seller_id, r.clicks) for r in board.rows),
        "leaderboard_total": board.totals.clicks,
        "seller_page": (
            page.totals.clicks,
            sorted((h.suggestion_id, h.clicks) for h in page.history),
        ),
    }


def human_clicks_in(s: Any, period: Period) -> int:
    times = s.scalars(sa.select(Click.clicked_at).where(Click.is_bot.is_(False)))
    return sum(1 for t in times if period.start <= t < period.end)


def test_roll_up_equals_raw_counts_and_is_idempotent(app: Flask, links: list[int]) -> None:
    with app.app_context():
        s = db.session()
        first = rollups.roll_up_clicks(s, now=NOW)
        s.commit()
        assert first.days == 11  # from the first click (2 Oct) through today (12 Oct)
        assert rollup_rows(s) == raw_counts(s)
        assert hourly_rows(s) == raw_hours(s)
        assert rollups.watermark(s) == date(2026, 10, 10)  # today and yesterday stay open
        again = rollups.roll_up_clicks(s, now=NOW)
        s.commit()
        assert again.days == 2  # only the open days are recomputed
        assert rollup_rows(s) == raw_counts(s)
        assert hourly_rows(s) == raw_hours(s)


def test_a_click_after_the_roll_up_shows_at_once_and_is_rolled_up_next(
    app: Flask, links: list[int]
) -> None:
    period = Period(date(2026, 10, 5), date(2026, 10, 12), ZoneInfo("Europe/Berlin"))
    with app.app_context():
        s = db.session()
        rollups.roll_up_clicks(s, now=NOW)
        s.commit()
        before = figures(s, period)
        s.add(Click(link_id=links[0], clicked_at=NOW + timedelta(minutes=5)))
        s.commit()
        assert rollup_rows(s) != raw_counts(s)
        shown = figures(s, period)
        assert shown["total"] == before["total"] + 1
        assert shown["leaderboard_total"] == before["leaderboard_total"] + 1
        rollups.roll_up_clicks(s, now=NOW + timedelta(minutes=10))
        s.commit()
        assert rollup_rows(s) == raw_counts(s)
        assert hourly_rows(s) == raw_hours(s)
        assert figures(s, period) == shown


@pytest.mark.parametrize("zone", ZONES, ids=lambda z: z.key)
def test_reports_are_the_same_with_an_empty_and_a_full_rollup(
    app: Flask, links: list[int], zone: ZoneInfo
) -> None:
    periods = [
        Period(date(2026, 10, 4), date(2026, 10, 9), zone),  # its edges split UTC days
        Period(date(2026, 10, 6), date(2026, 10, 6), zone),  # one day: no whole UTC day inside
        Period(date(2026, 10, 1), date(2026, 10, 12), zone),  # runs past the watermark
    ]
    with app.app_context():
        s = db.session()
        empty = [figures(s, p) for p in periods]
        for period, found in zip(periods, empty, strict=True):
            assert found["total"] == found["leaderboard_total"] == human_clicks_in(s, period)
            assert found["total"] == sum(n for _day, n in found["daily"])
        rollups.roll_up_clicks(s, now=NOW)
        s.commit()
        assert [figures(s, p) for p in periods] == empty
        # Later, when every day is final and rolled up, nothing changes either.
        rollups.roll_up_clicks(s, now=NOW + timedelta(days=5))
        s.commit()
        assert rollups.watermark(s) == date(2026, 10, 15)
        assert [figures(s, p) for p in periods] == empty


def test_rebuild_equals_the_incremental_roll_up(app: Flask, links: list[int]) -> None:
    with app.app_context():
        s = db.session()
        for day in (3, 6, 7, 12):  # the job running on several days as clicks come in
            rollups.roll_up_clicks(s, now=at(day, 10))
            s.commit()
        incremental, hours = rollup_rows(s), hourly_rows(s)
        assert incremental == raw_counts(s)
        assert hours == raw_hours(s)
        rollups.rebuild(s, now=NOW)
        s.commit()
        assert rollup_rows(s) == incremental
        assert hourly_rows(s) == hours
        assert rollups.watermark(s) == date(2026, 10, 10)
        rollups.rebuild(s, since=date(2026, 10, 8), now=NOW)
        s.commit()
        assert rollup_rows(s) == incremental
        assert hourly_rows(s) == hours


def test_the_scheduler_runs_the_roll_up(app: Flask, links: list[int]) -> None:
    assert "reports.roll_up_clicks" in {job.id for job in all_jobs()}
    with app.app_context():
        s = db.session()
        result = jobs.roll_up_clicks(s)
        s.commit()
        assert result.rows > 0
        assert rollup_rows(s) == raw_counts(s)
        assert hourly_rows(s) == raw_hours(s)
