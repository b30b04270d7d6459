"""Admin page for the CRM outbox: what waits, what was delivered, what gave up."""

from __future__ import annotations

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.errors import Conflict
from contentfeed.i18n import _, _l
from contentfeed.routing import (
    outbox,
)
from contentfeed.routing.admin_views import bp
from contentfeed.routing.admin_views.common import (
    ADMIN,
)
from contentfeed.routing.models import (
    OutboxStatus,
)
from contentfeed.ui import Page, page_number, url_with

OUTBOX_STATUS_LABELS = {
    OutboxStatus.PENDING: _l("Pending"),
    OutboxStatus.DELIVERED: _l("Delivered"),
    OutboxStatus.DEAD: _l("Dead"),
}


# --- outbox ------------------------------------------------------------------------------


@bp.get("/admin/outbox", endpoint="outbox")
@access.require_role(*ADMIN)
def outbox_page() -> str:
    """Show what waits for the CRM, what was delivered and what gave up, and why."""
    s = db.session()
    status_arg = request.args.get("status", "")
    status = OutboxStatus(status_arg) if status_arg in set(OutboxStatus) else None
    summary = outbox.summary(s)
    counts = {
        OutboxStatus.PENDING: summary.pending,
        OutboxStatus.DELIVERED: summary.delivered,
        OutboxStatus.DEAD: summary.dead,
    }
    total = counts[status] if status else sum(counts.values())
    per_page = int(config.current().page_size)
    number = page_number()
    messages = outbox.list_messages(s, status, limit=per_page, offset=(number - 1) * per_page)
    return render_template(
        "routing/admin_outbox.html",
        summary=summary,
        counts=counts,
        messages=messages,
        status=status,
        labels=OUTBOX_STATUS_LABELS,
        page=Page(number, per_page, total, lambda n: url_with(page=n)),
        has_url=bool(str(config.current().crm.webhook_url).strip()),
        max_attempts=int(config.current().crm.max_attempts),
    )


@bp.post("/admin/outbox/enable")
@access.require_role(*ADMIN)
def outbox_enable() -> Response:
    """Turn the CRM destination back on after it answered 410 Gone."""
    s = db.session()
    outbox.enable(s)
    flash(_("The CRM destination is on again: waiting messages go out on the next run."), "success")
    return redirect(url_for("routing_admin.outbox"))


@bp.post("/admin/outbox/<int:message_id>/resend")
@access.require_role(*ADMIN)
def outbox_resend(message_id: int) -> Response:
    """Send a dead message again; its tries start over and its id stays the same."""
    s = db.session()
    try:
        message = outbox.resend(s, message_id)
    except Conflict as exc:
        s.rollback()
        flash(exc.message, "error")
    else:
        flash(
            _("Message %(id)s is pending again and goes out shortly.", id=message.message_id),
            "success",
        )
    status = request.form.get("status", "")
    return redirect(
        url_for("routing_admin.outbox", status=status if status in set(OutboxStatus) else None)
    )
