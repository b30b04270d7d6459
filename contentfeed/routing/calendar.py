"""SLA due times, optionally counted in a queue's business hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Calendar:
    """Working days (0 = Monday) and hours in a time zone."""

    timezone: str = "UTC"
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)

    @classmethod
    def of(cls, timezone: str, workdays: list[int], day_start: str, day_end: str) -> Calendar:
        """Build a calendar from a queue's stored settings."""
        return cls(
            timezone=timezone or "UTC",
            workdays=tuple(sorted({int(d) for d in workdays if 0 <= int(d) <= 6})),
            day_start=parse_clock(day_start),
            day_end=parse_clock(day_end),
        )


def parse_clock(value: str) -> time:
    """Read "HH:MM" (24-hour)."""
    hours, _, minutes = value.strip().partition(":")
    return time(int(hours), int(minutes or 0))


def due_at(start: datetime, minutes: int, calendar: Calendar | None = None) -> datetime:
    """Return when an SLA of ``minutes`` started at ``start`` runs out.

    Without a calendar the clock runs around the clock; with one only working time counts,
    so a lead arriving on Friday evening with a 60-minute SLA is due Monday at 10:00.
    """
    if calendar is None:
        return start + timedelta(minutes=minutes)
    if not calendar.workdays or calendar.day_end <= calendar.day_start:
        return start + timedelta(minutes=minutes)  # no working time defined: plain minutes
    zone = ZoneInfo(calendar.timezone)
    local = start.astimezone(zone)
    remaining = timedelta(minutes=minutes)
    for _day in range(400):  # at most a year or so of calendar days
        opens = datetime.combine(local.date(), calendar.day_start, zone)
        closes = datetime.combine(local.date(), calendar.day_end, zone)
        if local.weekday() in calendar.workdays and local < closes:
            begin = max(local, opens)
            available = closes - begin
            if remaining <= available:
                return (begin + remaining).astimezone(UTC)
            remaining -= available
        next_day = local.date() + timedelta(days=1)
        local = datetime.combine(next_day, time(0, 0), zone)
    return (local + remaining).astimezone(UTC)  # pragma: no cover - a year without work time
