"""What every library page shares: the signed-in author, form errors, dates in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_interval, format_skeleton
from flask import (
    flash,
    jsonify,
)
from flask_wtf import FlaskForm
from pydantic import ValidationError
from werkzeug.wrappers import Response

from contentfeed import config
from contentfeed.accounts import access
from contentfeed.accounts.access import User
from contentfeed.accounts.forms import language_label
from contentfeed.content import service
from contentfeed.content.assets import ALLOWED_TYPES
from contentfeed.content.forms import PRIORITIES
from contentfeed.content.models import (
    Content,
    ContentStatus,
)
from contentfeed.content.views import bp
from contentfeed.db import utcnow
from contentfeed.errors import CODES, DomainError
from contentfeed.i18n import _, _l, current_locale
from contentfeed.ui import viewer_zone

PRIORITY_LABELS = dict(PRIORITIES)


def signed_in() -> User:
    return access.signed_in_user()


def compliance_rules() -> service.Compliance:
    return service.Compliance.of(config.current())


def upload_folder() -> Path:
    """Return where uploaded files are kept ([library] upload_dir)."""
    return Path(config.current().library.upload_dir)


def flash_preflight(content: Content) -> None:
    """Say after a save what the LinkedIn pre-flight asks to change in the item's link preview
    (the item page lists every note)."""
    for note in service.link_notes(content):
        if note.level == "warning":
            flash(_("LinkedIn: %(note)s", note=note.message), "warning")


def apply_errors(form: FlaskForm, error: DomainError) -> None:
    """Show a service's field errors beside the form's fields."""
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
    if not any(hasattr(form, name) for name in error.fields):
        form.form_errors.append(error.message)


def apply_validation(form: FlaskForm, error: ValidationError) -> None:
    """Show pydantic's complaints beside the fields they are about."""
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        name = str(problem["loc"][0]) if problem["loc"] else ""
        field = getattr(form, name, None) if name else None
        message = message[:1].upper() + message[1:]
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


def json_error(status: int, message: str, fields: dict[str, str] | None = None) -> Response:
    response = jsonify(error=CODES.get(status, "error"), message=message, fields=fields or {})
    response.status_code = status
    return response


def to_utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def day_bound(day: date | None, at: time) -> datetime | None:
    """Turn a date picked in the viewer's zone into a UTC moment."""
    if day is None:
        return None
    return datetime.combine(day, at, tzinfo=viewer_zone()).astimezone(UTC)


def local_date(value: datetime | None) -> date | None:
    return value.astimezone(viewer_zone()).date() if value is not None else None


def _date_locale() -> str:
    """The locale short dates are written in: English writes the day first ("3 Dec")."""
    locale = current_locale()
    return "en_GB" if locale == "en" else locale


def window_text(starts: datetime | None, ends: datetime | None, empty: str = "") -> str:
    """Describe a publish window briefly, in the viewer's language: a date range
    ("3 - 15 Dec", "3.-15. Dez."), "until 15 Dec", "from 3 Dec" or "always" (or ``empty``)."""
    zone = viewer_zone()
    this_year = datetime.now(zone).year
    start = starts.astimezone(zone).date() if starts else None
    end = ends.astimezone(zone).date() if ends else None
    locale = _date_locale()
    years = {d.year for d in (start, end) if d is not None}
    skeleton = "MMMd" if years == {this_year} else "yMMMd"
    if start and end:
        return format_interval(start, end, skeleton, locale=locale)
    if start:
        return _("from %(day)s", day=format_skeleton(skeleton, start, locale=locale))
    if end:
        return _("until %(day)s", day=format_skeleton(skeleton, end, locale=locale))
    return empty or _("always")


_WINDOW_STATES = {
    "expired": (_l("Expired"), "warning"),
    "scheduled": (_l("Scheduled"), "info"),
    "active": (_l("Active"), "success"),
}


def state_of(content: Content, now: datetime) -> str:
    """Return the status people see, as a key: an approved item is "active", "scheduled" or
    "expired" by its window; the others are their status ("draft", "in_review", …)."""
    if content.status is ContentStatus.APPROVED:
        if content.expires_at is not None and content.expires_at <= now:
            return "expired"
        if content.starts_at is not None and content.starts_at > now:
            return "scheduled"
        return "active"
    return content.status.value


def status_of(content: Content, now: datetime) -> tuple[str, str]:
    """Return the status people see (an approved item's window counts) and its badge kind."""
    state = state_of(content, now)
    if state in _WINDOW_STATES:
        label, kind = _WINDOW_STATES[state]
        return str(label), kind
    kind = "accent" if content.status is ContentStatus.IN_REVIEW else "neutral"
    return content.status.label, kind


# The parts of a suggestion's score (suggestions/engine.py), as the item page names them.
_SCORE_PARTS = {
    "priority": _l("priority"),
    "freshness": _l("freshness"),
    "performance": _l("performance"),
    "topics": _l("topics"),
    "team_spread": _l("team spread"),
}


def score_part_label(name: str) -> str:
    """Name a part of a suggestion's score ("team_spread" -> "team spread")."""
    label = _SCORE_PARTS.get(name)
    return str(label) if label is not None else name.replace("_", " ")


def domain_of(url: str) -> str:
    """Return the host of a web address without 'www.', as LinkedIn's link cards show it."""
    return (urlsplit(url).hostname or "").removeprefix("www.")


@bp.context_processor
def _library_helpers() -> dict[str, Any]:
    return {
        "window_text": window_text,
        "status_of": status_of,
        "state_of": state_of,
        "score_part_label": score_part_label,
        "domain_of": domain_of,
        "priority_label": lambda n: PRIORITY_LABELS.get(n, str(n)),
        "language_name": language_label,
        "now": utcnow(),
        "viewer_zone_name": viewer_zone().key,
        "upload_accept": ",".join([*(f".{ext}" for ext in ALLOWED_TYPES), ".jpeg"]),
    }
