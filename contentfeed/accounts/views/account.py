"""Your account: your name, time zone and password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from contentfeed import db
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import AccountForm, PasswordForm
from contentfeed.accounts.views.shared import apply_errors, bp, form_input
from contentfeed.errors import Invalid
from contentfeed.i18n import _


@bp.route("/account", methods=["GET", "POST"])
@access.require_role()
def account() -> ResponseReturnValue:
    """Let anyone change their name, time zone and password."""
    user = access.signed_in_user()
    form = AccountForm(obj=user, prefix="account")
    password_form = PasswordForm(prefix="password")
    if request.method == "POST" and "account-name" in request.form and form.validate():
        try:
            details = {"name": form.name.data or "", "timezone": (form.timezone.data or "").strip()}
            service.change_own_details(
                db.session(), user, form_input(service.AccountDetails, details)
            )
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            flash(_("Your details are saved."), "success")
            return redirect(url_for("accounts.account"))
    if (
        request.method == "POST"
        and "password-new_password" in request.form
        and password_form.validate()
    ):
        try:
            change = {
                "current_password": password_form.current_password.data or "",
                "new_password": password_form.new_password.data or "",
            }
            service.change_own_password(
                db.session(), user, form_input(service.PasswordChange, change)
            )
        except Invalid as exc:
            apply_errors(password_form, exc)
        else:
            flash(_("Your password is changed."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form, password_form=password_form)
