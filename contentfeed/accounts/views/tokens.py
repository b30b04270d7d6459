"""Admin pages for API tokens: issuing and revoking."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from contentfeed import db
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import TokenForm
from contentfeed.accounts.models import User
from contentfeed.accounts.views.shared import ADMIN, apply_errors, bp
from contentfeed.db import utcnow
from contentfeed.errors import DomainError
from contentfeed.forms import options


@bp.route("/admin/tokens", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def tokens() -> ResponseReturnValue:
    """List API tokens and issue new ones; a new token is shown exactly once."""
    s = db.session()
    form = TokenForm()
    active_users = s.scalars(
        sa.select(User).where(User.is_active).order_by(sa.func.lower(User.name))
    ).all()
    form.user_id.choices = options(
        (u.id, f"{u.name} ({u.role_label.lower()})") for u in active_users
    )
    if request.method == "GET":
        form.user_id.data = current_user.id
    new_token = None
    if form.validate_on_submit():
        days = form.expires_in_days.data
        try:
            token, new_token = service.issue_token(
                s,
                service.get_user(s, form.user_id.data or 0),
                name=form.name.data or "",
                scopes=form.scopes.data or [],
                by=current_user,
                expires_at=utcnow() + timedelta(days=days) if days else None,
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            s.commit()
            flash(f"Token “{token.name}” is issued.", "success")
            form = TokenForm(formdata=None)
            form.user_id.choices = options(
                (u.id, f"{u.name} ({u.role_label.lower()})") for u in active_users
            )
    return render_template(
        "accounts/tokens.html",
        tokens=service.list_tokens(s),
        form=form,
        new_token=new_token,
        now=utcnow(),
    ), 422 if form.errors else 200


@bp.post("/admin/tokens/<int:token_id>/revoke")
@access.require_role(*ADMIN)
def token_revoke(token_id: int) -> Response:
    """Revoke a token; calls using it are refused from now on."""
    s = db.session()
    token = service.revoke_token(s, token_id)
    s.commit()
    flash(f"Token “{token.name}” is revoked.", "success")
    return redirect(url_for("accounts.tokens"))
