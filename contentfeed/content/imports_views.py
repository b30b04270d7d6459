"""Bulk import (CSV and JSON, with progress and a per-row report) and CSV export of the library."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.accounts.access import User
from contentfeed.content import imports, service
from contentfeed.db import utcnow
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import _, ngettext, number_text
from contentfeed.ui import Page, page_number, query_id, url_with, viewer_zone

bp = Blueprint("content_import", __name__, url_prefix="/library")

REPORT_TABS = ("refused", "imported")


def _user() -> User:
    return access.signed_in_user()


def _wants_json() -> bool:
    """Tell whether the page's script (not a plain form post) is asking."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _detail_url(content_id: int, *, external: bool = False) -> str | None:
    """Link to an item's page once that page exists."""
    if "content.detail" not in current_app.view_functions:
        return None
    return url_for("content.detail", content_id=content_id, _external=external)


def _attachment(filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


@bp.route("/import", methods=["GET", "POST"])
@access.require_role(*service.AUTHORS)
def start() -> ResponseReturnValue:
    """Explain the format, take a CSV or JSON file, and list the user's recent imports."""
    s = db.session()
    user = _user()
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("Choose a CSV or JSON file to import.")
        else:
            try:
                batch = imports.start_import(
                    s, filename=upload.filename, data=upload.read(), actor=user
                )
            except Invalid as exc:
                error = exc.fields.get("file", exc.message)
            else:
                message = ngettext(
                    "“%(name)s” is uploaded: %(rows)s row to import.",
                    "“%(name)s” is uploaded: %(rows)s rows to import.",
                    batch.total,
                    name=batch.filename,
                    rows=number_text(batch.total),
                )
                flash(message, "success")
                return redirect(url_for(".batch", batch_id=batch.id))
    library_url = (
        url_for("content.library") if "content.library" in current_app.view_functions else None
    )
    return render_template(
        "content_import/start.html",
        error=error,
        batches=imports.recent_batches(s, user),
        progress_of=imports.progress_of,
        columns=imports.COLUMN_HELP,
        max_rows=imports.MAX_ROWS,
        max_mb=config.current().library.upload_max_mb,
        zone=viewer_zone().key,
        library_url=library_url,
    ), 422 if error else 200


@bp.get("/import/<int:batch_id>")
@access.require_role(*service.AUTHORS)
def batch(batch_id: int) -> ResponseReturnValue:
    """Show an import's progress (driven by the page's script) and, once done, its report."""
    s = db.session()
    user = _user()
    found = imports.get_batch(s, batch_id, user)
    if request.args.get("format") == "csv":
        lines = imports.report_csv(
            s, found, lambda cid: _detail_url(cid, external=True) or str(cid)
        )
        return Response(
            stream_with_context(imports.streamed(s, lines)),
            mimetype="text/csv",
            headers=_attachment(f"contentfeed-import-{found.id}-report.csv"),
        )
    progress = imports.progress_of(found)
    report = imports.report_of(found)
    show = request.args.get("show", "")
    if show not in REPORT_TABS:
        show = "refused" if report.refused else "imported"
    outcomes = report.refused if show == "refused" else report.imported
    per_page = config.current().page_size
    number = page_number()
    page = Page(number, per_page, len(outcomes), lambda n: url_with(page=n, _anchor="report"))
    shown = outcomes[page.offset : page.offset + per_page]
    return render_template(
        "content_import/batch.html",
        batch=found,
        progress=progress,
        report=report,
        show=show,
        shown=shown,
        page=page,
        titles=imports.imported_titles(s, shown) if show == "imported" else {},
        detail_url=_detail_url,
        library_url=(
            url_for("content.library", status="draft")
            if "content.library" in current_app.view_functions
            else None
        ),
    )


def _importer_zone(author: User) -> ZoneInfo:
    """Dates without an offset mean the importer's time zone."""
    if author.id == _user().id:
        return viewer_zone()
    return ZoneInfo(author.timezone or config.current().default_timezone)


@bp.post("/import/<int:batch_id>/step")
@access.require_role(*service.AUTHORS)
def step(batch_id: int) -> ResponseReturnValue:
    """Process the next chunk of rows; answer progress JSON, or go back to the batch page."""
    s = db.session()
    user = _user()
    found = imports.get_batch(s, batch_id, user, for_update=True)
    author = imports.author_of(found, user)
    progress = imports.process_next_chunk(
        s,
        found,
        actor=author,
        rules=service.Compliance.of(config.current()),
        zone=_importer_zone(author),
        chunk_rows=config.current().library.import_chunk_rows,
    )
    # One step is one chunk: the request's boundary commits it (with the batch's progress,
    # which the page's next step and other requests read), so there is no commit per chunk.
    if _wants_json():
        return jsonify(progress.as_json())
    anchor = "report" if progress.is_finished else "progress"
    return redirect(url_for(".batch", batch_id=found.id, _anchor=anchor))


@bp.get("/import/template.<fmt>")
@access.require_role(*service.AUTHORS)
def template(fmt: str) -> ResponseReturnValue:
    """Download the import template: every column and two example rows."""
    if fmt not in ("csv", "json"):
        raise NotFound(_("Templates come as .csv or .json."))
    zone = viewer_zone()
    rows = imports.template_rows(db.session(), zone, datetime.now(zone).date())
    if fmt == "csv":
        body, mimetype = imports.template_csv(rows), "text/csv"
    else:
        body, mimetype = imports.template_json(rows), "application/json"
    return Response(
        body, mimetype=mimetype, headers=_attachment(f"contentfeed-import-template.{fmt}")
    )


@bp.get("/export.csv")
@access.require_role(*service.AUTHORS)
def export() -> ResponseReturnValue:
    """Download the library, filtered like the list, in the import's columns."""
    s = db.session()
    args = request.args
    status = args.get("status", "active")
    campaign_arg = args.get("campaign", "").strip()
    campaign_id = query_id("campaign")
    if campaign_id is None and campaign_arg:
        campaign = service.find_campaign(s, campaign_arg)
        campaign_id = campaign.id if campaign else -1
    query = service.LibraryQuery(
        q=args.get("q", "").strip(),
        status=status if status in service.STATUS_FILTERS else "active",
        campaign_id=campaign_id,
        topic=args.get("topic", "").strip(),
        language=args.get("language", "").strip(),
        kind=args.get("kind", ""),
    )
    zone = viewer_zone()
    lines = imports.export_csv(s, _user(), query, zone, utcnow())
    today = datetime.now(zone).date().isoformat()
    return Response(
        stream_with_context(imports.streamed(s, lines)),
        mimetype="text/csv",
        headers=_attachment(f"contentfeed-library-{today}.csv"),
    )
