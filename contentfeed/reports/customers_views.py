"""The customer development report page: handovers, renewals, customers' engagement, funnel."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role, User
from contentfeed.reports import customers, measures
from contentfeed.reports.people_views import _period_label, _read_period

bp = Blueprint("reports_customers", __name__)

# Who reads it: the library's people (which content customers read) and customer
# development's reps (their handovers and renewals).
READERS = (Role.ADMIN, Role.MARKETER, Role.REP)


@bp.get("/reports/customers")
@access.require_role(*READERS)
def report() -> ResponseReturnValue:
    """Show the customer development report for a period."""
    choice = _read_period()
    if choice.period is None:
        return render_template("reports/customers.html", choice=choice), 422
    viewer: User = current_user._get_current_object()
    result = customers.show_customers(db.session(), viewer, customers.input_for(choice.period))
    return render_template(
        "reports/customers.html",
        choice=choice,
        report=result,
        period_label=_period_label(choice.period),
        format_duration=measures.show_duration,
        format_rate=measures.show_rate,
        can_open_items=viewer.role in (Role.ADMIN, Role.MARKETER),  # reps see no library
    )
