"""Admin pages for API tokens: issuing and revoking."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from contentfeed import db
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import TokenForm
from contentfeed.accounts.views.shared import ADMIN, apply_errors, bp, form_input
from contentfeed.db import utcnow
from contentfeed.errors import DomainError
from contentfeed.forms import options
from contentfeed.i18n import _


@bp.route("/admin/tokens", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def tokens() -> ResponseReturnValue:
    """List API tokens and issue new ones; a new token is shown exactly once."""
    s = db.session()
    actor = access.signed_in_user()
    form = TokenForm()
    choices = _user_choices()
    form.user_id.choices = choices
    if request.method == "GET":
        form.user_id.data = actor.id
    new_token = None
    if form.validate_on_submit():
        try:
            data = form_input(
                service.TokenRequest,
                {
                    "user_id": form.user_id.data,
                    "name": form.name.data or "",
                    "scopes": form.scopes.data or [],
                    "expires_in_days": form.expires_in_days.data,
                },
            )
            token, new_token = service.grant_token(s, actor, data)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            flash(_("Token “%(name)s” is issued.", name=token.name), "success")
            form = TokenForm(formdata=None)
            form.user_id.choices = choices
    return render_template(
        "accounts/tokens.html",
        tokens=service.list_tokens(s),
        form=form,
        new_token=new_token,
        now=utcnow(),
    ), 422 if form.errors else 200


def _user_choices() -> list[SelectChoice]:
    """Offer every active user, with their role, as the one a token acts as."""
    return options(
        (u.id, _("%(name)s (%(role)s)", name=u.name, role=u.role_label))
        for u in service.list_active_users(db.session())
    )


@bp.post("/admin/tokens/<int:token_id>/revoke")
@access.require_role(*ADMIN)
def token_revoke(token_id: int) -> Response:
    """Revoke a token; calls using it are refused from now on."""
    token = service.revoke_token(db.session(), access.signed_in_user(), token_id)
    flash(_("Token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("accounts.tokens"))
