"""Languages: which one a request speaks, its messages, and dates and numbers in its style.

The interface speaks the languages in ``LOCALES`` (catalogues in ``contentfeed/translations``,
English is the source). A request's locale is, in this order: the signed-in user's own choice
(the switch in the header), a seller's first profile language, the visitor's choice (the switch
on the login page and public pages, kept in a cookie), the browser's ``Accept-Language``, and
``default_locale`` in config. Outside a request (jobs, the CLI) it is ``default_locale``, unless
the code speaks to one person and wraps its work in ``speaking(person's locale)``.

Dates, times, numbers and money are formatted here, on the server, with Babel, in the viewer's
locale and time zone; no page lets the browser format a date.

Code everywhere imports ``_`` (gettext), ``_l`` (lazy, for texts defined at import time) and
``ngettext`` from here, so the translation library is named in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, LazyString, force_locale, get_locale, gettext, lazy_gettext
from flask_babel import format_currency as _format_currency
from flask_babel import format_date as _format_date
from flask_babel import format_datetime as _format_datetime
from flask_babel import format_decimal as _format_decimal
from flask_babel import format_percent as _format_percent
from flask_babel import format_time as _format_time
from flask_babel import ngettext as _ngettext
from sqlalchemy.exc import SQLAlchemyError

from contentfeed import config
from contentfeed.db import utcnow

__all__ = [
    "LOCALES",
    "LOCALE_COOKIE",
    "N_",
    "_",
    "_l",
    "current_locale",
    "date_text",
    "datetime_text",
    "decimal_text",
    "locale_name",
    "locale_of",
    "money_text",
    "ngettext",
    "number_text",
    "percent_text",
    "relative_text",
    "speaking",
    "time_text",
    "weekday_text",
]


def _(string: str, **variables: Any) -> str:
    """Translate ``string`` into the language being spoken, with its %(named)s variables."""
    return str(gettext(string, **variables))


def _l(string: str, **variables: Any) -> str:
    """Translate ``string`` when it is shown (for texts defined at import time): a lazy text
    that behaves as a str and is translated each time it is turned into one."""
    return cast(str, lazy_gettext(string, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Translate a text whose form depends on ``num`` (``%(num)d`` is filled in)."""
    return str(_ngettext(singular, plural, num, **variables))


def later(say: Callable[..., str], *args: Any) -> str:
    """A text worded each time it is turned into a str, in the language spoken then: for a
    sentence built by a function (with ngettext) handed to code that speaks to someone else."""
    return cast(str, LazyString(say, *args))


def N_(string: str) -> str:
    """Mark a text for the catalogue without translating it: it is stored in English (a
    routing trace's reason) and translated with ``_()`` each time someone reads it."""
    return string


# The interface's languages, in the order the switch shows them. English is the source.
LOCALES: tuple[str, ...] = ("en", "de")
LOCALE_COOKIE = "contentfeed_locale"
_ONE_YEAR = 365 * 24 * 3600

TRANSLATIONS = Path(__file__).parent / "translations"

babel = Babel()


def supported(code: str | None) -> str | None:
    """Return the interface language for a language code ("de-AT" -> "de"), or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].strip().lower()
    return base if base in LOCALES else None


def _chosen_by_user() -> str | None:
    from flask_login import current_user

    try:
        if not current_user or not current_user.is_authenticated:
            return None
        return _users_language(current_user)
    except SQLAlchemyError:  # the database is down and an error page is drawn
        return None


def _users_language(current_user: Any) -> str | None:
    chosen = supported(getattr(current_user, "locale", ""))
    if chosen:
        return chosen
    profile = getattr(current_user, "seller_profile", None)
    if profile is not None:
        for code in getattr(profile, "languages", None) or [profile.language]:
            if supported(code):
                return supported(code)
    return None


def locale_of(user: Any) -> str:
    """Return the language to write to a user in (emails, Slack, notices): their choice, a
    seller's first profile language we speak, else the configured default."""
    return _users_language(user) or config.current().default_locale


def select_locale() -> str:
    """Return the locale of the current request (see the module's docstring for the order)."""
    default = config.current().default_locale
    if not has_request_context():
        return default
    if "contentfeed_locale" in g:
        return str(g.contentfeed_locale)
    return (
        _chosen_by_user()
        or supported(request.cookies.get(LOCALE_COOKIE))
        or request.accept_languages.best_match(LOCALES)
        or default
    )


def select_timezone() -> str:
    """Return the viewer's time zone: their own, else the company default."""
    default = config.current().default_timezone
    if not has_request_context():
        return default
    from flask_login import current_user

    try:
        zone = getattr(current_user, "timezone", "") if current_user.is_authenticated else ""
    except SQLAlchemyError:
        zone = ""
    return zone or default


# The texts the scripts in static/js show, keyed by their English wording. A page carries them
# translated in <html data-texts>; the scripts look a text up with contentfeed.t("Copied ✓").
SCRIPT_TEXTS: tuple[Any, ...] = (
    _l("Menu"),
    _l("Close menu"),
    _l("Copied ✓"),
    _l("Press Ctrl+C"),
    _l(
        "Couldn't copy automatically. The text is selected: press Control+C or Command+C to "
        "copy it."
    ),
    _l("Copied to clipboard."),
    _l("Table (scrolls sideways)"),
    # static/js/library.js
    _l("Fetching preview…"),
    _l("Couldn't read that address. Fill in the fields yourself."),
    _l("Pre-filled from the page ✓"),
    _l("Read the page ✓ Your own text is kept."),
    _l("Couldn't read the page just now. Fill in the fields yourself, or try again."),
    _l("The file is checked and stored when you save."),
    _l("This variant can't be shown until the problem is fixed."),
    _l("Start typing to see the post as a seller will share it."),
    _l("%(length)s / %(limit)s characters"),
    _l("The preview couldn't be made."),
    _l("The preview couldn't be reached. Check your connection and try again."),
    _l("Previews now show the posts as %(name)s would share them."),
    # static/js/import.js
    _l("Pause"),
    _l("Resume"),
    _l("Importing"),
    _l("Paused"),
    _l("Finished"),
    _l("Loading the report…"),
    _l("Import finished: %(summary)s. Loading the report."),
    _l("Import paused. %(problem)s"),
    _l("You have been signed out. Reload the page and sign in to continue."),
    _l("The page expired. Reload it to continue the import."),
    _l("This import is no longer available to you."),
    _l("The server couldn't process the next rows. Press Resume to try again."),
    _l("The connection was lost. Press Resume to try again."),
    _l("Import continues."),
    _l("Import paused: %(status)s"),
    _l("Importing: %(status)s"),
)


def script_texts() -> dict[str, str]:
    """Return the scripts' texts in the current language (none in English, the source)."""
    if current_locale() == LOCALES[0]:
        return {}
    return {text._args[0]: str(text) for text in SCRIPT_TEXTS}


def init_app(app: Flask) -> None:
    """Read the catalogues shipped with the package; make the helpers available to templates."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.add_extension("jinja2.ext.do")
    for name, helper in _FILTERS.items():
        app.add_template_filter(helper, name)
    app.context_processor(
        lambda: {
            "current_locale": current_locale(),
            "locales": [(code, locale_name(code)) for code in LOCALES],
            "script_texts": script_texts,
        }
    )


@contextmanager
def speaking(locale: str | None) -> Iterator[None]:
    """Speak ``locale`` (a person's language; unsupported or empty: the default) meanwhile."""
    chosen = supported(locale) or config.current().default_locale
    with force_locale(chosen):
        yield


def current_locale() -> str:
    """Return the language code being spoken ("en", "de")."""
    try:
        return str(get_locale() or config.current().default_locale)
    except RuntimeError:  # no application context at all
        return LOCALES[0]


def locale_name(code: str) -> str:
    """Return a language's own name ("Deutsch", "English"), for the switch."""
    return (Locale.parse(code).get_display_name(code) or code).capitalize()


def _zone() -> ZoneInfo:
    return ZoneInfo(select_timezone())


def date_text(value: date | datetime | None, format: str = "medium") -> str:
    """Format a date ("24.11.2026", "Nov 24, 2026"); a datetime is shown in the viewer's zone."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(_zone()).date() if value.tzinfo else value.date()
    return _format_date(value, format)


def datetime_text(value: datetime | None, format: str = "medium") -> str:
    """Format a moment in the viewer's locale and time zone ("24.11.2026, 14:30")."""
    if value is None:
        return "—"
    if format == "medium":  # without seconds: nobody reads them on a page
        pattern = _datetime_pattern()
        return _format_datetime(value, pattern)
    return _format_datetime(value, format)


def _datetime_pattern() -> str:
    locale = Locale.parse(current_locale())
    day = locale.date_formats["medium"].pattern
    clock = locale.time_formats["short"].pattern
    return str(locale.datetime_formats["medium"]).replace("{1}", day).replace("{0}", clock)


def time_text(value: datetime | None, format: str = "short") -> str:
    """Format a time of day in the viewer's zone ("14:30", "2:30 PM")."""
    if value is None:
        return "—"
    return _format_time(value, format)


def relative_text(value: datetime | None, now: datetime | None = None) -> str:
    """Say how long ago or how far ahead a moment is ("vor 12 Minuten", "in 3 hours")."""
    if value is None:
        return "—"
    delta = value - (now or utcnow())
    if abs(delta) < timedelta(seconds=45):
        return gettext("just now")
    return babel_dates.format_timedelta(
        delta, threshold=0.9, add_direction=True, format="long", locale=current_locale()
    )


def when_text(value: datetime | None, now: datetime | None = None) -> str:
    """Say when something happened for a list: relative within a month ("vor 3 Tagen"), else
    the date ("24.11.2026")."""
    if value is None:
        return "—"
    if abs(value - (now or utcnow())) < timedelta(days=30):
        return relative_text(value, now)
    return date_text(value)


def number_text(value: int | float | Decimal | None) -> str:
    """Format a number with the locale's grouping and decimal signs ("1.234,5")."""
    if value is None:
        return "—"
    return _format_decimal(value)


def decimal_text(value: int | float | Decimal | None, places: int = 1) -> str:
    """Format a number with a fixed number of decimal places ("0,5")."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return _format_decimal(value, format=pattern)


def percent_text(value: float | None, places: int = 0) -> str:
    """Format a share (0.125) as a percentage in the locale ("12,5 %")."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * places if places else "") + "%"
    return _format_percent(value, format=pattern)


def money_text(
    value: int | float | Decimal | None, currency: str | None = None, *, whole: bool = True
) -> str:
    """Format an amount of money in the configured currency ("1.234 €", "€1,234"); ``whole``
    drops the cents, as estimates do not have them."""
    if value is None:
        return "—"
    code = currency or config.current().reports.currency
    if not whole:
        return _format_currency(value, code)
    pattern = Locale.parse(current_locale()).currency_formats["standard"].pattern
    pattern = pattern.split(";")[0].replace(".00", "")
    return _format_currency(round(value), code, format=pattern, currency_digits=False)


def weekday_text(day: int, width: str = "abbreviated") -> str:
    """Return a weekday's name in the locale (0 is Monday): "Mo.", "Mon", "Montag"."""
    return str(Locale.parse(current_locale()).days["format"][width][day])


def month_day_text(value: date) -> str:
    """Format a day without its year ("24. Nov.", "Nov 24")."""
    return _format_date(value, _skeleton("MMMd"))


def date_range_text(first: date, last: date) -> str:
    """Format a range of days as the locale writes it ("Oct 1 - 10, 2026", "1.-10. Okt. 2026",
    with en dashes); one day is that day ("Oct 1, 2026")."""
    if first == last:
        return _format_date(last, "medium")
    return str(babel_dates.format_interval(first, last, "yMMMd", locale=current_locale()))


def _skeleton(name: str) -> str:
    locale = Locale.parse(current_locale())
    skeletons = locale.datetime_skeletons
    return str(skeletons[name].pattern) if name in skeletons else name


_FILTERS: dict[str, Any] = {
    "date_text": date_text,
    "datetime_text": datetime_text,
    "time_text": time_text,
    "relative_text": relative_text,
    "when_text": when_text,
    "number_text": number_text,
    "decimal_text": decimal_text,
    "percent_text": percent_text,
    "money_text": money_text,
    "weekday_text": weekday_text,
    "month_day_text": month_day_text,
    "date_range_text": date_range_text,
}


def set_request_locale(code: str) -> None:
    """Speak ``code`` for the rest of this request (the switch was just used)."""
    from flask_babel import refresh

    g.contentfeed_locale = code
    refresh()


def remember_choice(response: Any, code: str) -> None:
    """Keep a visitor's language choice in a cookie for a year."""
    secure = config.current().sign_in.cookie_secure
    response.set_cookie(
        LOCALE_COOKIE, code, max_age=_ONE_YEAR, samesite="Lax", secure=secure, httponly=True
    )
