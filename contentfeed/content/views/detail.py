"""The item page: its story, the workflow, post variants and their preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts import service as accounts
from contentfeed.accounts.access import Role, User
from contentfeed.accounts.forms import LANGUAGES
from contentfeed.content import service
from contentfeed.content.forms import language_choices
from contentfeed.content.models import (
    Audience,
    Content,
    ContentEvent,
    ContentKind,
    PostVariant,
)
from contentfeed.content.reach import unreached_sellers
from contentfeed.content.templating import (
    LINKEDIN_MAX_CHARS,
    PLACEHOLDERS,
    SAMPLE_SELLER,
    VariantCheck,
)
from contentfeed.content.views import bp
from contentfeed.content.views.common import (
    PRIORITY_LABELS,
    compliance_rules,
    json_error,
    signed_in,
    state_of,
)
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.i18n import _, _l
from contentfeed.links import ledger
from contentfeed.suggestions import service as suggestions
from contentfeed.ui import localtime

# The history's words (lazy texts, said in the viewer's language).
FIELD_LABELS = {
    "title": _l("Title"),
    "summary": _l("Summary"),
    "url": _l("Web address"),
    "image_url": _l("Image"),
    "kind": _l("Kind"),
    "campaign_id": _l("Campaign"),
    "language": _l("Language"),
    "topics": _l("Topics"),
    "target_team_ids": _l("Teams"),
    "target_regions": _l("Regions"),
    "audience": _l("Audience"),
    "target_languages": _l("Seller languages"),
    "priority": _l("Priority"),
    "starts_at": _l("Publish from"),
    "expires_at": _l("Expires"),
}
# After the actor's name: "Maria Muster added this item as a draft".
EVENT_TEXT = {
    "created": _l("added this item as a draft"),
    "edited": _l("edited the details"),
    "submit": _l("sent it for approval"),
    "approve": _l("approved it"),
    "send_back": _l("sent it back to draft"),
    "archive": _l("archived it"),
    "variant_added": _l("added variant %(n)s"),
    "variant_edited": _l("edited variant %(n)s"),
    "variant_deleted": _l("deleted variant %(n)s"),
    "revision_proposed": _l("proposed a change for review"),
    "revision_approved": _l("approved the waiting change"),
    "revision_rejected": _l("discarded the waiting change"),
    "revision_to_draft": _l("took the waiting change into the draft"),
}
# The audit-trail actions whose changes the history lists field by field.
LISTED_CHANGES = {
    "edited",
    "revision_proposed",
    "revision_approved",
    "revision_rejected",
    "revision_to_draft",
}
# Said after a change to an approved item that waits for review (four-eyes).
CHANGE_WAITS = _l(
    "Saved as a change waiting for review: sellers keep getting the approved version until "
    "another marketer or admin approves it."
)
WORKFLOW_DONE = {
    "submit": _l("Sent for approval. A marketer will review it."),
    "send_back": _l("Sent back to draft with your comment."),
    "archive": _l("Archived. Sellers won't be suggested it any more."),
}


@dataclass(frozen=True)
class VariantView:
    """A variant as the item page shows it: its text (as typed), its preview or its problem."""

    id: int | None
    position: int
    body: str
    check: VariantCheck | None
    error: str
    language: str = ""  # as stored or as chosen ("": not chosen yet)
    language_error: str = ""
    first_comment: str = ""
    comment_error: str = ""


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class EventView:
    """One line of the audit trail, in words."""

    actor: str
    text: str
    at: datetime
    comment: str
    changes: list[Change]
    action: str


@dataclass(frozen=True)
class Refused:
    """A variant the service refused, to show again with the typed text and the reason."""

    variant_id: int | None
    body: str
    error: str
    language: str = ""
    language_error: str = ""
    first_comment: str = ""
    comment_error: str = ""


def _variant_view(content: Content, variant: PostVariant, rules: service.Compliance) -> VariantView:
    position, body, language = variant.position, variant.body, variant.language
    comment = variant.first_comment or ""
    try:
        check = service.check_body(content, body, rules, first_comment=comment)
    except Invalid as exc:
        if "first_comment" in exc.fields:
            return VariantView(
                variant.id, position, body, None, "", language, "", comment, exc.message
            )
        return VariantView(variant.id, position, body, None, exc.message, language, "", comment)
    return VariantView(variant.id, position, body, check, "", language, "", comment)


def _shown_value(key: str, value: Any, names: dict[str, dict[int, str]]) -> str:
    """Say a stored value in words (names for ids, local times, labels for codes)."""
    if value in (None, "", []):
        return _("none")
    if key in {"starts_at", "expires_at"}:
        return localtime(datetime.fromisoformat(value))
    if key == "campaign_id":
        return names["campaigns"].get(value) or _("a deleted campaign")
    if key == "target_team_ids":
        return ", ".join(names["teams"].get(i) or _("a deleted team") for i in value)
    if key == "kind":
        return ContentKind(value).label
    if key == "audience" and value in {a.value for a in Audience}:
        return Audience(value).label
    if key == "language":
        return LANGUAGES.get(str(value), str(value))
    if key == "target_languages":
        return ", ".join(LANGUAGES.get(v, v) for v in value)
    if key == "priority":
        return PRIORITY_LABELS.get(value, str(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 90 else text[:88] + "…"


def _change_label(key: str) -> str:
    """Name a changed field, or a variant's text or language ("variant:2")."""
    name, _sep, position = key.partition(":")
    if name == "variant" and position:
        return _("Variant %(n)s", n=position)
    if name == "variant_language" and position:
        return _("Language of variant %(n)s", n=position)
    if name == "variant_comment" and position:
        return _("First comment of variant %(n)s", n=position)
    label = FIELD_LABELS.get(key)
    return str(label) if label else key.replace("_", " ").capitalize()


def _changes(
    changes: dict[str, Any], names: dict[str, dict[int, str]], *, whole: bool = False
) -> list[Change]:
    """Say stored {key: [before, after]} changes in words (whole: variant texts untruncated)."""
    shown = []
    for key, pair in changes.items():
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        before, after = pair
        if key == "summary":
            shown.append(Change(str(FIELD_LABELS[key]), "", _("rewritten")))
        elif key.startswith("variant_language:"):
            shown.append(
                Change(
                    _change_label(key),
                    str(LANGUAGES.get(before, before)) if before else _("none"),
                    str(LANGUAGES.get(after, after)) if after else _("none"),
                )
            )
        elif whole and key.startswith("variant:"):
            shown.append(Change(_change_label(key), before or _("none"), after or _("none")))
        else:
            shown.append(
                Change(
                    _change_label(key),
                    _shown_value(key, before, names),
                    _shown_value(key, after, names),
                )
            )
    return shown


def _describe(event: ContentEvent, names: dict[str, dict[int, str]]) -> EventView:
    changes = event.changes or {}
    known = EVENT_TEXT.get(event.action)
    if known is None:
        text = event.action.replace("_", " ")
    else:  # translated, then the variant's number put in
        text = str(known) % {"n": changes.get("variant", "")}
    shown = _changes(changes, names) if event.action in LISTED_CHANGES else []
    actor = event.actor.name if event.actor else _("Someone no longer here")
    if event.action == service.RENDER_FAILED:
        actor = _("The scheduler")
        text = _("reported: %(problem)s", problem=service.describe_render_failure(event))
    return EventView(actor, text, event.created_at, event.comment, shown, event.action)


def _render_detail(
    content: Content, user: User, refused: Refused | None = None, status: int = 200
) -> ResponseReturnValue:
    s = db.session()
    rules = compliance_rules()
    variants = []
    # With a change waiting, the editor goes on from it (the waiting box shows live → proposed);
    # a variant it deletes is not offered for editing.
    proposed = (
        {e["id"]: e for e in content.revision.variants if e["id"] is not None}
        if content.revision is not None
        else None
    )
    for live in content.variants:
        variant = live
        if proposed is not None:
            if live.id not in proposed:
                continue
            variant = service.proposed_variant(proposed[live.id])
        if refused is not None and refused.variant_id == variant.id:
            variants.append(
                VariantView(
                    variant.id,
                    variant.position,
                    refused.body,
                    None,
                    refused.error,
                    refused.language,
                    refused.language_error,
                    refused.first_comment,
                    refused.comment_error,
                )
            )
        else:
            variants.append(_variant_view(content, variant, rules))
    names = {
        "campaigns": {c.id: c.name for c, _count in service.list_campaigns(s)},
        "teams": {t.id: t.name for t in accounts.list_teams(s)},
    }
    sellers = accounts.list_users(s, role=Role.SELLER.value, include_inactive=False, limit=500)
    new_variant = (
        refused if refused is not None and refused.variant_id is None else Refused(None, "", "")
    )
    revision = content.revision
    pending: list[Change] = []
    pending_by: list[str] = []
    if revision is not None:
        pending = _changes(service.revision_changes(content, revision), names, whole=True)
        people = [s.get(User, i) for i in revision.author_ids]
        pending_by = [p.name if p else _("Someone no longer here") for p in people]
    wrote_it = user.id in service.writers_of(content)
    return render_template(
        "content/detail.html",
        content=content,
        pending=pending,
        pending_by=pending_by,
        revision=revision,
        may_approve_change=(
            revision is not None
            and user.role in service.STAFF
            and (not service.four_eyes_on() or user.id not in revision.author_ids)
        ),
        four_eyes_blocks_approval=(
            service.four_eyes_on() and wrote_it and user.role in service.STAFF
        ),
        reviewed=service.is_reviewed(content),
        variants=variants,
        new_variant=new_variant,
        refused=refused,
        transitions=service.available_transitions(user, content),
        can_edit=service.can_edit(user, content),
        is_staff=user.role in service.STAFF,
        sellers=sellers.items,
        sample=SAMPLE_SELLER,
        placeholders=PLACEHOLDERS,
        limit=LINKEDIN_MAX_CHARS,
        max_variants=service.MAX_VARIANTS,
        language_choices=language_choices,
        team_names=names["teams"],
        events=[_describe(e, names) for e in content.events],
        render_problems=service.render_problems(content),
        preflight=service.preflight(content, rules),
        unreached=unreached_sellers(s, content),
        activity=suggestions.content_activity(s, content.id),
        click_ledger=ledger.content_ledger(s, user, content.id),
        skip_reasons=suggestions.SKIP_REASONS,
    ), status


@bp.get("/library/<int:content_id>")
@access.require_role(*service.AUTHORS)
def detail(content_id: int) -> ResponseReturnValue:
    """Show an item's story: its link card, details, workflow, variants and history."""
    s = db.session()
    user = signed_in()
    return _render_detail(service.get_content(s, content_id, user), user)


@bp.post("/library/<int:content_id>/workflow/<action>")
@access.require_role(*service.AUTHORS)
def workflow(content_id: int, action: str) -> Response:
    """Move an item through the approval workflow."""
    if action not in service.TRANSITIONS:
        raise NotFound(_("No such workflow action."))
    s = db.session()
    user = signed_in()
    content = service.get_content(s, content_id, user)
    back = url_for("content.detail", content_id=content_id)
    try:
        service.transition(s, content, action, actor=user, comment=request.form.get("comment", ""))
    except (Conflict, Invalid) as exc:  # refused before anything changed
        flash(exc.message, "error")
        return redirect(back)
    if action == "approve":
        state = state_of(content, utcnow())
        if state == "expired":
            flash(
                _("Approved, but its window has ended: change the expiry date to use it."),
                "warning",
            )
        elif state == "scheduled":
            when = localtime(content.starts_at)
            flash(_("Approved. Sellers get it from %(when)s.", when=when), "success")
        else:
            flash(_("Approved. Sellers can be suggested it from now on."), "success")
    else:
        flash(str(WORKFLOW_DONE[action]), "success")
    return redirect(back)


@bp.post("/library/<int:content_id>/change/<decision>")
@access.require_role(*service.AUTHORS)
def review_change(content_id: int, decision: str) -> Response:
    """Approve or discard the change waiting on an approved item (four-eyes)."""
    if decision not in {"approve", "reject"}:
        raise NotFound(_("No such workflow action."))
    s = db.session()
    user = signed_in()
    content = service.get_content(s, content_id, user)
    back = url_for("content.detail", content_id=content_id)
    comment = request.form.get("comment", "")
    try:
        if decision == "approve":
            service.approve_revision(s, content, actor=user, comment=comment)
        else:
            service.reject_revision(s, content, actor=user, comment=comment)
    except Conflict as exc:  # refused before anything changed
        flash(exc.message, "error")
        return redirect(back)
    if decision == "approve":
        flash(_("The change is approved: sellers get the new version from now on."), "success")
    else:
        flash(_("The change is discarded: the approved version stays as it was."), "success")
    return redirect(back)


# --- variants ----------------------------------------------------------------------------


def _flash_check(check: VariantCheck, done: str) -> None:
    flash(done, "success")
    for warning in check.warnings:
        flash(warning, "warning")


@bp.post("/library/<int:content_id>/variants")
@access.require_role(*service.AUTHORS)
def variant_new(content_id: int) -> ResponseReturnValue:
    """Add a post variant, refused beside its text when the template can't be used."""
    return _save_variant(content_id, None)


@bp.post("/library/<int:content_id>/variants/<int:variant_id>")
@access.require_role(*service.AUTHORS)
def variant_edit(content_id: int, variant_id: int) -> ResponseReturnValue:
    """Change a post variant's text, refused beside it when the template can't be used."""
    return _save_variant(content_id, variant_id)


def _save_variant(content_id: int, variant_id: int | None) -> ResponseReturnValue:
    s = db.session()
    user = signed_in()
    content = service.get_content(s, content_id, user)
    variant = service.get_variant(content, variant_id) if variant_id is not None else None
    body = request.form.get("body", "")
    first_comment = request.form.get("first_comment", "")
    language = request.form.get("language", "")
    try:
        saved, check = service.save_variant(
            s,
            content,
            body,
            language=language,
            actor=user,
            rules=compliance_rules(),
            variant=variant,
            first_comment=first_comment,
        )
    except Conflict as exc:  # too many variants, refused before anything changed
        flash(exc.message, "error")
        return redirect(url_for("content.detail", content_id=content_id))
    except Invalid as exc:
        if "language" in exc.fields:
            refused = Refused(variant_id, body, "", language, exc.fields["language"], first_comment)
        elif "first_comment" in exc.fields:
            refused = Refused(variant_id, body, "", language, "", first_comment, exc.message)
        else:
            refused = Refused(variant_id, body, exc.message, language, "", first_comment)
        return _render_detail(content, user, refused, 422)
    if service.is_reviewed(content):
        _flash_check(check, str(CHANGE_WAITS))
        return redirect(url_for("content.detail", content_id=content_id) + "#pending-change")
    if variant is None:
        done = _("Variant %(n)s is added.", n=saved.position)
    else:
        done = _("Variant %(n)s is saved.", n=saved.position)
    _flash_check(check, done)
    return redirect(url_for("content.detail", content_id=content_id) + f"#variant-{saved.id}")


@bp.post("/library/<int:content_id>/variants/<int:variant_id>/delete")
@access.require_role(*service.AUTHORS)
def variant_delete(content_id: int, variant_id: int) -> Response:
    """Delete a post variant (an item in use keeps at least one)."""
    s = db.session()
    user = signed_in()
    content = service.get_content(s, content_id, user)
    variant = service.get_variant(content, variant_id)
    try:
        service.delete_variant(s, content, variant, actor=user)
    except Conflict as exc:  # refused before anything changed
        flash(exc.message, "error")
    else:
        if service.is_reviewed(content):
            flash(str(CHANGE_WAITS), "success")
        else:
            flash(_("Variant %(n)s is deleted.", n=variant.position), "success")
    return redirect(url_for("content.detail", content_id=content_id) + "#variants")


@bp.post("/library/<int:content_id>/preview")
@access.require_role(*service.AUTHORS)
def preview(content_id: int) -> Response:
    """Render a variant's text for one seller (or the sample seller), as JSON."""
    s = db.session()
    user = signed_in()
    try:
        content = service.get_content(s, content_id, user)
    except NotFound as exc:
        return json_error(404, exc.message)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        payload = {}
    body = payload.get("body")
    if not isinstance(body, str):
        return json_error(422, _("Send the post text as 'body'."), {"body": _("Missing.")})
    try:
        seller = service.find_preview_seller(s, payload.get("seller_id"))
    except Invalid as exc:
        return json_error(422, exc.message, exc.fields)
    try:
        check = service.check_body(content, body, compliance_rules(), seller=seller)
    except Invalid as exc:
        return jsonify(
            rendered="", length=0, limit=LINKEDIN_MAX_CHARS, warnings=[], error=exc.message
        )
    return jsonify(
        rendered=check.rendered,
        length=check.length,
        limit=LINKEDIN_MAX_CHARS,
        warnings=check.warnings,
        error=None,
    )
