"""The funnel figures of a report row and how they are ordered and written out.

A row's counts (suggested, posted, clicks, lead credit, reach) and the rates and estimates
derived from them; the comparison with the previous period; the table's sort orders and
CSV cells. Shared by the content dashboard, the campaign drill-down, their CSV downloads
and the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from contentfeed.config import ReportSettings
from contentfeed.errors import Invalid
from contentfeed.i18n import _, _l, percent_text
from contentfeed.leads.attribution import MODELS

# How a lead's credit is shared out: the names of leads.attribution.MODELS, as a type the
# report inputs and the API validate against.
Model = Literal["first_touch", "last_touch", "linear", "u_shaped", "time_decay"]
DEFAULT_MODEL: Model = "last_touch"
# Under these models each lead's credit goes whole to one touch: counts are whole numbers.
# The estimates' rates ([reports] in config.toml), by the name the reports use.
Estimates = ReportSettings
WHOLE_MODELS = frozenset({"first_touch", "last_touch"})


def _ratio(part: float, whole: float, scale: float = 1.0) -> float | None:
    return part / whole * scale if whole else None


@dataclass
class Figures:
    """The funnel of one row: suggested → posted → clicks → leads → qualified → converted."""

    suggested: int = 0
    posted: int = 0
    verified: int = 0  # of the posted, those whose LinkedIn post the seller named
    clicks: int = 0
    leads: float = 0.0
    qualified: float = 0.0
    converted: float = 0.0
    reach: int = 0
    impressions: float = 0.0  # estimate: reach x impression rate
    emv: float = 0.0  # estimate: impressions x CPM / 1000 + clicks x CPC

    @property
    def post_rate(self) -> float | None:
        """Posted per suggested (None when nothing was suggested)."""
        return _ratio(self.posted, self.suggested)

    @property
    def clicks_per_post(self) -> float | None:
        """Human clicks per post."""
        return _ratio(self.clicks, self.posted)

    @property
    def leads_per_100_clicks(self) -> float | None:
        """Leads per hundred clicks."""
        return _ratio(self.leads, self.clicks, 100.0)

    @property
    def qualified_rate(self) -> float | None:
        """Qualified (or converted) per lead."""
        return _ratio(self.qualified, self.leads)

    @property
    def converted_rate(self) -> float | None:
        """Converted per qualified lead."""
        return _ratio(self.converted, self.qualified)

    def add(self, other: Figures) -> None:
        """Add another row's counts to this one."""
        self.suggested += other.suggested
        self.posted += other.posted
        self.verified += other.verified
        self.clicks += other.clicks
        self.leads += other.leads
        self.qualified += other.qualified
        self.converted += other.converted
        self.reach += other.reach
        self.impressions += other.impressions
        self.emv += other.emv

    def estimate(self, estimates: Estimates) -> Figures:
        """Fill in the estimated impressions and earned media value; return self."""
        self.impressions = self.reach * estimates.impression_rate
        self.emv = self.impressions * estimates.cpm / 1000 + self.clicks * estimates.cpc
        return self


@dataclass(frozen=True)
class FunnelStep:
    """One step of the funnel from post to customer, and how many of the step before made it."""

    key: str  # posts, clicks, leads, converted, customers (stable: the API's names)
    label: str
    count: int
    rate: float | None  # this step per the one before (None for the first, or after a 0)


# Lazy: the steps are named in the request's language.
CUSTOMER_STEPS = {
    "posts": _l("Posts"),
    "clicks": _l("Clicks"),
    "leads": _l("Leads"),
    "converted": _l("Converted leads"),
    "customers": _l("New customers"),
}


@dataclass(frozen=True)
class CustomerFunnel:
    """The revenue-free funnel after the content one: sellers' posts → human clicks → the
    leads they brought → those converted → accounts that became customers in the period
    (``customers_from_posts``: of them, those whose handover names the post that started it).

    Each count is of its own period (a lead of the period may come from an older post), so
    a rate over 100 % is possible and honest."""

    posts: int
    clicks: int
    leads: int
    converted: int
    customers: int
    customers_from_posts: int

    @property
    def steps(self) -> list[FunnelStep]:
        """Return the steps in order, each with its rate from the step before."""
        steps: list[FunnelStep] = []
        before: int | None = None
        for key, label in CUSTOMER_STEPS.items():
            count = int(getattr(self, key))
            rate = None if before is None else _ratio(count, before)
            steps.append(FunnelStep(key, str(label), count, rate))
            before = count
        return steps


@dataclass
class Row:
    """One line of a report table."""

    key: str  # "item:12", "campaign:3", "campaign:none", "topic:cloud", "kind:video"
    label: str
    figures: Figures
    detail: str = ""  # a second line: an item's campaign and kind
    content_id: int | None = None
    campaign_id: int | None = None


@dataclass(frozen=True)
class DayPoint:
    """Human clicks and lead credit on one viewer-zone day."""

    day: date
    clicks: int
    leads: float


@dataclass(frozen=True)
class Change:
    """How a figure moved against the previous period."""

    current: float
    previous: float

    @property
    def percent(self) -> float | None:
        """The change in percent, None when the previous period had nothing."""
        return _ratio(self.current - self.previous, self.previous, 100.0)

    @property
    def direction(self) -> str:
        """'up', 'down' or 'same'."""
        if abs(self.current - self.previous) < 1e-9:
            return "same"
        return "up" if self.current > self.previous else "down"

    @property
    def text(self) -> str:
        """The change in words, with an arrow that does not rely on colour."""
        if self.direction == "same":
            return _("no change")
        pct = self.percent
        if pct is None:
            return _("▲ new this period")
        if pct > 0:
            return _("▲ up %(percent)s", percent=percent_text(abs(pct) / 100))
        return _("▼ down %(percent)s", percent=percent_text(abs(pct) / 100))


class Compared:
    """What a report with totals now and before offers its page: whole-number leads or not,
    and each total's change (for report dataclasses that have these three fields)."""

    model: str
    total: Figures
    previous_total: Figures

    @property
    def is_whole(self) -> bool:
        """Tell whether lead figures are whole numbers (first or last touch)."""
        return self.model in WHOLE_MODELS

    def change(self, name: str) -> Change:
        """Compare one total (an attribute of Figures) with the previous period."""
        return Change(
            float(getattr(self.total, name) or 0), float(getattr(self.previous_total, name) or 0)
        )


def check_model(model: str) -> str:
    """Return the attribution model name, or raise Invalid for an unknown one."""
    if model not in MODELS:
        raise Invalid(_("Pick an attribution model from the list."), {"model": _("unknown model")})
    return model


# --- sorting and the table's columns ---------------------------------------------------------

SORTS: dict[str, Callable[[Row], Any]] = {
    "label": lambda r: r.label.lower(),
    "suggested": lambda r: r.figures.suggested,
    "posted": lambda r: r.figures.posted,
    "verified": lambda r: r.figures.verified,
    "post_rate": lambda r: r.figures.post_rate or 0.0,
    "clicks": lambda r: r.figures.clicks,
    "leads": lambda r: r.figures.leads,
    "qualified": lambda r: r.figures.qualified,
    "converted": lambda r: r.figures.converted,
    "reach": lambda r: r.figures.reach,
    "emv": lambda r: r.figures.emv,
}
DEFAULT_SORT = "clicks"


def sort_rows(rows: list[Row], sort: str, descending: bool) -> list[Row]:
    """Return rows ordered by a column (ties by label), unknown columns by clicks."""
    key = SORTS.get(sort, SORTS[DEFAULT_SORT])
    by_label = sorted(rows, key=lambda r: r.label.lower())
    return sorted(by_label, key=key, reverse=descending)


# Lazy: a download's header speaks the language of the person downloading it.
CSV_HEADER = [
    _l("Suggested"),
    _l("Posted"),
    _l("Verified"),
    _l("Post rate %"),
    _l("Clicks"),
    _l("Clicks per post"),
    _l("Leads"),
    _l("Leads per 100 clicks"),
    _l("Qualified"),
    _l("Qualified %"),
    _l("Converted"),
    _l("Converted %"),
    _l("Reach (estimate)"),
    _l("Impressions (estimate)"),
    _l("EMV (estimate)"),
]


def _number(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:.{decimals}f}"


def figure_cells(f: Figures, is_whole: bool) -> list[str]:
    """Return a row's figures as CSV cells, in CSV_HEADER order, rounded as the table shows."""
    lead_decimals = 0 if is_whole else 1
    pct = 100.0
    return [
        str(f.suggested),
        str(f.posted),
        str(f.verified),
        _number(None if f.post_rate is None else f.post_rate * pct, 1),
        str(f.clicks),
        _number(f.clicks_per_post, 1),
        _number(f.leads, lead_decimals),
        _number(f.leads_per_100_clicks, 1),
        _number(f.qualified, lead_decimals),
        _number(None if f.qualified_rate is None else f.qualified_rate * pct, 1),
        _number(f.converted, lead_decimals),
        _number(None if f.converted_rate is None else f.converted_rate * pct, 1),
        str(f.reach),
        _number(f.impressions, 0),
        _number(f.emv, 2),
    ]
