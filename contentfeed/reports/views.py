"""Marketer dashboard pages: content, campaigns, topics and kinds, with charts and CSV."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from contentfeed import config, db, i18n, sheets
from contentfeed.accounts import access
from contentfeed.accounts.access import Role, User
from contentfeed.errors import Invalid
from contentfeed.i18n import _, _l, ngettext
from contentfeed.leads.attribution import MODELS
from contentfeed.reports import campaigns, charts, funnel
from contentfeed.reports import content as report
from contentfeed.reports.period import Period, parse_period
from contentfeed.ui import Page, page_number, sort_params, url_with, viewer_zone

bp = Blueprint("reports", __name__)

VIEWERS = (Role.ADMIN, Role.MARKETER)
QUICK_RANGES = (7, 30, 90)
TOP_BARS = 10
# The charts of the most-clicked rows, per grouping (lazy: said in the request's language).
TOP_TITLES = {
    "item": _l("Top content items by clicks"),
    "campaign": _l("Top campaigns by clicks"),
    "topic": _l("Top topics by clicks"),
    "kind": _l("Top kinds by clicks"),
}
TOP_EMPTY = {
    "item": _l(
        "No clicks in this period yet. Once sellers share posts, the most-clicked content items "
        "show here."
    ),
    "campaign": _l(
        "No clicks in this period yet. Once sellers share posts, the most-clicked campaigns "
        "show here."
    ),
    "topic": _l(
        "No clicks in this period yet. Once sellers share posts, the most-clicked topics show here."
    ),
    "kind": _l(
        "No clicks in this period yet. Once sellers share posts, the most-clicked kinds show here."
    ),
}
BY_GROUP = {
    "item": _l("By content item"),
    "campaign": _l("By campaign"),
    "topic": _l("By topic"),
    "kind": _l("By kind"),
}
# The attribution models by name, and as a sentence says them ("leads by last touch").
MODEL_NAMES = {
    "first_touch": _l("First touch"),
    "last_touch": _l("Last touch"),
    "linear": _l("Linear"),
    "u_shaped": _l("U-shaped (40/20/40)"),
    "time_decay": _l("Time decay"),
}
MODEL_IN_TEXT = {
    "first_touch": _l("first touch"),
    "last_touch": _l("last touch"),
    "linear": _l("linear"),
    "u_shaped": _l("u-shaped (40/20/40)"),
    "time_decay": _l("time decay"),
}


# --- formatting shared by the pages --------------------------------------------------------


# Figures in the viewer's language: "1,234.5" and "$35", or "1.234,5" and "35 €".


def _count(value: float) -> str:
    return i18n.number_text(round(value))


def _credit(value: float, is_whole: bool) -> str:
    return i18n.number_text(round(value)) if is_whole else i18n.decimal_text(value, 1)


def _csv_credit(value: float, is_whole: bool) -> str:
    """A lead credit in a CSV cell: a machine number (2.5), whatever the viewer's language."""
    return str(round(value)) if is_whole else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return i18n.percent_text(value, 1)


def _ratio(value: float | None) -> str:
    return i18n.decimal_text(value, 1)


def _money(value: float, currency: str) -> str:
    return i18n.money_text(value, currency)


def period_text(period: Period) -> str:
    """Return a period as the viewer's language writes it: "Oct 1 - 10, 2026" or
    "1.-10. Okt. 2026" (with en dashes)."""
    return i18n.date_range_text(period.first, period.last)


@bp.context_processor
def _report_helpers() -> dict[str, Any]:
    return {
        "fmt_count": _count,
        "fmt_credit": _credit,
        "fmt_percent": _percent,
        "fmt_ratio": _ratio,
        "fmt_money": _money,
        "period_text": period_text,
        "model_labels": MODEL_NAMES,
        "model_in_text": MODEL_IN_TEXT,
        "top_titles": TOP_TITLES,
        "top_empty": TOP_EMPTY,
        "by_group": BY_GROUP,
        "models": MODELS,
        "groups": report.GROUPS,
    }


# --- request parsing ---------------------------------------------------------------------


def _viewer() -> User:
    viewer: User = current_user._get_current_object()
    return viewer


def _today() -> date:
    return datetime.now(viewer_zone()).date()


def _model() -> str:
    model = request.args.get("model", funnel.DEFAULT_MODEL)
    return model if model in MODELS else funnel.DEFAULT_MODEL


def _group() -> str:
    group = request.args.get("group", "item")
    return group if group in report.GROUPS else "item"


def _quick_links(period: Period | None) -> list[tuple[str, str, bool]]:
    """Return (label, url, is_current) for the last 7, 30 and 90 days."""
    today = _today()
    links = []
    keep = {k: v for k, v in request.args.items() if k in ("model", "group", "sort", "dir")}
    for days in QUICK_RANGES:
        first = today - timedelta(days=days - 1)
        is_current = period is not None and (period.first, period.last) == (first, today)
        assert request.endpoint is not None
        values: dict[str, Any] = {
            **(request.view_args or {}),
            **keep,
            "from": first.isoformat(),
            "to": today.isoformat(),
        }
        url = url_for(request.endpoint, **values)
        links.append((_("Last %(days)s days", days=days), url, is_current))
    return links


def _estimates() -> funnel.Estimates:
    return config.current().reports


def _invalid_page(template: str, error: Invalid, **context: Any) -> ResponseReturnValue:
    """Show the filters again with what is wrong with them (422), and no figures."""
    return (
        render_template(
            template,
            error=error,
            period=None,
            model=_model(),
            group=_group(),
            args=request.args,
            quick_links=_quick_links(None),
            **context,
        ),
        422,
    )


def _daily_chart(points: Sequence[funnel.DayPoint], is_whole: bool) -> Markup:
    total_clicks = sum(p.clicks for p in points)
    total_leads = sum(p.leads for p in points)
    days = [p.day for p in points]
    series = [
        charts.Series(_("Clicks"), [p.clicks for p in points], "left", "solid"),
        charts.Series(_("Leads"), [p.leads for p in points], "right", "dashed", is_whole),
    ]
    title = _("Clicks and leads per day")
    description = _(
        "Human clicks (solid line, circles, left axis; %(clicks)s in all) and attributed leads "
        "(dashed line, squares, right axis; %(leads)s in all) for each day of the period.",
        clicks=_count(total_clicks),
        leads=_credit(total_leads, is_whole),
    )
    # Two drawings, CSS shows one: the narrow one keeps its text legible on a phone.
    wide = charts.line_chart(
        days, series, title=title, description=description, css_class="chart--wide"
    )
    narrow = charts.line_chart(
        days,
        series,
        title=title,
        description=description,
        width=charts.NARROW_WIDTH,
        height=charts.NARROW_HEIGHT,
        max_ticks=4,
        css_class="chart--narrow",
    )
    return wide + narrow


def _bar_chart(rows: Iterable[funnel.Row], group: str) -> tuple[Markup, list[funnel.Row]]:
    top = [r for r in funnel.sort_rows(list(rows), "clicks", True) if r.figures.clicks][:TOP_BARS]
    chart = charts.bar_chart(
        [(r.label, float(r.figures.clicks)) for r in top],
        title=str(TOP_TITLES[group]),
        description=", ".join(
            ngettext(
                "%(label)s: %(count)s click",
                "%(label)s: %(count)s clicks",
                r.figures.clicks,
                label=r.label,
                count=_count(r.figures.clicks),
            )
            for r in top
        )
        or _("No clicks in this period."),
    )
    return chart, top


def _sort() -> tuple[str, str]:
    """The table's sort: figures most first, names A to Z, unless the query says otherwise."""
    return sort_params(
        set(funnel.SORTS), funnel.DEFAULT_SORT, descending_first=funnel.SORTS.keys() - {"label"}
    )


def _direction(descending: bool) -> str:
    return "desc" if descending else "asc"


def _page_of(rows: list[funnel.Row]) -> tuple[list[funnel.Row], Page]:
    """The rows of the page asked for, and the pager."""
    per_page = config.current().page_size
    page = Page(page_number(), per_page, len(rows), _page_url)
    return rows[page.offset : page.offset + per_page], page


def _url(endpoint: str, **extra: Any) -> str:
    """Return another report URL with the current filters (period, model, grouping, sort)."""
    values: dict[str, Any] = {**request.args.to_dict(), **extra}
    values.pop("page", None)
    return url_for(endpoint, **values)


def _page_url(number: int) -> str:
    return url_with(page=number)


# --- the dashboard -------------------------------------------------------------------------


def _dashboard_input(period: Period) -> report.DashboardInput:
    """The dashboard's filters as the report asks for them (unknown values: the defaults)."""
    sort, direction = _sort()
    return report.DashboardInput(
        period=period, group=_group(), model=_model(), sort=sort, descending=direction == "desc"
    )


def _campaign_input(period: Period, campaign_id: int) -> campaigns.CampaignInput:
    sort, direction = _sort()
    return campaigns.CampaignInput(
        period=period,
        campaign_id=campaign_id,
        model=_model(),
        sort=sort,
        descending=direction == "desc",
    )


@bp.get("/reports")
@access.require_role(*VIEWERS)
def dashboard() -> ResponseReturnValue:
    """Show content figures for a period, grouped, with charts, totals and the comparison."""
    try:
        period = parse_period(request.args, viewer_zone(), _today())
    except Invalid as error:
        return _invalid_page("reports/dashboard.html", error)
    ask = _dashboard_input(period)
    result = report.show_dashboard(db.session(), _viewer(), ask, _estimates())
    rows, page = _page_of(result.rows)
    bars, top = _bar_chart(result.rows, ask.group)
    return render_template(
        "reports/dashboard.html",
        error=None,
        period=period,
        model=result.model,
        group=ask.group,
        args=request.args,
        quick_links=_quick_links(period),
        report=result,
        rows=rows,
        page=page,
        sort=ask.sort,
        direction=_direction(ask.descending),
        daily_chart=_daily_chart(result.daily, result.is_whole),
        bar_chart=bars,
        top_rows=top,
        csv_url=_url("reports.dashboard_csv"),
    )


@bp.get("/reports.csv")
@access.require_role(*VIEWERS)
def dashboard_csv() -> ResponseReturnValue:
    """Download the dashboard's table (all rows, the chosen grouping) as CSV."""
    try:
        period = parse_period(request.args, viewer_zone(), _today())
    except Invalid as error:
        return _csv_error(error)
    ask = _dashboard_input(period)
    rows, total = report.dashboard_table(db.session(), _viewer(), ask, _estimates())
    lines = _table_lines(report.GROUPS[ask.group], rows, total, ask.model)
    return _csv_response(lines, f"contentfeed-content-by-{ask.group}", period)


def _table_lines(
    first: str, rows: list[funnel.Row], total: funnel.Figures, model: str
) -> list[list[object]]:
    """A report table as CSV lines, in the order given, with its total row."""
    is_whole = model in funnel.WHOLE_MODELS
    lines: list[list[object]] = [[str(first), *(str(name) for name in funnel.CSV_HEADER)]]
    lines += [[row.label, *funnel.figure_cells(row.figures, is_whole)] for row in rows]
    lines.append([_("Total"), *funnel.figure_cells(total, is_whole)])
    return lines


# --- a campaign's drill-down ---------------------------------------------------------------


@bp.get("/reports/campaigns/<int:campaign_id>")
@access.require_role(*VIEWERS)
def campaign(campaign_id: int) -> ResponseReturnValue:
    """Show a campaign's items with their figures, and per item the sellers who posted it."""
    s = db.session()
    try:
        period = parse_period(request.args, viewer_zone(), _today())
    except Invalid as error:
        name = campaigns.campaign_label(s, campaign_id)
        return _invalid_page(
            "reports/campaign.html", error, campaign_id=campaign_id, campaign_name=name
        )
    ask = _campaign_input(period, campaign_id)
    result = campaigns.show_campaign(s, _viewer(), ask, _estimates())
    rows, page = _page_of(result.items)
    bars, top = _bar_chart(result.items, "item")
    return render_template(
        "reports/campaign.html",
        error=None,
        period=period,
        model=result.model,
        group="item",
        args=request.args,
        quick_links=_quick_links(period),
        report=result,
        campaign_id=campaign_id,
        campaign_name=result.campaign_name,
        rows=rows,
        all_rows=result.items,
        page=page,
        sort=ask.sort,
        direction=_direction(ask.descending),
        daily_chart=_daily_chart(result.daily, result.is_whole),
        bar_chart=bars,
        top_rows=top,
        csv_url=_url("reports.campaign_csv", campaign_id=campaign_id),
        sellers_csv_url=_url("reports.campaign_csv", campaign_id=campaign_id, table="sellers"),
    )


@bp.get("/reports/campaigns/<int:campaign_id>.csv")
@access.require_role(*VIEWERS)
def campaign_csv(campaign_id: int) -> ResponseReturnValue:
    """Download a campaign's items (or, with table=sellers, who posted them) as CSV."""
    try:
        period = parse_period(request.args, viewer_zone(), _today())
    except Invalid as error:
        return _csv_error(error)
    s = db.session()
    ask = _campaign_input(period, campaign_id)
    if request.args.get("table") == "sellers":
        sellers = campaigns.campaign_sellers(s, _viewer(), ask)
        lines: list[list[object]] = [
            [
                _("Content item"),
                _("Seller"),
                _("Posted at"),
                _("Connections"),
                _("Clicks"),
                _("Leads"),
            ]
        ]
        zone = period.zone
        is_whole = ask.model in funnel.WHOLE_MODELS
        for content_id, posts in sellers.posts.items():
            for post in posts:
                posted = (
                    post.posted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                    if post.posted_at
                    else ""
                )
                lines.append(
                    [
                        sellers.titles.get(content_id, ""),
                        post.seller_name,
                        posted,
                        post.connections,
                        post.clicks,
                        _csv_credit(post.leads, is_whole),
                    ]
                )
        slug = _slug(sellers.campaign_name) or campaign_id
        return _csv_response(lines, f"contentfeed-campaign-{slug}-sellers", period)
    table = campaigns.campaign_table(s, _viewer(), ask, _estimates())
    lines = _table_lines(_("Content item"), table.rows, table.total, ask.model)
    slug = _slug(table.campaign_name) or campaign_id
    return _csv_response(lines, f"contentfeed-campaign-{slug}", period)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


# --- CSV -----------------------------------------------------------------------------------


def _csv_response(lines: list[list[object]], name: str, period: Period) -> Response:
    filename = f"{name}-{period.first.isoformat()}-to-{period.last.isoformat()}.csv"
    return sheets.csv_download(lines, filename)


def _csv_error(error: Invalid) -> ResponseReturnValue:
    details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
    return Response(f"{error.message} {details}".strip(), status=422, mimetype="text/plain")
