"""Your account: your name, time zone and password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.security import check_password_hash

from contentfeed import db
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import AccountForm, PasswordForm
from contentfeed.accounts.models import User
from contentfeed.accounts.views.shared import apply_errors, bp
from contentfeed.errors import Invalid


@bp.route("/account", methods=["GET", "POST"])
@access.require_role()
def account() -> ResponseReturnValue:
    """Let anyone change their name, time zone and password."""
    s = db.session()
    user: User = current_user
    form = AccountForm(obj=user, prefix="account")
    password_form = PasswordForm(prefix="password")
    if request.method == "POST" and "account-name" in request.form and form.validate():
        try:
            service.update_user(
                s,
                user,
                name=form.name.data or "",
                role=user.role,
                team=user.team,
                timezone=(form.timezone.data or "").strip(),
            )
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            s.commit()
            flash("Your details are saved.", "success")
            return redirect(url_for("accounts.account"))
    if (
        request.method == "POST"
        and "password-new_password" in request.form
        and password_form.validate()
    ):
        if not check_password_hash(user.password_hash, password_form.current_password.data or ""):
            password_form.current_password.errors = ["That is not your current password."]
        else:
            try:
                service.set_password(s, user, password_form.new_password.data or "")
            except Invalid as exc:
                password_form.new_password.errors = [exc.message]
            else:
                s.commit()
                flash("Your password is changed.", "success")
                return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form, password_form=password_form)
