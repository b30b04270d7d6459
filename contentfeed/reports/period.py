"""The date range a report covers: whole days in the viewer's time zone, and the period
before it of the same length (for comparison)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contentfeed.errors import Invalid
from contentfeed.i18n import _

DEFAULT_DAYS = 30
MAX_DAYS = 731


@dataclass(frozen=True)
class Period:
    """From ``first`` to ``last`` (both included), whole days in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """The first instant of the period (aware, in the period's zone)."""
        return datetime.combine(self.first, time(0, 0), self.zone)

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time(0, 0), self.zone)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = timedelta(days=self.days)
        return Period(self.first - length, self.last - length, self.zone)

    def each_day(self) -> Iterator[date]:
        """Every day of the period, in order."""
        for n in range(self.days):
            yield self.first + timedelta(days=n)

    def day_of(self, moment: datetime) -> date:
        """The period-zone calendar day of an instant."""
        return moment.astimezone(self.zone).date()

    def as_args(self) -> dict[str, str]:
        """The query arguments that select this period again."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def parse_period(args: Mapping[str, str], zone: ZoneInfo, today: date) -> Period:
    """Read ``from`` and ``to`` (YYYY-MM-DD, both included) or default to the last 30 days.

    Raises Invalid naming the field for a malformed date, an end before the start, or a
    range longer than two years.
    """
    problems: dict[str, str] = {}
    parsed: dict[str, date] = {}
    for key in ("from", "to"):
        raw = (args.get(key) or "").strip()
        if not raw:
            continue
        try:
            parsed[key] = date.fromisoformat(raw)
        except ValueError:
            problems[key] = _("a date like 2026-11-01")
    if problems:
        raise Invalid(_("Check the dates."), problems)
    last = parsed.get("to", today)
    first = parsed.get("from", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise Invalid(_("The range ends before it starts."), {"to": _("on or after the start")})
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid(
            _("Pick at most two years."), {"from": _("at most %(days)s days", days=MAX_DAYS)}
        )
    return Period(first, last, zone)
