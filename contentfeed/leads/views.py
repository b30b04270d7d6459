"""Lead pages: the list, a lead's story, and the admin pages for webhook secrets and events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import ValidationError
from werkzeug.wrappers import Response
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from contentfeed import config, db, i18n
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.errors import Conflict, DomainError, Invalid
from contentfeed.forms import Form
from contentfeed.i18n import _, _l
from contentfeed.leads import attribution, gated, intake, listing, service, signing, timeline
from contentfeed.leads.models import UTM_FIELDS, EventStatus, LeadStatus, Touch
from contentfeed.routing import panel
from contentfeed.ui import Page, page_number, sort_params, url_with

bp = Blueprint("leads", __name__)

READERS = (Role.ADMIN, Role.MARKETER, Role.REP)
ADMIN = (Role.ADMIN,)
# Who may follow a touch to the library item (the library is for its authors).
LIBRARY_READERS = (Role.ADMIN, Role.MARKETER, Role.CONTRIBUTOR)
ATTRIBUTION_FILTERS = {"attributed": True, "unattributed": False}
FOUND_IN_LABELS = {
    "utm_content": "utm_content",
    "ref": _l("ref field"),
    "landing_url": _l("landing page URL"),
    "cookie": _l("link cookie"),
    "earlier": _l("an earlier lead of this person"),
    "returned": _l("a later visit of this person"),
}
# What became of the seller's suggestion behind a touch, as the pages say it ("shared" is a
# key the page words itself, with the time).
POST_STATES = {"posted": "shared", "suggested": _l("suggested, not marked posted"), "": ""}


class SecretForm(Form):
    """Name a new webhook signing secret after the sender that uses it."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("e.g. Website forms"),
    )


class MappingForm(Form):
    """A sender's field names mapped to ours, one "their name = our name" per line."""

    mapping = TextAreaField(_l("Field mapping"), validators=[Length(max=20_000)])


@dataclass(frozen=True)
class TouchRow:
    """A touch as the pages show it: who, what, which campaign, where, when."""

    touch: Touch
    seller: str
    content_id: int | None
    content_title: str
    campaign: str
    found_in: str
    # what became of the seller's suggestion: "shared 24 Nov" only when marked posted
    posted: str
    posted_at: datetime | None


@dataclass(frozen=True)
class CreditRow:
    """One seller's share of a lead under every model, as percentages."""

    seller: str
    percentages: list[str]


def _touch_rows(touches: list[Touch], context: listing.TouchContext) -> list[TouchRow]:
    rows = []
    for touch in touches:
        seller = context.sellers.get(touch.seller_id or 0)
        content = context.contents.get(touch.content_id or 0)
        campaign = context.campaigns.get(touch.campaign_id or 0)
        post, posted_at = context.post_state(touch)
        rows.append(
            TouchRow(
                touch=touch,
                seller=seller.name if seller else _("A former seller"),
                content_id=content.id if content else None,
                content_title=content.title if content else _("Removed content"),
                campaign=campaign.name if campaign else "",
                found_in=str(FOUND_IN_LABELS.get(touch.found_in, touch.found_in)),
                posted=str(POST_STATES[post]),
                posted_at=posted_at,
            )
        )
    return rows


def _percent(share: float) -> str:
    """A share as the page shows it: one decimal when it has one ("33.3 %", "33,3 %")."""
    places = 0 if round(share * 100, 1) == round(share * 100) else 1
    return i18n.decimal_text(share * 100, places) + " %"


def _credit_rows(touches: list[Touch], context: listing.TouchContext) -> list[CreditRow]:
    summary = attribution.credit_summary(touches)
    seller_ids: list[int | None] = []
    for touch in touches:
        if touch.seller_id not in seller_ids:
            seller_ids.append(touch.seller_id)
    rows = []
    for seller_id in seller_ids:
        seller = context.sellers.get(seller_id or 0)
        rows.append(
            CreditRow(
                seller=seller.name if seller else _("A former seller"),
                percentages=[
                    _percent(summary[model].get(seller_id, 0.0)) for model in attribution.MODELS
                ],
            )
        )
    return rows


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Turn extra form fields (possibly nested) into label/text pairs, never raw JSON."""
    if isinstance(value, dict):
        for key, inner in value.items():
            label = f"{prefix} / {key}" if prefix else str(key)
            yield from _flatten(inner, label)
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            yield prefix, ", ".join(_scalar(v) for v in value)
        else:
            for index, inner in enumerate(value, start=1):
                yield from _flatten(inner, f"{prefix} / {index}")
    else:
        yield prefix, _scalar(value)


def _scalar(value: Any) -> str:
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if value is None:
        return "—"
    return str(value)


def _can_open_library() -> bool:
    return bool(current_user.is_authenticated and current_user.role in LIBRARY_READERS)


# --- leads -------------------------------------------------------------------------------


@bp.get("/leads")
@access.require_role(*READERS)
def index() -> str:
    """List leads newest first, with search, status and attribution filters."""
    args = request.args
    status_arg = args.get("status", "")
    status = LeadStatus(status_arg) if status_arg in set(LeadStatus) else None
    attribution_arg = args.get("attribution", "")
    per_page = int(config.current().page_size)
    number = page_number()
    sort, direction = sort_params(
        set(listing.LEAD_SORTS), "submitted", descending_first=frozenset({"submitted"})
    )
    try:
        query = listing.LeadQuery(
            q=args.get("q", "").strip(),
            status=status,
            attributed=ATTRIBUTION_FILTERS.get(attribution_arg),
            sort=sort,
            descending=direction == "desc",
            offset=(number - 1) * per_page,
            limit=per_page,
        )
    except ValidationError:
        raise Invalid(_("The search needs attention."), {"q": _("no control characters")}) from None
    result = listing.list_leads(db.session(), access.signed_in_user(), query)
    rows = [(lead, _touch_rows(lead.touches, result.context)) for lead in result.items]
    return render_template(
        "leads/index.html",
        rows=rows,
        page=Page(number, per_page, result.total, lambda n: url_with(page=n)),
        query=query,
        status_arg=status.value if status else "",
        attribution_arg=attribution_arg if attribution_arg in ATTRIBUTION_FILTERS else "",
        statuses=list(LeadStatus),
        is_filtered=bool(query.q or status or attribution_arg in ATTRIBUTION_FILTERS),
        sort=sort,
        direction=direction,
    )


@bp.get("/leads/<int:lead_id>")
@access.require_role(*READERS)
def detail(lead_id: int) -> str:
    """Tell a lead's story: who, from which seller's post of which content, the form data."""
    s = db.session()
    story = timeline.tell_story(s, access.signed_in_user(), lead_id)
    lead, context = story.lead, story.context
    utm = [(name, getattr(lead, name)) for name in UTM_FIELDS if getattr(lead, name)]
    return render_template(
        "leads/detail.html",
        lead=lead,
        timeline=story.timeline,
        touches=_touch_rows(lead.touches, context),
        credit_rows=_credit_rows(lead.touches, context),
        model_labels=[attribution.model_label(m) for m in attribution.MODELS],
        utm=utm,
        extra=[(label, text) for label, text in _flatten(lead.extra or {}) if label],
        events=story.events,
        can_open_library=_can_open_library(),
        work=panel.work_panel(s, lead, current_user),
    )


# --- admin: webhook secrets --------------------------------------------------------------


@bp.route("/admin/webhook-secrets", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def secrets() -> ResponseReturnValue:
    """List webhook signing secrets and create new ones; a new secret is shown exactly once."""
    s = db.session()
    form = SecretForm()
    new_secret = None
    if form.validate_on_submit():
        try:
            secret, new_secret = signing.create_secret(
                s, name=form.name.data or "", created_by=current_user
            )
        except DomainError as exc:
            form.name.errors = [*form.name.errors, exc.fields.get("name", exc.message)]
        else:
            flash(_("Secret “%(name)s” is created.", name=secret.name), "success")
            form = SecretForm(formdata=None)
    return _secrets_page(form, new_secret=new_secret)


def _secrets_page(
    form: SecretForm,
    *,
    new_secret: str | None = None,
    mapping_form: MappingForm | None = None,
    mapping_secret_id: int | None = None,
) -> ResponseReturnValue:
    """The secrets page; a refused mapping is shown again, with its errors, on its secret."""
    all_secrets = signing.list_secrets(db.session())
    base = config.current().public_base_url.rstrip("/")
    mappings = {
        secret.id: (
            mapping_form
            if secret.id == mapping_secret_id and mapping_form is not None
            else MappingForm(
                formdata=None,
                prefix=f"s{secret.id}",
                mapping=signing.mapping_text(secret.field_mapping or {}),
            )
        )
        for secret in all_secrets
    }
    refused = bool(form.errors or (mapping_form is not None and mapping_form.errors))
    return render_template(
        "leads/secrets.html",
        secrets=all_secrets,
        form=form,
        new_secret=new_secret,
        mappings=mappings,
        mapping_secret_id=mapping_secret_id,
        our_fields=[name for name in intake.LeadIn.model_fields if name != "external_id"],
        webhook_url=base + url_for("leads_api.receive"),
        skew=config.current().leads.clock_skew_seconds,
    ), 422 if refused else 200


@bp.post("/admin/webhook-secrets/<int:secret_id>/mapping")
@access.require_role(*ADMIN)
def secret_mapping(secret_id: int) -> ResponseReturnValue:
    """Map a sender's own field names to ours for the deliveries this secret signs."""
    form = MappingForm(prefix=f"s{secret_id}")
    if form.validate():
        try:
            data = signing.parse_mapping_text(form.mapping.data or "")
            secret = signing.set_field_mapping(
                db.session(), access.signed_in_user(), secret_id, data
            )
        except Invalid as exc:
            details = [
                f"{name}: {text}" if name != "mapping" else text
                for name, text in exc.fields.items()
            ]
            form.mapping.errors = [*form.mapping.errors, *(details or [exc.message])]
        except Conflict as exc:
            flash(exc.message, "error")
            return redirect(url_for("leads.secrets"))
        else:
            flash(_("The field mapping of “%(name)s” is saved.", name=secret.name), "success")
            return redirect(url_for("leads.secrets"))
    return _secrets_page(SecretForm(formdata=None), mapping_form=form, mapping_secret_id=secret_id)


@bp.post("/admin/webhook-secrets/<int:secret_id>/revoke")
@access.require_role(*ADMIN)
def secret_revoke(secret_id: int) -> Response:
    """Revoke a secret; deliveries signed with it are refused from now on."""
    secret = signing.revoke_secret(db.session(), secret_id)
    flash(_("Secret “%(name)s” is revoked.", name=secret.name), "success")
    return redirect(url_for("leads.secrets"))


# --- admin: failed events ----------------------------------------------------------------


@bp.get("/admin/lead-events")
@access.require_role(*ADMIN)
def events() -> str:
    """List failed and stuck lead deliveries with their error, attempts and next attempt."""
    s = db.session()
    per_page = int(config.current().page_size)
    number = page_number()
    items, total = service.list_failed_events(s, offset=(number - 1) * per_page, limit=per_page)
    secret_names = {secret.id: secret.name for secret in signing.list_secrets(s)}
    return render_template(
        "leads/events.html",
        events=items,
        secret_names=secret_names,
        sent_fields={e.id: intake.field_names(e.content_type, e.body) for e in items},
        page=Page(number, per_page, total, lambda n: url_with(page=n)),
        failed=EventStatus.FAILED,
    )


@bp.post("/admin/lead-events/<int:event_id>/reprocess")
@access.require_role(*ADMIN)
def event_reprocess(event_id: int) -> Response:
    """Process a failed or stuck event again now, whatever its attempts so far."""
    s = db.session()
    settings = config.current().leads
    try:
        outcome = service.reprocess_event(s, event_id, settings, after=gated.confirm_after_retry)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("leads.events"))
    if outcome.status is EventStatus.PROCESSED and outcome.lead_id is not None:
        flash(
            _(
                "Event %(event)s is processed: it is lead #%(lead)s.",
                event=event_id,
                lead=outcome.lead_id,
            ),
            "success",
        )
    elif outcome.problem is not None:
        details = "; ".join(f"{name}: {text}" for name, text in outcome.problem.fields.items())
        problem = outcome.problem.message + (f" ({details})" if details else "")
        flash(
            _(
                "Event %(event)s cannot become a lead: %(problem)s",
                event=event_id,
                problem=problem,
            ),
            "error",
        )
    else:
        flash(
            _(
                "Event %(event)s failed again: %(error)s",
                event=event_id,
                error=service.failure_of(s, event_id),
            ),
            "error",
        )
    return redirect(url_for("leads.events"))
