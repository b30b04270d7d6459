"""Admin pages for teams."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from contentfeed import db
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import TeamForm
from contentfeed.accounts.views.shared import ADMIN, apply_errors, bp, form_input
from contentfeed.errors import DomainError
from contentfeed.i18n import _


def _team_data(form: TeamForm) -> service.TeamData:
    return form_input(
        service.TeamData,
        {
            "name": form.name.data or "",
            "kind": form.kind.data or "",
            "description": form.description.data or "",
        },
    )


@bp.route("/admin/teams", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def teams() -> ResponseReturnValue:
    """List teams and add new ones."""
    s = db.session()
    form = TeamForm()
    if form.validate_on_submit():
        try:
            team = service.add_team(s, access.signed_in_user(), _team_data(form))
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            flash(_("Team %(name)s is created.", name=team.name), "success")
            return redirect(url_for("accounts.teams"))
    page = render_template(
        "accounts/teams.html",
        teams=service.list_teams(s),
        active_members=service.active_member_counts(s),
        form=form,
    )
    return page, (422 if form.errors else 200)


@bp.route("/admin/teams/<int:team_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def team_edit(team_id: int) -> ResponseReturnValue:
    """Rename a team, change its kind or description, and see its members."""
    s = db.session()
    team = service.get_team(s, team_id)
    form = TeamForm(obj=team)
    if form.validate_on_submit():
        try:
            service.edit_team(s, access.signed_in_user(), team.id, _team_data(form))
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            flash(_("Team %(name)s is saved.", name=team.name), "success")
            return redirect(url_for("accounts.team_edit", team_id=team.id))
    return render_template(
        "accounts/team_form.html", team=team, form=form
    ), 422 if form.errors else 200
