"""What every page shares: navigation by role, pagination, sorting, times in the viewer's zone."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.routing import IntegerConverter, Map

from contentfeed import config, i18n
from contentfeed.accounts.models import Role
from contentfeed.db import MAX_ID, MAX_PAGE
from contentfeed.errors import Invalid
from contentfeed.i18n import _, _l


@dataclass(frozen=True)
class NavEntry:
    """One navigation entry: where it leads, who sees it, and which pages belong to it (an
    endpoint, or a prefix such as "leads." for a whole blueprint); the entry is marked
    current on every page of its section, not only on its own."""

    label: Any  # a lazy text: said in each request's language
    endpoint: str
    roles: tuple[Role, ...]
    section: tuple[str, ...] = ()
    group: Any = ""  # entries of a group share one menu in the header ("Admin")


ADMIN_GROUP = _l("Admin")
# Entries whose endpoint is not registered yet are left out, so a domain's page appears in
# the navigation the moment its blueprint exists.
NAVIGATION: list[NavEntry] = [
    NavEntry(_l("Home"), "accounts.home", tuple(Role)),
    NavEntry(
        _l("Library"),
        "content.library",
        (Role.ADMIN, Role.MARKETER, Role.CONTRIBUTOR),
        (
            "content.detail",
            "content.edit",
            "content.new",
            "content.preview",
            "content.variant_",
            "content_import.",
        ),
    ),
    NavEntry(
        _l("Campaigns"), "content.campaigns", (Role.ADMIN, Role.MARKETER), ("content.campaign_",)
    ),
    NavEntry(_l("Feed"), "suggestions.feed", (Role.SELLER,)),
    NavEntry(_l("History"), "suggestions.history", (Role.SELLER,)),
    NavEntry(_l("Profile"), "accounts.profile", (Role.SELLER,)),
    NavEntry(_l("Queue"), "routing.queue", (Role.REP, Role.ADMIN), ("routing.",)),
    NavEntry(_l("Customers"), "customers.index", (Role.REP, Role.ADMIN), ("customers.",)),
    NavEntry(
        _l("Leads"),
        "leads.index",
        (Role.ADMIN, Role.MARKETER, Role.REP),
        ("leads.detail", "gated.privacy"),  # personal data: export and erase a person
    ),
    NavEntry(
        _l("Reports"),
        "reports.dashboard",
        (Role.ADMIN, Role.MARKETER),
        ("reports.", "reports_people.", "reports_customers."),
    ),
    NavEntry(_l("Leaderboard"), "reports_people.leaderboard", (Role.SELLER,), ("reports_people.",)),
    NavEntry(
        _l("Reports"),
        "reports_people.sales",
        (Role.REP,),
        ("reports_people.", "reports_customers."),
    ),
    NavEntry(_l("Routing"), "routing_admin.rules", (Role.ADMIN,), ("routing_admin.",), ADMIN_GROUP),
    NavEntry(
        _l("Users"),
        "accounts.users",
        (Role.ADMIN,),
        ("accounts.user_", "accounts.sellers_import"),
        ADMIN_GROUP,
    ),
    NavEntry(_l("Teams"), "accounts.teams", (Role.ADMIN,), ("accounts.team_",), ADMIN_GROUP),
    NavEntry(
        _l("Webhook secrets"), "leads.secrets", (Role.ADMIN,), ("leads.secret_",), ADMIN_GROUP
    ),
    NavEntry(
        _l("Failed events"),
        "leads.events",
        (Role.ADMIN,),
        ("leads.event_", "crm.events", "crm.event_"),
        ADMIN_GROUP,
    ),
    NavEntry(_l("API tokens"), "accounts.tokens", (Role.ADMIN,), ("accounts.token_",), ADMIN_GROUP),
    NavEntry(
        _l("Sent email"),
        "accounts.sent_emails",
        (Role.ADMIN,),
        ("accounts.sent_email",),
        ADMIN_GROUP,
    ),
]


@dataclass(frozen=True)
class NavItem:
    """A link in the header, or (with children) a group of links under one label."""

    label: str
    url: str
    is_active: bool
    children: tuple[NavItem, ...] = ()


def _is_current(entry: NavEntry, endpoint: str) -> bool:
    return endpoint == entry.endpoint or any(
        endpoint == page or (page.endswith((".", "_")) and endpoint.startswith(page))
        for page in entry.section
    )


def nav_items() -> list[NavItem]:
    """Return the navigation the signed-in user's role may use; the entries of a group
    (listed together in NAVIGATION) come as one item with children."""
    if not current_user.is_authenticated:
        return []
    endpoint = request.endpoint or ""
    entries = [
        entry
        for entry in NAVIGATION
        if entry.endpoint in current_app.view_functions and current_user.role in entry.roles
    ]
    items: list[NavItem] = []
    for group, members in groupby(entries, key=lambda entry: str(entry.group)):
        links = [
            NavItem(str(entry.label), url_for(entry.endpoint), _is_current(entry, endpoint))
            for entry in members
        ]
        if group:
            items.append(NavItem(group, "", any(link.is_active for link in links), tuple(links)))
        else:
            items.extend(links)
    return items


@dataclass(frozen=True)
class Page:
    """One page of a listing, with what the pagination macro needs."""

    number: int
    per_page: int
    total: int
    url_for_page: Callable[[int], str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else self.offset + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.offset + self.per_page)


def digits_up_to(limit: int) -> str:
    """Return a regex matching the decimal numbers from 0 to ``limit``, and no larger one."""
    text = str(limit)
    choices = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(text) - i - 1
            choices.append(f"{text[:i]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    choices.append(text)
    return "(?:" + "|".join(choices) + ")"


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route, pages and API: a number larger than any id matches no
    route, so it answers 404 like any other id no row has.

    The bound is in the pattern, not in ``max``: werkzeug checks a rule's methods before
    converting, so a failed conversion on a path with rules per method would answer 405.
    """

    regex = digits_up_to(MAX_ID)

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def _number(raw: str) -> int | None:
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 20 else None


def page_number() -> int:
    """Return the requested page number (1 when absent or malformed); refuse one beyond any
    listing's end with a 422."""
    raw = request.args.get("page", "1").strip()
    number = _number(raw)
    if number is not None and number > MAX_PAGE:
        message = _("Page numbers go up to %(most)s.", most=i18n.number_text(MAX_PAGE))
        raise Invalid(message, {"page": message})
    return max(1, number or 1)


def query_id(name: str) -> int | None:
    """Return an id from the query string, or None when it is absent, malformed or larger
    than any id (the page then leaves that filter off, as it always did for a malformed one)."""
    number = _number(request.args.get(name, "").strip())
    return number if number is not None and 1 <= number <= MAX_ID else None


def url_with(**changes: Any) -> str:
    """Return the current page's URL with some query parameters changed."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = str(value)
    assert request.endpoint is not None
    values: dict[str, Any] = {**(request.view_args or {}), **args}
    return url_for(request.endpoint, **values)


def sort_params(
    allowed: set[str], default: str, *, descending_first: AbstractSet[str] = frozenset()
) -> tuple[str, str]:
    """Return (sort key, 'asc' | 'desc') from the query string, limited to allowed keys.

    Without a ``dir`` (the default order, or a column header just clicked: see the
    sort_header macro) columns in ``descending_first`` sort most/newest first, others A to Z.
    """
    sort = request.args.get("sort", default)
    sort = sort if sort in allowed else default
    direction = request.args.get("dir") or ("desc" if sort in descending_first else "asc")
    return sort, ("desc" if direction == "desc" else "asc")


def viewer_zone() -> ZoneInfo:
    """Return the viewer's time zone: their own, else the company default."""
    name = getattr(current_user, "timezone", "") if current_user.is_authenticated else ""
    return ZoneInfo(name or config.current().default_timezone)


def localtime(value: datetime | None, format: str = "medium") -> str:
    """Format a UTC datetime in the viewer's locale and time zone ("date": the day only)."""
    if format == "date":
        return i18n.date_text(value)
    return i18n.datetime_text(value, format)


def sort_url(key: str, direction: str | None) -> str:
    """Return the current page's URL sorted by a column, back on page one (no direction: the
    column's own first order)."""
    return url_with(sort=key, dir=direction, page=None)


def weekday_name(day: int) -> str:
    """Return the short name of a weekday number in the viewer's language (0 is Monday)."""
    return i18n.weekday_text(day)


def _template_context() -> dict[str, Any]:
    try:
        items, zone = nav_items(), viewer_zone()
    except SQLAlchemyError:
        # The database is down and an error page is being drawn: show it without the user.
        items, zone = [], ZoneInfo(config.current().default_timezone)
    return {
        "nav_items": items,
        "url_with": url_with,
        "sort_url": sort_url,
        "now_hour": datetime.now(zone).hour,
        "settings": config.current(),
    }


def register(app: Flask) -> None:
    """Bound the ids routes accept; make navigation and helpers available to every template."""
    app.url_map.converters["int"] = IdConverter
    app.context_processor(_template_context)
    app.add_template_filter(localtime, "localtime")
