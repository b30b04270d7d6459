"""How the people reports count and show: the period filter, which leads count, credit
rounding, and the display formats of credit, durations and rates."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from contentfeed.i18n import _, decimal_text, number_text, percent_text
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.reports.period import Period

QUALIFIED_STATUSES = (LeadStatus.QUALIFIED, LeadStatus.CONVERTED)


def between(column: Any, period: Period) -> sa.ColumnElement[bool]:
    """Keep instants inside the period (start included, end excluded)."""
    return sa.and_(column >= period.start, column < period.end)


def counted_lead(period: Period) -> sa.ColumnElement[bool]:
    """Keep leads submitted in the period that were not merged into another lead."""
    return sa.and_(between(Lead.submitted_at, period), Lead.merged_into_id.is_(None))


def is_qualified() -> sa.ColumnElement[bool]:
    """Keep leads that reached qualified or converted."""
    return Lead.status.in_(QUALIFIED_STATUSES)


def round_credit(value: float | None) -> float:
    """Round a credit sum to the 6 decimals credits are stored with."""
    # Credits are stored to 6 decimals; summing floats adds noise below that.
    return round(float(value or 0.0), 6)


def format_credit(value: float) -> str:
    """Show a credit sum: whole numbers plainly, fractions with two decimals."""
    if abs(value - round(value)) < 0.005:
        return f"{round(value):d}"
    return f"{value:.2f}"


def format_duration(seconds: float | None) -> str:
    """Show a duration like "1 h 12 min" ("—" when there is none)."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def format_rate(rate: float | None) -> str:
    """Show a share as a whole percentage ("—" when there is nothing to divide)."""
    return "—" if rate is None else f"{rate * 100:.0f}%"


# --- the same figures on a page, in the viewer's language ("1,5", "25 %", "1 Std. 12 Min.") ---


def show_credit(value: float) -> str:
    """Show a credit sum on a page: whole numbers plainly, fractions with two decimals."""
    if abs(value - round(value)) < 0.005:
        return number_text(round(value))
    return decimal_text(value, 2)


def show_rate(rate: float | None) -> str:
    """Show a share on a page as a whole percentage ("—" when there is nothing to divide)."""
    return percent_text(rate)


def show_duration(seconds: float | None) -> str:
    """Show a duration on a page like "1 h 12 min" ("—" when there is none)."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return _("under 1 min")
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        if hours:
            return _("%(days)s d %(hours)s h", days=days, hours=hours)
        return _("%(days)s d", days=days)
    if hours:
        return (
            _("%(hours)s h %(mins)s min", hours=hours, mins=mins)
            if mins
            else _("%(hours)s h", hours=hours)
        )
    return _("%(mins)s min", mins=mins)


def share_of(part: float, whole: float) -> float | None:
    """Divide, or None when there is nothing to divide by."""
    return part / whole if whole else None
