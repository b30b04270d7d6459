"""Campaign pages: the list with its form, and one campaign's page."""

from __future__ import annotations

from datetime import time

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.content import service
from contentfeed.content.forms import CampaignForm
from contentfeed.content.models import (
    Campaign,
)
from contentfeed.content.views import bp
from contentfeed.content.views.common import (
    apply_errors,
    day_bound,
    local_date,
    signed_in,
)
from contentfeed.errors import DomainError
from contentfeed.i18n import _


def _save_campaign(form: CampaignForm, campaign: Campaign | None) -> Campaign | None:
    """Save the form through the service; on refusal put the reason beside its field."""
    try:
        return service.save_campaign(
            db.session(),
            name=form.name.data or "",
            description=form.description.data or "",
            starts_at=day_bound(form.starts_on.data, time.min),
            ends_at=day_bound(form.ends_on.data, time(23, 59, 59)),
            campaign=campaign,
        )
    except DomainError as exc:  # refused before anything changed; the 422 rolls back
        if "ends_at" in exc.fields:
            form.ends_on.errors = [*form.ends_on.errors, exc.fields["ends_at"]]
        else:
            apply_errors(form, exc)
        return None


@bp.route("/campaigns", methods=["GET", "POST"])
@access.require_role(*service.STAFF)
def campaigns() -> ResponseReturnValue:
    """List campaigns with their items and add new ones."""
    s = db.session()
    form = CampaignForm()
    if form.validate_on_submit():
        campaign = _save_campaign(form, None)
        if campaign is not None:
            flash(
                _(
                    "Campaign %(name)s is created; links carry utm_campaign=%(slug)s.",
                    name=campaign.name,
                    slug=campaign.slug,
                ),
                "success",
            )
            return redirect(url_for("content.campaigns"))
    return render_template(
        "content/campaigns.html", campaigns=service.list_campaigns(s), form=form
    ), (422 if form.errors else 200)


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@access.require_role(*service.STAFF)
def campaign_edit(campaign_id: int) -> ResponseReturnValue:
    """Edit a campaign and see its library items."""
    s = db.session()
    user = signed_in()
    campaign = service.get_campaign(s, campaign_id)
    form = CampaignForm(obj=campaign)
    if request.method == "GET":
        form.starts_on.data = local_date(campaign.starts_at)
        form.ends_on.data = local_date(campaign.ends_at)
    if form.validate_on_submit() and _save_campaign(form, campaign) is not None:
        flash(_("Campaign %(name)s is saved.", name=campaign.name), "success")
        return redirect(url_for("content.campaign_edit", campaign_id=campaign.id))
    items = service.list_library(
        s, user, service.LibraryQuery(status="all", campaign_id=campaign.id, limit=50)
    )
    return render_template(
        "content/campaign_form.html", campaign=campaign, form=form, items=items
    ), (422 if form.errors else 200)
