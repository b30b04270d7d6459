"""Admin pages for users: the list, adding one, editing, deactivating and reactivating."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from contentfeed import config, db
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import SellerProfileForm, UserForm
from contentfeed.accounts.models import Role
from contentfeed.accounts.views.shared import (
    ADMIN,
    apply_errors,
    bp,
    flash_webhook_trial,
    form_input,
    profile_values,
)
from contentfeed.errors import DomainError
from contentfeed.forms import options
from contentfeed.i18n import _
from contentfeed.suggestions import notify
from contentfeed.ui import Page, page_number, sort_params, url_with


@bp.get("/admin/users")
@access.require_role(*ADMIN)
def users() -> str:
    """List users with search, role and team filters, sorting and pagination."""
    s = db.session()
    sort, direction = sort_params({"name", "email", "role", "created", "last_login"}, "name")
    per_page = config.current().page_size
    number = page_number()
    team_arg = request.args.get("team", "")
    role_arg = request.args.get("role", "")
    result = service.list_users(
        s,
        search=request.args.get("q", ""),
        role=role_arg if role_arg in {r.value for r in Role} else "",
        team_id=int(team_arg) if team_arg.isdigit() else None,
        sort=sort,
        descending=direction == "desc",
        offset=(number - 1) * per_page,
        limit=per_page,
    )
    page = Page(number, per_page, result.total, lambda n: url_with(page=n))
    return render_template(
        "accounts/users.html",
        users=result.items,
        page=page,
        teams=service.list_teams(s),
        roles=list(Role),
        sort=sort,
        direction=direction,
    )


def _team_choices() -> list[SelectChoice]:
    return options([(0, _("No team"))] + [(t.id, t.name) for t in service.list_teams(db.session())])


def _user_values(form: UserForm) -> dict[str, Any]:
    """Return the user form's values as the user use cases take them."""
    values = {
        "name": form.name.data or "",
        "role": form.role.data,
        "team_id": form.team_id.data or None,
        "timezone": (form.timezone.data or "").strip(),
        "password": form.password.data or None,
    }
    if form.email is not None:
        values["email"] = form.email.data or ""
    return values


@bp.route("/admin/users/new", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def user_new() -> ResponseReturnValue:
    """Create a user; sellers get a profile to fill in next."""
    form = UserForm()
    form.team_id.choices = _team_choices()
    mail = service.AccountMail.of(config.current())
    form.password.label.text = _("Initial password")
    if mail.can_send:
        form.password.description = _(
            "Leave empty to email the user an invitation to choose their own password, or "
            "give at least %(count)s characters.",
            count=service.MIN_PASSWORD_LENGTH,
        )
    else:
        form.password.description = _(
            "Leave empty to invite the user to choose their own password, or give at least "
            "%(count)s characters. No mail server is set up: the invitation is kept under "
            "Admin → Sent email, copy its link from there.",
            count=service.MIN_PASSWORD_LENGTH,
        )
    if form.validate_on_submit():
        try:
            data = form_input(service.NewUser, _user_values(form))
            user = service.add_user(db.session(), access.signed_in_user(), data, mail)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            if user.is_invited and not mail.can_send:
                message = _(
                    "%(name)s is invited as %(role)s. No mail server is set up: the invitation "
                    "is kept under Admin → Sent email, copy its link from there and pass it "
                    "to %(email)s.",
                    name=user.name,
                    role=user.role_label,
                    email=user.email,
                )
            elif user.is_invited:
                message = _(
                    "%(name)s is invited as %(role)s: the invitation went to %(email)s.",
                    name=user.name,
                    role=user.role_label,
                    email=user.email,
                )
            else:
                message = _(
                    "%(name)s can now sign in as %(role)s.", name=user.name, role=user.role_label
                )
            flash(message, "success")
            return redirect(url_for("accounts.user_edit", user_id=user.id))
    return render_template(
        "accounts/user_form.html", form=form, user=None
    ), 422 if form.errors else 200


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def user_edit(user_id: int) -> ResponseReturnValue:
    """Edit a user's details and, for sellers, their seller profile."""
    s = db.session()
    actor = access.signed_in_user()
    user = service.get_user(s, user_id)
    form = UserForm(obj=user, prefix="user")
    form.team_id.choices = _team_choices()
    if request.method == "GET":
        form.team_id.data = user.team_id or 0
    del form.email
    form.password.label.text = _("New password")
    profile_form = None
    if user.seller_profile is not None:
        profile_form = SellerProfileForm(obj=user.seller_profile, prefix="profile")
        profile_form.allow_languages(user.seller_profile.languages)
        if not config.current().email.host:
            profile_form.email_not_set_up()
        if request.method == "GET":
            profile_form.topics.data = ", ".join(user.seller_profile.topics)
            profile_form.show_languages(user.seller_profile.languages)
    saving_profile = "profile-posts_per_week" in request.form
    if request.method == "POST" and not saving_profile and form.validate():
        try:
            service.edit_user(
                s, actor, user.id, form_input(service.UserChanges, _user_values(form))
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            flash(_("%(name)s is saved.", name=user.name), "success")
            return redirect(url_for("accounts.user_edit", user_id=user.id))
    if saving_profile and profile_form is not None and profile_form.validate():
        trial = notify.WebhookTrial(user)
        try:
            data = form_input(service.SellerProfileData, profile_values(profile_form))
            service.save_seller_profile(s, actor, user.id, data, on_new_webhook=trial)
        except DomainError as exc:
            apply_errors(profile_form, exc)
        else:
            flash(_("%(name)s's seller profile is saved.", name=user.first_name), "success")
            flash_webhook_trial(trial)
            return redirect(url_for("accounts.user_edit", user_id=user.id))
    has_errors = bool(form.errors or (profile_form and profile_form.errors))
    return render_template(
        "accounts/user_form.html",
        form=form,
        profile_form=profile_form,
        user=user,
    ), 422 if has_errors else 200


@bp.post("/admin/users/<int:user_id>/invite")
@access.require_role(*ADMIN)
def user_invite(user_id: int) -> Response:
    """Send a user who has not signed in yet a new invitation; the old link stops working."""
    mail = service.AccountMail.of(config.current())
    user = service.invite_again(db.session(), access.signed_in_user(), user_id, mail)
    if mail.can_send:
        flash(_("A new invitation is on its way to %(email)s.", email=user.email), "success")
    else:
        flash(
            _(
                "No mail server is set up: the new invitation for %(email)s is kept under "
                "Admin → Sent email, copy its link from there. The earlier link no longer works.",
                email=user.email,
            ),
            "success",
        )
    return redirect(request.referrer if _safe_referrer() else url_for("accounts.users"))


@bp.post("/admin/users/<int:user_id>/deactivate")
@access.require_role(*ADMIN)
def user_deactivate(user_id: int) -> Response:
    """Stop a user signing in; their history stays."""
    user = service.deactivate_account(db.session(), access.signed_in_user(), user_id)
    flash(_("%(name)s is deactivated and can no longer sign in.", name=user.name), "success")
    return redirect(request.referrer if _safe_referrer() else url_for("accounts.users"))


@bp.post("/admin/users/<int:user_id>/activate")
@access.require_role(*ADMIN)
def user_activate(user_id: int) -> Response:
    """Let a deactivated user sign in again."""
    user = service.reactivate_account(db.session(), access.signed_in_user(), user_id)
    flash(_("%(name)s can sign in again.", name=user.name), "success")
    return redirect(request.referrer if _safe_referrer() else url_for("accounts.users"))


def _safe_referrer() -> bool:
    referrer = request.referrer or ""
    return urlsplit(referrer).netloc == request.host
