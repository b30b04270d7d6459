"""The home page: what each role sees first."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from contentfeed import db
from contentfeed.accounts import access, service
from contentfeed.accounts.models import Role
from contentfeed.accounts.views.shared import bp


@bp.get("/")
@access.require_role()
def home() -> ResponseReturnValue:
    """Show each role the page that answers its first question (a seller's is their feed)."""
    user = access.signed_in_user()
    if user.role is Role.SELLER:
        return redirect(url_for("suggestions.feed"))
    return render_template("accounts/home.html", **service.home_overview(db.session(), user))
