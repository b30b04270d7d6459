"""The admins' page of CRM events: what the CRM told us, what it changed, what failed."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.customers import crm_events
from contentfeed.customers.models import CrmEventStatus
from contentfeed.errors import Conflict
from contentfeed.i18n import _, _l
from contentfeed.ui import Page, page_number, url_with

bp = Blueprint("crm", __name__)

ADMIN = (Role.ADMIN,)
STATUS_LABELS = {
    CrmEventStatus.RECEIVED: _l("Received"),
    CrmEventStatus.PROCESSED: _l("Processed"),
    CrmEventStatus.FAILED: _l("Failed"),
}
STATUS_BADGES = {
    CrmEventStatus.RECEIVED: "warning",
    CrmEventStatus.PROCESSED: "success",
    CrmEventStatus.FAILED: "danger",
}


@bp.get("/admin/crm-events")
@access.require_role(*ADMIN)
def events() -> str:
    """List the CRM's recent events, newest first, optionally only one status."""
    s = db.session()
    wanted = request.args.get("status", "")
    status = next((known for known in CrmEventStatus if known.value == wanted), None)
    per_page = int(config.current().page_size)
    number = page_number()
    items, total = crm_events.list_events(
        s, status=status, offset=(number - 1) * per_page, limit=per_page
    )
    return render_template(
        "customers/crm_events.html",
        events=items,
        status=status,
        statuses=STATUS_LABELS,
        badges=STATUS_BADGES,
        next_attempt=crm_events.next_attempt,
        is_set_up=bool(config.current().crm.events_secret),
        page=Page(number, per_page, total, lambda n: url_with(page=n)),
    )


@bp.post("/admin/crm-events/<int:event_id>/reprocess")
@access.require_role(*ADMIN)
def event_reprocess(event_id: int) -> Response:
    """Process a failed or stuck CRM event again now, whatever its attempts so far."""
    s = db.session()
    try:
        outcome = crm_events.reprocess(s, event_id, config.current())
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("crm.events"))
    if outcome.event.status == CrmEventStatus.PROCESSED:
        flash(_("CRM event %(event)s is processed.", event=event_id), "success")
    else:
        error = outcome.problem.message if outcome.problem else crm_events.failure_of(s, event_id)
        message = _("CRM event %(event)s failed again: %(error)s", event=event_id, error=error)
        flash(message, "error")
    return redirect(url_for("crm.events", status=CrmEventStatus.FAILED.value))
