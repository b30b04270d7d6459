"""Report pages about people: the sellers' leaderboard, a seller's page, the sales view."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import RadioField
from wtforms.validators import InputRequired

from contentfeed import db, i18n, sheets
from contentfeed.accounts import access
from contentfeed.accounts.access import Role, User
from contentfeed.db import utcnow
from contentfeed.errors import Invalid
from contentfeed.forms import Form, options
from contentfeed.i18n import _, _l
from contentfeed.leads.attribution import model_label
from contentfeed.reports import measures, people
from contentfeed.reports import sales as sales_report
from contentfeed.reports.models import LEADERBOARD_LABELS, LeaderboardMode
from contentfeed.reports.period import Period, parse_period
from contentfeed.reports.views import MODEL_NAMES
from contentfeed.ui import Page, page_number, query_id, sort_params, url_with, viewer_zone

bp = Blueprint("reports_people", __name__)

STAFF = people.STAFF
LEADERBOARD_READERS = (Role.ADMIN, Role.MARKETER, Role.SELLER)
SALES_READERS = (Role.ADMIN, Role.MARKETER, Role.REP)
QUICK_DAYS = (7, 30, 90)
PER_PAGE = 50
SALES_TABLES = ("status", "speed", "sources", "attribution")


class LeaderboardForm(Form):
    """Choose what sellers see of the leaderboard."""

    leaderboard = RadioField(
        _l("Sellers see the leaderboard"),
        choices=options((mode.value, LEADERBOARD_LABELS[mode.value]) for mode in LeaderboardMode),
        validators=[InputRequired()],
        description=_l("Admins and marketers always see every seller's name and figures."),
    )


# --- period -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuickRange:
    label: str
    url: str
    is_current: bool


@dataclass(frozen=True)
class PeriodChoice:
    """What the period filter shows: the period read (or None when the dates were wrong)."""

    period: Period | None
    error: Invalid | None
    raw_from: str
    raw_to: str
    quick: list[QuickRange]


def _today() -> Any:
    return datetime.now(viewer_zone()).date()


def _read_period() -> PeriodChoice:
    today = _today()
    period: Period | None = None
    error: Invalid | None = None
    try:
        period = parse_period(request.args, viewer_zone(), today)
    except Invalid as refused:
        error = refused
    quick = []
    for days in QUICK_DAYS:
        first = today - timedelta(days=days - 1)
        is_current = period is not None and period.last == today and period.days == days
        url = url_with(page=None, **{"from": first.isoformat(), "to": today.isoformat()})
        quick.append(QuickRange(_("Last %(days)s days", days=days), url, is_current))
    shown = period.as_args() if period is not None else {}
    return PeriodChoice(
        period,
        error,
        request.args.get("from", shown.get("from", "")),
        request.args.get("to", shown.get("to", "")),
        quick,
    )


def _period_or_422(choice: PeriodChoice) -> Period:
    if choice.period is None:
        assert choice.error is not None
        raise choice.error
    return choice.period


def _csv(name: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Response:
    stamp = utcnow().strftime("%Y-%m-%d")
    return sheets.csv_download([header, *rows], f"contentfeed-{name}-{stamp}.csv")


def _args(period: Period, **more: Any) -> dict[str, Any]:
    """Return the query arguments that select the period again, plus others."""
    return {**period.as_args(), **more}


def _period_label(period: Period) -> str:
    """Say the period in the viewer's language: "Oct 1 - 30, 2026", "1.-30. Okt. 2026"."""
    return i18n.date_range_text(period.first, period.last)


# --- leaderboard --------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownRow(people.BoardRow):
    """A leaderboard row on the page, with the link to the seller's page."""

    period: Period | None = None

    @property
    def url(self) -> str | None:
        """The seller's page, built only for the rows a page shows (not all 10,000)."""
        if not self.linked or self.period is None:
            return None
        return url_for("reports_people.seller", **_args(self.period, seller_id=self.seller_id))


LEADERBOARD_SORTS: dict[str, Callable[[people.BoardRow], Any]] = {
    "rank": lambda r: r.rank,
    "name": lambda r: r.label.lower(),
    "posts": lambda r: r.figures.posts,
    "verified": lambda r: r.figures.verified,
    "clicks": lambda r: r.figures.clicks,
    "leads": lambda r: r.figures.leads,
    "qualified": lambda r: r.figures.qualified,
}


def _viewer() -> User:
    viewer: User = current_user._get_current_object()
    return viewer


def _team_arg(s: Any) -> tuple[int | None, list[tuple[int, str]]]:
    teams = people.list_teams(s)
    team_id = query_id("team")
    team_id = team_id if any(t == team_id for t, _name in teams) else None
    return team_id, teams


@bp.get("/reports/sellers")
@access.require_role(*LEADERBOARD_READERS)
def leaderboard() -> ResponseReturnValue:
    """Show the sellers ranked by what their posts brought in, per team or overall."""
    s = db.session()
    viewer = _viewer()
    try:
        seen = people.open_leaderboard(s, viewer)
    except people.LeaderboardOff:
        return render_template("reports/people_leaderboard_off.html", period=None)
    choice = _read_period()
    team_id, teams = _team_arg(s)
    context: dict[str, Any] = {
        "choice": choice,
        "teams": teams,
        "team_id": team_id,
        "mode": seen.mode,
        "is_staff": seen.is_staff,
    }
    if choice.period is None:
        return render_template("reports/people_leaderboard.html", **context), 422
    ask = people.LeaderboardInput(period=choice.period, team_id=team_id)
    shown = people.show_leaderboard(s, viewer, ask, seen)
    allowed = set(LEADERBOARD_SORTS) - ({"name"} if shown.anonymous else set())
    sort, direction = sort_params(
        allowed,
        "rank",
        descending_first=frozenset({"posts", "verified", "clicks", "leads", "qualified"}),
    )
    ordered = sorted(shown.rows, key=LEADERBOARD_SORTS[sort], reverse=direction == "desc")
    page = Page(page_number(), PER_PAGE, len(ordered), lambda n: url_with(page=n))
    best_leads = max((row.figures.leads for row in shown.rows), default=0.0)
    return render_template(
        "reports/people_leaderboard.html",
        **context,
        board=shown.board,
        period_label=_period_label(choice.period),
        rows=[
            ShownRow(**vars(row), period=choice.period)
            for row in ordered[page.offset : page.offset + page.per_page]
        ],
        page=page,
        sort=sort,
        direction=direction,
        anonymous=shown.anonymous,
        you=shown.you,
        best_leads=best_leads,
        format_credit=measures.show_credit,
        csv_url=url_for(
            "reports_people.leaderboard_csv",
            **_args(choice.period, **({"team": team_id} if team_id else {})),
        ),
    )


@bp.get("/reports/sellers.csv")
@access.require_role(*LEADERBOARD_READERS)
def leaderboard_csv() -> Response:
    """Download the leaderboard as this viewer sees it."""
    s = db.session()
    viewer = _viewer()
    try:
        seen = people.open_leaderboard(s, viewer)
    except people.LeaderboardOff:
        abort(404)
    period = _period_or_422(_read_period())
    team_id, _teams = _team_arg(s)
    ask = people.LeaderboardInput(period=period, team_id=team_id)
    shown = people.show_leaderboard(s, viewer, ask, seen)
    header = [_("Rank"), _("Seller"), *([] if shown.anonymous else [_("Team")])]
    header += [_("Posts"), _("Verified"), _("Clicks"), _("Leads"), _("Qualified")]
    body = [
        [
            row.rank,
            row.label,
            *([] if shown.anonymous else [row.team]),
            row.figures.posts,
            row.figures.verified,
            row.figures.clicks,
            measures.format_credit(row.figures.leads),
            measures.format_credit(row.figures.qualified),
        ]
        for row in shown.rows
    ]
    return _csv(f"leaderboard-{period.first}-{period.last}", header, body)


# --- one seller ---------------------------------------------------------------------------


@bp.get("/reports/sellers/<int:seller_id>")
@access.require_role(*STAFF, Role.SELLER)
def seller(seller_id: int) -> ResponseReturnValue:
    """Show one seller's totals and the posts behind them."""
    s, viewer = db.session(), _viewer()
    person = people.visible_seller(s, viewer, seller_id)
    choice = _read_period()
    context: dict[str, Any] = {"person": person, "choice": choice}
    if choice.period is None:
        return render_template("reports/people_seller.html", **context), 422
    report = people.show_seller(
        s, viewer, people.SellerInput(period=choice.period, seller_id=seller_id)
    )
    sort, direction = sort_params(
        set(people.POST_SORTS), "posted", descending_first=people.POST_SORTS.keys() - {"content"}
    )
    history = people.sort_posts(report.history, sort, direction == "desc")
    page = Page(page_number(), PER_PAGE, len(history), lambda n: url_with(page=n))
    return render_template(
        "reports/people_seller.html",
        **context,
        report=report,
        period_label=_period_label(choice.period),
        rows=history[page.offset : page.offset + page.per_page],
        page=page,
        sort=sort,
        direction=direction,
        format_credit=measures.show_credit,
        is_self=person.id == viewer.id,
        csv_url=url_for("reports_people.seller_csv", **_args(choice.period, seller_id=seller_id)),
    )


@bp.get("/reports/sellers/<int:seller_id>.csv")
@access.require_role(*STAFF, Role.SELLER)
def seller_csv(seller_id: int) -> Response:
    """Download one seller's post history with clicks and leads."""
    s, viewer = db.session(), _viewer()
    people.visible_seller(s, viewer, seller_id)  # a seller one may not see: 404 before 422
    period = _period_or_422(_read_period())
    report = people.show_seller(s, viewer, people.SellerInput(period=period, seller_id=seller_id))
    header = [
        _("Content"),
        _("Status"),
        _("Posted at (UTC)"),
        _("Verified post"),
        _("Clicks"),
        _("Leads"),
        _("Qualified"),
    ]
    body = [
        [
            row.title,
            row.status.label,
            row.posted_at.strftime("%Y-%m-%d %H:%M") if row.posted_at else "",
            row.post_url or "",
            row.clicks,
            measures.format_credit(row.leads),
            measures.format_credit(row.qualified),
        ]
        for row in report.history
    ]
    return _csv(f"seller-{seller_id}-{period.first}-{period.last}", header, body)


# --- settings -----------------------------------------------------------------------------


@bp.route("/admin/reports", methods=["GET", "POST"])
@access.require_role(Role.ADMIN)
def settings() -> ResponseReturnValue:
    """Let an admin switch the sellers' leaderboard on, to anonymous, or off."""
    s = db.session()
    form = LeaderboardForm()
    if request.method == "GET":
        form.leaderboard.data = people.leaderboard_mode(s).value
    elif form.validate_on_submit():
        data = people.LeaderboardSetting(leaderboard=LeaderboardMode(form.leaderboard.data))
        people.save_leaderboard_setting(s, _viewer(), data)
        flash(
            _(
                "Saved: the leaderboard for sellers is now “%(mode)s”.",
                mode=data.leaderboard.label,
            ),
            "success",
        )
        return redirect(url_for("reports_people.settings"))
    status = 422 if form.errors else 200
    return render_template("reports/people_settings.html", form=form), status


# --- sales --------------------------------------------------------------------------------


def _campaign_arg(s: Any) -> tuple[sales_report.CampaignChoice | None, list[tuple[int, str]]]:
    campaigns = sales_report.list_campaigns(s)
    return sales_report.find_campaign(s, query_id("campaign")), campaigns


def _by_arg() -> sales_report.CreditBy:
    return "content" if request.args.get("by") == "content" else "seller"


def _attribution(
    s: Any, period: Period, campaign: sales_report.CampaignChoice
) -> sales_report.CampaignAttribution:
    ask = sales_report.AttributionInput(period=period, campaign_id=campaign.id, by=_by_arg())
    return sales_report.show_attribution(s, _viewer(), ask)


@bp.get("/reports/sales")
@access.require_role(*SALES_READERS)
def sales() -> ResponseReturnValue:
    """Show leads per queue and status, SLA and speed, conversion by source, attribution."""
    s = db.session()
    choice = _read_period()
    campaign, campaigns = _campaign_arg(s)
    context: dict[str, Any] = {
        "choice": choice,
        "campaigns": campaigns,
        "campaign": campaign,
        "by": _by_arg(),
    }
    if choice.period is None:
        return render_template("reports/people_sales.html", **context), 422
    report = sales_report.show_sales(s, _viewer(), sales_report.SalesInput(period=choice.period))
    attribution = _attribution(s, choice.period, campaign) if campaign is not None else None
    return render_template(
        "reports/people_sales.html",
        **context,
        report=report,
        attribution=attribution,
        period_label=_period_label(choice.period),
        format_credit=measures.show_credit,
        format_duration=measures.show_duration,
        format_rate=measures.show_rate,
        model_label=_model_name,
        csv_url=lambda table: url_for(
            "reports_people.sales_csv", **{**request.args.to_dict(), "table": table}
        ),
    )


@bp.get("/reports/sales.csv")
@access.require_role(*SALES_READERS)
def sales_csv() -> Response:
    """Download one table of the sales view (``table``: status, speed, sources, attribution)."""
    s = db.session()
    period = _period_or_422(_read_period())
    table = request.args.get("table", "status")
    if table not in SALES_TABLES:
        raise Invalid(_("Pick a table to download."), {"table": ", ".join(SALES_TABLES)})
    name = f"sales-{table}-{period.first}-{period.last}"
    header: list[Any]
    body: list[list[Any]]
    if table == "attribution":
        campaign, _campaigns = _campaign_arg(s)
        if campaign is None:
            raise Invalid(_("Pick a campaign."), {"campaign": _("a campaign")})
        result = _attribution(s, period, campaign)
        header = [_("Seller") if result.by == "seller" else _("Content")]
        header += [_model_name(model) for model in result.models]
        body = [
            [row.label, *(measures.format_credit(row.credits[m]) for m in result.models)]
            for row in result.rows
        ]
        body.append([_("Total"), *(measures.format_credit(result.total(m)) for m in result.models)])
        return _csv(name, header, body)
    report = sales_report.show_sales(s, _viewer(), sales_report.SalesInput(period=period))
    if table == "status":
        header = [_("Queue"), *(status.label for status in report.statuses), _("Total")]
        body = [
            [row.queue, *(row.counts.get(st, 0) for st in report.statuses), row.total]
            for row in report.by_queue
        ]
        body.append(
            [_("Total"), *(report.status_total(st) for st in report.statuses), report.total]
        )
        return _csv(name, header, body)
    if table == "speed":
        header = [
            _("Queue"),
            _("SLA (minutes)"),
            _("Routed"),
            _("Met SLA"),
            _("Missed SLA"),
            _("Not yet due"),
            _("SLA compliance"),
            _("Claimed"),
            _("Median to claim (minutes)"),
            _("Contacted"),
            _("Median to first contact (minutes)"),
        ]
        body = [
            [
                row.queue,
                row.sla_minutes if row.sla_minutes is not None else "",
                row.routed,
                row.met,
                row.missed,
                row.pending,
                measures.format_rate(row.compliance),
                row.claimed,
                _minutes(row.median_claim_seconds),
                row.contacted,
                _minutes(row.median_contact_seconds),
            ]
            for row in report.speed
        ]
        return _csv(name, header, body)
    header = [
        _("Source"),
        _("Leads"),
        _("Qualified"),
        _("Converted"),
        _("Qualified rate"),
        _("Converted rate"),
    ]
    body = [
        [
            row.source,
            row.leads,
            row.qualified,
            row.converted,
            measures.format_rate(row.qualified_rate),
            measures.format_rate(row.converted_rate),
        ]
        for row in report.sources
    ]
    return _csv(name, header, body)


def _model_name(model: str) -> str:
    """Name an attribution model in the page's language."""
    return str(MODEL_NAMES.get(model, model_label(model)))


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"
