"""The admin page that imports sellers from a CSV file."""

from __future__ import annotations

import base64

from flask import make_response, render_template, request
from flask.typing import ResponseReturnValue

from contentfeed import config, db, sheets
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import SellerImportForm
from contentfeed.accounts.views.shared import ADMIN, bp
from contentfeed.db import utcnow
from contentfeed.errors import Invalid


def _credentials_csv(rows: list[service.SellerImportRow]) -> str:
    """Return the new sellers' sign-in details as a CSV data URL, made for this page only."""
    lines = [["email", "name", "password"], *([r.email, r.name, r.password] for r in rows)]
    text = sheets.csv_text(lines)
    encoded = base64.b64encode(text.encode("utf-8-sig")).decode("ascii")
    return f"data:text/csv;charset=utf-8;base64,{encoded}"


@bp.route("/admin/sellers/import", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def sellers_import() -> ResponseReturnValue:
    """Create and update sellers from a CSV file; new sellers are invited by email, or (without
    email) their passwords are shown once."""
    s = db.session()
    if request.method == "GET" and request.args.get("template"):
        return sheets.csv_download(service.seller_template(s), "contentfeed-sellers-template.csv")
    form = SellerImportForm()
    mail = service.AccountMail.of(config.current())
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = service.import_seller_file(
                s,
                access.signed_in_user(),
                service.SellerFile(data=upload.read(), filename=upload.filename or ""),
                mail=mail,
            )
        except Invalid as exc:
            form.file.errors = [exc.fields.get("file", exc.message)]
    report = result.report if result else None
    response = make_response(
        render_template(
            "accounts/sellers_import.html",
            form=form,
            report=report,
            ignored=result.ignored_columns if result else [],
            credentials=_credentials_csv(report.with_password)
            if report and report.with_password
            else None,
            mail_kept=not mail.can_send,
            columns=service.SELLER_COLUMN_HELP,
            teams=service.list_teams(s),
            max_rows=service.SELLER_IMPORT_MAX_ROWS,
            today=utcnow().strftime("%Y-%m-%d"),
        ),
        422 if form.errors else 200,
    )
    if report is not None:  # the page holds passwords: keep it out of every cache
        response.headers["Cache-Control"] = "no-store"
    return response
