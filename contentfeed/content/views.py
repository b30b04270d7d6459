"""Library pages: the list, the item page with variants and preview, forms, campaigns, files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from pydantic import ValidationError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts import service as accounts
from contentfeed.accounts.forms import LANGUAGES
from contentfeed.accounts.models import Role, User
from contentfeed.content import service
from contentfeed.content.assets import ALLOWED_TYPES, asset_path, public_url, store_upload
from contentfeed.content.forms import PRIORITIES, CampaignForm, ContentForm, language_choices
from contentfeed.content.models import (
    Asset,
    Campaign,
    Content,
    ContentEvent,
    ContentKind,
    ContentStatus,
)
from contentfeed.content.prefill import prefill_from_url
from contentfeed.content.templating import (
    LINKEDIN_MAX_CHARS,
    PLACEHOLDERS,
    SAMPLE_SELLER,
    VariantCheck,
)
from contentfeed.db import utcnow
from contentfeed.errors import CODES, Conflict, DomainError, Invalid, NotFound
from contentfeed.forms import options
from contentfeed.suggestions import service as suggestions
from contentfeed.ui import Page, localtime, page_number, query_id, url_with, viewer_zone

bp = Blueprint("content", __name__)

# Sorting by these starts with the largest (newest, most important) first.
DESCENDING_FIRST = {"created", "priority"}
DASH = "\u2013"  # en dash, for date ranges
FILTER_ARGS = ("q", "status", "campaign", "topic", "language", "kind")
PRIORITY_LABELS = dict(PRIORITIES)
FIELD_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "url": "Web address",
    "image_url": "Image",
    "kind": "Kind",
    "campaign_id": "Campaign",
    "language": "Language",
    "topics": "Topics",
    "target_team_ids": "Teams",
    "target_regions": "Regions",
    "target_languages": "Seller languages",
    "priority": "Priority",
    "starts_at": "Publish from",
    "expires_at": "Expires",
}
EVENT_TEXT = {
    "created": "added this item as a draft",
    "edited": "edited the details",
    "submit": "sent it for approval",
    "approve": "approved it",
    "send_back": "sent it back to draft",
    "archive": "archived it",
    "variant_added": "added variant {n}",
    "variant_edited": "edited variant {n}",
    "variant_deleted": "deleted variant {n}",
}
WORKFLOW_DONE = {
    "submit": "Sent for approval. A marketer will review it.",
    "send_back": "Sent back to draft with your comment.",
    "archive": "Archived. Sellers won't be suggested it any more.",
}


# --- shared helpers ----------------------------------------------------------------------


def _user() -> User:
    return access.signed_in_user()


def _rules() -> service.Compliance:
    return service.Compliance.from_config(current_app.config)


def _apply_errors(form: FlaskForm, error: DomainError) -> None:
    """Show a service's field errors beside the form's fields."""
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
    if not any(hasattr(form, name) for name in error.fields):
        form.form_errors.append(error.message)


def _apply_validation(form: FlaskForm, error: ValidationError) -> None:
    """Show pydantic's complaints beside the fields they are about."""
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        name = str(problem["loc"][0]) if problem["loc"] else ""
        field = getattr(form, name, None) if name else None
        message = message[:1].upper() + message[1:]
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


def _json_error(status: int, message: str, fields: dict[str, str] | None = None) -> Response:
    response = jsonify(error=CODES.get(status, "error"), message=message, fields=fields or {})
    response.status_code = status
    return response


def _to_utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _day_bound(day: date | None, at: time) -> datetime | None:
    """Turn a date picked in the viewer's zone into a UTC moment."""
    if day is None:
        return None
    return datetime.combine(day, at, tzinfo=viewer_zone()).astimezone(UTC)


def _local_date(value: datetime | None) -> date | None:
    return value.astimezone(viewer_zone()).date() if value is not None else None


def window_text(starts: datetime | None, ends: datetime | None, empty: str = "always") -> str:
    """Describe a publish window briefly: a date range, 'until 15 Dec', 'from 3 Dec' or 'always'."""
    zone = viewer_zone()
    this_year = datetime.now(zone).year
    start = starts.astimezone(zone) if starts else None
    end = ends.astimezone(zone) if ends else None

    def day(moment: datetime, *, month: bool = True, year: bool | None = None) -> str:
        text = f"{moment.day} {moment:%b}" if month else str(moment.day)
        show_year = moment.year != this_year if year is None else year
        return f"{text} {moment.year}" if show_year and month else text

    if start and end:
        if start.date() == end.date():
            return day(start)
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.day}{DASH}{day(end)}"
        if start.year == end.year:
            return f"{day(start, year=False)} {DASH} {day(end)}"
        return f"{day(start, year=True)} {DASH} {day(end, year=True)}"
    if start:
        return f"from {day(start)}"
    if end:
        return f"until {day(end)}"
    return empty


def status_of(content: Content, now: datetime) -> tuple[str, str]:
    """Return the status people see (an approved item's window counts) and its badge kind."""
    if content.status is ContentStatus.APPROVED:
        if content.expires_at is not None and content.expires_at <= now:
            return "Expired", "warning"
        if content.starts_at is not None and content.starts_at > now:
            return "Scheduled", "info"
        return "Active", "success"
    kind = "accent" if content.status is ContentStatus.IN_REVIEW else "neutral"
    return content.status.label, kind


def domain_of(url: str) -> str:
    """Return the host of a web address without 'www.', as LinkedIn's link cards show it."""
    return (urlsplit(url).hostname or "").removeprefix("www.")


@bp.context_processor
def _library_helpers() -> dict[str, Any]:
    return {
        "window_text": window_text,
        "status_of": status_of,
        "domain_of": domain_of,
        "priority_label": lambda n: PRIORITY_LABELS.get(n, str(n)),
        "language_name": lambda code: LANGUAGES.get(code, code),
        "now": utcnow(),
        "viewer_zone_name": viewer_zone().key,
        "upload_accept": ",".join([*(f".{ext}" for ext in ALLOWED_TYPES), ".jpeg"]),
    }


# --- the library list --------------------------------------------------------------------


@bp.get("/library")
@access.require_role(*service.AUTHORS)
def library() -> str:
    """List library items with search, filters, sorting and pagination."""
    s = db.session()
    user = _user()
    args = request.args
    sort = args.get("sort", "created")
    sort = sort if sort in service.SORTS else "created"
    direction = args.get("dir") or ("desc" if sort in DESCENDING_FIRST else "asc")
    direction = "desc" if direction == "desc" else "asc"
    status = args.get("status", "active")
    status = status if status in service.STATUS_FILTERS else "active"
    per_page = current_app.config["PAGE_SIZE"]
    number = page_number()
    now = utcnow()
    query = service.LibraryQuery(
        q=args.get("q", "").strip(),
        status=status,
        campaign_id=query_id("campaign"),
        topic=args.get("topic", "").strip(),
        language=args.get("language", "").strip(),
        kind=args.get("kind", ""),
        sort=sort,
        descending=direction == "desc",
        offset=(number - 1) * per_page,
        limit=per_page,
    )
    result = service.list_library(s, user, query, now)
    filters = {k: args[k] for k in FILTER_ARGS if args.get(k)}
    everything = service.LibraryQuery(status="all", limit=1)
    is_library_empty = result.total == 0 and not service.list_library(s, user, everything).total
    awaiting_approval = 0
    if user.role in service.STAFF and status != "in_review":
        waiting = service.LibraryQuery(status="in_review", limit=1)
        awaiting_approval = service.list_library(s, user, waiting).total
    return render_template(
        "content/library.html",
        items=result.items,
        variant_counts=result.variant_counts,
        page=Page(number, per_page, result.total, lambda n: url_with(page=n)),
        query=query,
        sort=sort,
        direction=direction,
        status_filters=service.STATUS_FILTERS,
        campaigns=[c for c, _ in service.list_campaigns(s)],
        topics=service.known_topics(s),
        languages=service.known_languages(s),
        kinds=list(ContentKind),
        is_filtered=status != "active" or any(k != "status" for k in filters),
        is_library_empty=is_library_empty,
        awaiting_approval=awaiting_approval,
        import_url=_sibling_url("content_import.start", "/library/import"),
        export_url=_sibling_url("content_import.export", "/library/export.csv", **filters),
    )


def _sibling_url(endpoint: str, fallback: str, **args: Any) -> str:
    """Link to the import/export pages, built alongside these, by name once they exist."""
    if endpoint in current_app.view_functions:
        return url_for(endpoint, **args)
    return fallback + (f"?{urlencode(args)}" if args else "")


# --- adding and editing an item ----------------------------------------------------------


def _content_form(s: Session, content: Content | None) -> ContentForm:
    """Build the item form with its choices, pre-filled from an item on first view."""
    form = ContentForm(obj=content)
    form.campaign_id.choices = options(
        [(0, "No campaign")] + [(c.id, c.name) for c, _ in service.list_campaigns(s)]
    )
    form.target_team_ids.choices = options((t.id, t.name) for t in accounts.list_teams(s))
    form.language.choices = options(language_choices(content.language if content else ""))
    if request.method == "GET" and content is not None:
        form.campaign_id.data = content.campaign_id or 0
        form.topics.data = ", ".join(content.topics)
        form.target_regions.data = ", ".join(content.target_regions)
    return form


def _content_data(form: ContentForm, url: str) -> service.ContentData | None:
    """Check the form's values as the service will; put any complaint beside its field."""
    try:
        return service.ContentData.model_validate(
            {
                "url": url.strip(),
                "title": form.title.data or "",
                "summary": form.summary.data or "",
                "image_url": form.image_url.data or "",
                "kind": form.kind.data,
                "campaign_id": form.campaign_id.data or None,
                "language": form.language.data or "en",
                "topics": form.topics.data or "",
                "target_team_ids": form.target_team_ids.data or [],
                "target_regions": form.target_regions.data or "",
                "target_languages": form.target_languages.data or [],
                "priority": form.priority.data or 3,
                "starts_at": _to_utc(form.starts_at.data),
                "expires_at": _to_utc(form.expires_at.data),
            }
        )
    except ValidationError as exc:
        _apply_validation(form, exc)
        return None


def _chosen_file(form: ContentForm) -> FileStorage | None:
    data = form.file.data
    return data if isinstance(data, FileStorage) and data.filename else None


@bp.route("/library/new", methods=["GET", "POST"])
@access.require_role(*service.AUTHORS)
def new() -> ResponseReturnValue:
    """Add an item from a web address (pre-filled from the page) or an uploaded file."""
    s = db.session()
    user = _user()
    form = _content_form(s, None)
    if form.validate_on_submit():
        upload = _chosen_file(form)
        if upload is not None and (form.url.data or "").strip():
            form.file.errors = [*form.file.errors, "Choose a web address or a file, not both."]
        data = _content_data(form, "" if upload else form.url.data or "")
        if data is not None and not form.errors:
            folder = Path(current_app.config["UPLOAD_DIR"])
            asset: Asset | None = None
            try:
                asset_url = ""
                if upload is not None:
                    asset = store_upload(
                        s,
                        upload.stream,
                        upload.filename or "",
                        folder=folder,
                        max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
                        uploaded_by=user,
                    )
                    asset_url = public_url(asset, current_app.config["PUBLIC_BASE_URL"])
                content = service.create_content(
                    s, data, actor=user, asset=asset, asset_url=asset_url
                )
            except DomainError as exc:
                s.rollback()
                if asset is not None:
                    asset_path(asset, folder).unlink(missing_ok=True)
                _apply_errors(form, exc)
            else:
                s.commit()
                flash(
                    f"“{content.title}” is saved as a draft. Write a post variant next.", "success"
                )
                if content.prefill_note:
                    note = content.prefill_note
                    flash(f"Saved, but {note[:1].lower()}{note[1:]}", "warning")
                return redirect(url_for("content.detail", content_id=content.id))
    return render_template("content/form.html", form=form, content=None), (
        422 if form.errors else 200
    )


@bp.route("/library/<int:content_id>/edit", methods=["GET", "POST"])
@access.require_role(*service.AUTHORS)
def edit(content_id: int) -> ResponseReturnValue:
    """Change an item's details; an uploaded file's address stays as it is."""
    s = db.session()
    user = _user()
    content = service.get_content(s, content_id, user)
    service.require_edit(user, content)
    form = _content_form(s, content)
    del form.file
    if form.validate_on_submit():
        url = content.url if content.asset_id is not None else form.url.data or ""
        data = _content_data(form, url)
        if data is not None:
            try:
                service.update_content(s, content, data, actor=user)
            except DomainError as exc:
                s.rollback()
                _apply_errors(form, exc)
            else:
                s.commit()
                flash(f"“{content.title}” is saved.", "success")
                return redirect(url_for("content.detail", content_id=content.id))
    return render_template("content/form.html", form=form, content=content), (
        422 if form.errors else 200
    )


@bp.get("/library/prefill")
@access.require_role(*service.AUTHORS)
def prefill() -> ResponseReturnValue:
    """Read a page's title, description and image for the form, as JSON."""
    url = request.args.get("url", "").strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return _json_error(
            422,
            "Enter a full web address starting with https:// or http://.",
            {"url": "Enter a full web address starting with https:// or http://."},
        )
    found = prefill_from_url(url)
    return jsonify(
        title=found.title,
        description=found.description,
        image=found.image,
        site_name=found.site_name,
        note=found.note,
    )


# --- the item page -----------------------------------------------------------------------


@dataclass(frozen=True)
class VariantView:
    """A variant as the item page shows it: its text (as typed), its preview or its problem."""

    id: int | None
    position: int
    body: str
    check: VariantCheck | None
    error: str


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


def _variant_view(
    content: Content, variant_id: int | None, position: int, body: str, rules: service.Compliance
) -> VariantView:
    try:
        check = service.check_body(content, body, rules)
    except Invalid as exc:
        return VariantView(variant_id, position, body, None, exc.message)
    return VariantView(variant_id, position, body, check, "")


def _shown_value(key: str, value: Any, names: dict[str, dict[int, str]]) -> str:
    """Say a stored value in words (names for ids, local times, labels for codes)."""
    if value in (None, "", []):
        return "none"
    if key in {"starts_at", "expires_at"}:
        return localtime(datetime.fromisoformat(value))
    if key == "campaign_id":
        return names["campaigns"].get(value, "a deleted campaign")
    if key == "target_team_ids":
        return ", ".join(names["teams"].get(i, "a deleted team") for i in value)
    if key == "kind":
        return ContentKind(value).label
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


def _describe(event: ContentEvent, names: dict[str, dict[int, str]]) -> EventView:
    changes = event.changes or {}
    text = EVENT_TEXT.get(event.action, event.action.replace("_", " ")).format(
        n=changes.get("variant", "")
    )
    shown = []
    if event.action == "edited":
        for key, pair in changes.items():
            before, after = pair
            if key == "summary":
                shown.append(Change(FIELD_LABELS[key], "", "rewritten"))
            else:
                shown.append(
                    Change(
                        FIELD_LABELS.get(key, key.replace("_", " ").capitalize()),
                        _shown_value(key, before, names),
                        _shown_value(key, after, names),
                    )
                )
    actor = event.actor.name if event.actor else "Someone no longer here"
    if event.action == service.RENDER_FAILED:
        actor = "The scheduler"
        text = "reported: " + service.describe_render_failure(event)
    return EventView(actor, text, event.created_at, event.comment, shown, event.action)


def _render_detail(
    s: Session, content: Content, user: User, refused: Refused | None = None, status: int = 200
) -> ResponseReturnValue:
    rules = _rules()
    variants = []
    for variant in content.variants:
        if refused is not None and refused.variant_id == variant.id:
            variants.append(
                VariantView(variant.id, variant.position, refused.body, None, refused.error)
            )
        else:
            variants.append(
                _variant_view(content, variant.id, variant.position, variant.body, rules)
            )
    names = {
        "campaigns": {c.id: c.name for c, _ in service.list_campaigns(s)},
        "teams": {t.id: t.name for t in accounts.list_teams(s)},
    }
    sellers = accounts.list_users(s, role=Role.SELLER.value, include_inactive=False, limit=500)
    new_variant = (
        refused if refused is not None and refused.variant_id is None else Refused(None, "", "")
    )
    return render_template(
        "content/detail.html",
        content=content,
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
        team_names=names["teams"],
        events=[_describe(e, names) for e in content.events],
        render_problems=service.render_problems(content),
        activity=suggestions.content_activity(s, content.id),
        skip_reasons=suggestions.SKIP_REASONS,
    ), status


@bp.get("/library/<int:content_id>")
@access.require_role(*service.AUTHORS)
def detail(content_id: int) -> ResponseReturnValue:
    """Show an item's story: its link card, details, workflow, variants and history."""
    s = db.session()
    user = _user()
    return _render_detail(s, service.get_content(s, content_id, user), user)


@bp.post("/library/<int:content_id>/workflow/<action>")
@access.require_role(*service.AUTHORS)
def workflow(content_id: int, action: str) -> Response:
    """Move an item through the approval workflow."""
    if action not in service.TRANSITIONS:
        raise NotFound("No such workflow action.")
    s = db.session()
    user = _user()
    content = service.get_content(s, content_id, user)
    back = url_for("content.detail", content_id=content_id)
    try:
        service.transition(s, content, action, actor=user, comment=request.form.get("comment", ""))
    except (Conflict, Invalid) as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(back)
    s.commit()
    if action == "approve":
        label, _ = status_of(content, utcnow())
        if label == "Expired":
            flash(
                "Approved, but its window has ended: change the expiry date to use it.", "warning"
            )
        elif label == "Scheduled":
            flash(f"Approved. Sellers get it from {localtime(content.starts_at)}.", "success")
        else:
            flash("Approved. Sellers can be suggested it from now on.", "success")
    else:
        flash(WORKFLOW_DONE[action], "success")
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
    s = db.session()
    user = _user()
    content = service.get_content(s, content_id, user)
    body = request.form.get("body", "")
    try:
        variant, check = service.add_variant(s, content, body, actor=user, rules=_rules())
    except Conflict as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("content.detail", content_id=content_id))
    except Invalid as exc:
        s.rollback()
        return _render_detail(s, content, user, Refused(None, body, exc.message), 422)
    s.commit()
    _flash_check(check, f"Variant {variant.position} is added.")
    return redirect(url_for("content.detail", content_id=content_id) + f"#variant-{variant.id}")


@bp.post("/library/<int:content_id>/variants/<int:variant_id>")
@access.require_role(*service.AUTHORS)
def variant_edit(content_id: int, variant_id: int) -> ResponseReturnValue:
    """Change a post variant's text, refused beside it when the template can't be used."""
    s = db.session()
    user = _user()
    content = service.get_content(s, content_id, user)
    variant = service.get_variant(content, variant_id)
    body = request.form.get("body", "")
    try:
        check = service.update_variant(s, content, variant, body, actor=user, rules=_rules())
    except Invalid as exc:
        s.rollback()
        return _render_detail(s, content, user, Refused(variant_id, body, exc.message), 422)
    s.commit()
    _flash_check(check, f"Variant {variant.position} is saved.")
    return redirect(url_for("content.detail", content_id=content_id) + f"#variant-{variant.id}")


@bp.post("/library/<int:content_id>/variants/<int:variant_id>/delete")
@access.require_role(*service.AUTHORS)
def variant_delete(content_id: int, variant_id: int) -> Response:
    """Delete a post variant (an item in use keeps at least one)."""
    s = db.session()
    user = _user()
    content = service.get_content(s, content_id, user)
    variant = service.get_variant(content, variant_id)
    try:
        service.delete_variant(s, content, variant, actor=user)
    except Conflict as exc:
        s.rollback()
        flash(exc.message, "error")
    else:
        s.commit()
        flash(f"Variant {variant.position} is deleted.", "success")
    return redirect(url_for("content.detail", content_id=content_id) + "#variants")


@bp.post("/library/<int:content_id>/preview")
@access.require_role(*service.AUTHORS)
def preview(content_id: int) -> Response:
    """Render a variant's text for one seller (or the sample seller), as JSON."""
    s = db.session()
    user = _user()
    try:
        content = service.get_content(s, content_id, user)
    except NotFound as exc:
        return _json_error(404, exc.message)
    payload = request.get_json(silent=True)
    body = payload.get("body") if isinstance(payload, dict) else None
    if not isinstance(body, str):
        return _json_error(422, "Send the post text as 'body'.", {"body": "Missing."})
    seller_id = payload.get("seller_id") if isinstance(payload, dict) else None
    seller = None
    if seller_id is not None:
        if isinstance(seller_id, int) and not isinstance(seller_id, bool):
            seller = s.get(User, seller_id)
        if seller is None or seller.role is not Role.SELLER or not seller.is_active:
            return _json_error(422, "Choose an active seller.", {"seller_id": "Not a seller."})
    try:
        check = service.check_body(content, body, _rules(), seller=seller)
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


# --- campaigns ---------------------------------------------------------------------------


def _save_campaign(s: Session, form: CampaignForm, campaign: Campaign | None) -> Campaign | None:
    """Save the form through the service; on refusal put the reason beside its field."""
    try:
        saved = service.save_campaign(
            s,
            name=form.name.data or "",
            description=form.description.data or "",
            starts_at=_day_bound(form.starts_on.data, time.min),
            ends_at=_day_bound(form.ends_on.data, time(23, 59, 59)),
            campaign=campaign,
        )
    except DomainError as exc:
        s.rollback()
        if "ends_at" in exc.fields:
            form.ends_on.errors = [*form.ends_on.errors, exc.fields["ends_at"]]
        else:
            _apply_errors(form, exc)
        return None
    s.commit()
    return saved


@bp.route("/campaigns", methods=["GET", "POST"])
@access.require_role(*service.STAFF)
def campaigns() -> ResponseReturnValue:
    """List campaigns with their items and add new ones."""
    s = db.session()
    form = CampaignForm()
    if form.validate_on_submit():
        campaign = _save_campaign(s, form, None)
        if campaign is not None:
            flash(
                f"Campaign {campaign.name} is created; links carry utm_campaign={campaign.slug}.",
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
    user = _user()
    campaign = service.get_campaign(s, campaign_id)
    form = CampaignForm(obj=campaign)
    if request.method == "GET":
        form.starts_on.data = _local_date(campaign.starts_at)
        form.ends_on.data = _local_date(campaign.ends_at)
    if form.validate_on_submit() and _save_campaign(s, form, campaign) is not None:
        flash(f"Campaign {campaign.name} is saved.", "success")
        return redirect(url_for("content.campaign_edit", campaign_id=campaign.id))
    items = service.list_library(
        s, user, service.LibraryQuery(status="all", campaign_id=campaign.id, limit=50)
    )
    return render_template(
        "content/campaign_form.html", campaign=campaign, form=form, items=items
    ), (422 if form.errors else 200)


# --- uploaded files ----------------------------------------------------------------------


@bp.get("/files/<public_id>/<path:filename>")
@access.public
def file(public_id: str, filename: str) -> ResponseReturnValue:
    """Serve an uploaded file at its stable public address (sellers' links point here)."""
    s = db.session()
    asset = s.scalar(sa.select(Asset).where(Asset.public_id == public_id))
    if asset is None or asset.filename != filename:
        raise NotFound("This file is no longer available.")
    folder = Path(current_app.config["UPLOAD_DIR"])
    path = asset_path(asset, folder)
    response = send_from_directory(
        folder,
        path.name,
        mimetype=asset.content_type,
        download_name=asset.filename,
        as_attachment=False,
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return response
