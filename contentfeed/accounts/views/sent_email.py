"""Admin → Sent email: the mail kept while no mail server is set up, to read."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template
from flask.typing import ResponseReturnValue

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.accounts.views.shared import ADMIN, bp
from contentfeed.i18n import _l
from contentfeed.suggestions import notify
from contentfeed.ui import Page, page_number, url_with

PAGE_SIZE = 50

KIND_LABELS: dict[str, Any] = {
    "digest": _l("Digest"),
    "seller_notice": _l("Seller notice"),
    "invitation": _l("Invitation"),
    "password_reset": _l("Password reset"),
    "double_opt_in": _l("Double opt-in"),
}


@bp.get("/admin/sent-email")
@access.require_role(*ADMIN)
def sent_emails() -> ResponseReturnValue:
    """List the emails kept instead of sent, the newest first."""
    # Bounded like every listing: a page number beyond any listing's end is a 422, not an
    # offset the database cannot take.
    number = page_number()
    items, total = notify.kept_emails(db.session(), page=number, per_page=PAGE_SIZE)
    return render_template(
        "accounts/sent_emails.html",
        emails=items,
        page=Page(number, PAGE_SIZE, total, lambda n: url_with(page=n)),
        kinds=KIND_LABELS,
        smtp_set_up=bool(config.current().email.host),
    )


@bp.get("/admin/sent-email/<int:email_id>")
@access.require_role(*ADMIN)
def sent_email(email_id: int) -> ResponseReturnValue:
    """Show one kept email as its recipient would have read it."""
    email = notify.kept_email(db.session(), email_id)
    if email is None:
        abort(404)
    return render_template("accounts/sent_email.html", email=email, kinds=KIND_LABELS)
