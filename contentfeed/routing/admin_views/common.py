"""What the routing admin pages share: form error display, small parsers, time in words."""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask_wtf import FlaskForm

from contentfeed import config, i18n
from contentfeed.accounts.access import Role
from contentfeed.errors import DomainError
from contentfeed.i18n import _, ngettext
from contentfeed.routing import (
    service,
)

ADMIN = (Role.ADMIN,)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]  # pages use weekday_name
DASH = "\u2013"  # en dash, for ranges such as Mon-Fri and 09:00-17:00
YES_NO = {"": None, "yes": True, "no": False}


def apply_errors(form: FlaskForm, error: DomainError) -> None:
    """Show a service's field errors beside the form's fields (the rest above the form)."""
    shown = False
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, _sentence(message)]
            shown = True
    if not shown:
        form.form_errors.append(error.message)


def _sentence(message: str) -> str:
    """Start a service's message with a capital, unless it starts with a domain or address."""
    first = message.split(" ", 1)[0]
    return message if "." in first or "@" in first else message[:1].upper() + message[1:]


def form_status(form: FlaskForm) -> int:
    """Answer 422 when the form shows errors, else 200."""
    return 422 if form.errors or form.form_errors else 200


def int_arg(value: str | None) -> int | None:
    """Read a whole number from a form field, or None when it is missing or not a number."""
    text = (value or "").strip()
    return int(text) if re.fullmatch(r"-?\d{1,9}", text) else None


def sla_text(minutes: int) -> str:
    """Say an SLA in words: 45 min, 4 h, 1 day 2 h."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", days))
    if hours:
        parts.append(_("%(num)d h", num=hours))
    if mins:
        parts.append(_("%(num)d min", num=mins))
    return " ".join(parts) or _("%(num)d min", num=0)


def weekday_name(day: int) -> str:
    """Return a weekday's short name in the page's language (0 is Monday): Mon, Mo."""
    return i18n.weekday_text(day).rstrip(".")


def workdays_text(days: Sequence[int]) -> str:
    """Say working days briefly: Mon-Fri (with an en dash), or Mon, Wed, Fri."""
    days = sorted(set(days))
    if not days:
        return _("no working days")
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{weekday_name(days[0])}{DASH}{weekday_name(days[-1])}"
    return ", ".join(weekday_name(d) for d in days)


def routing_settings() -> service.RoutingSettings:
    return config.current().routing
