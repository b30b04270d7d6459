"""Adding and editing a library item: the form, an upload, the page pre-fill."""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlsplit

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from pydantic import ValidationError
from werkzeug.datastructures import FileStorage

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.accounts import service as accounts
from contentfeed.content import service
from contentfeed.content.assets import asset_path, public_url, store_upload
from contentfeed.content.forms import ContentForm, language_choices
from contentfeed.content.models import (
    Asset,
    Content,
)
from contentfeed.content.prefill import prefill_from_url
from contentfeed.content.views import bp
from contentfeed.content.views.common import (
    apply_errors,
    apply_validation,
    compliance_rules,
    flash_preflight,
    json_error,
    signed_in,
    to_utc,
    upload_folder,
)
from contentfeed.errors import DomainError
from contentfeed.forms import options
from contentfeed.i18n import _


def _content_form(content: Content | None) -> ContentForm:
    """Build the item form with its choices, pre-filled from an item on first view."""
    s = db.session()
    form = ContentForm(obj=content)
    form.campaign_id.choices = options(
        [(0, _("No campaign")), *((c.id, c.name) for c, _count in service.list_campaigns(s))]
    )
    form.target_team_ids.choices = options((t.id, t.name) for t in accounts.list_teams(s))
    form.language.choices = options(language_choices(content.language if content else ""))
    if request.method == "GET" and content is not None:
        form.campaign_id.data = content.campaign_id or 0
        form.topics.data = ", ".join(content.topics)
        form.target_regions.data = ", ".join(content.target_regions)
        if content.revision is not None:  # go on from the change waiting for review
            form.url.data = content.revision.url
            form.target_team_ids.data = list(content.revision.target_team_ids)
            form.target_regions.data = ", ".join(content.revision.target_regions)
            form.audience.data = content.revision.audience.value
    return form


def _content_data(form: ContentForm, url: str, model: type[Data]) -> Data | None:
    """Check the form's values as the service will; put any complaint beside its field."""
    try:
        return model.model_validate(
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
                "audience": form.audience.data or "both",
                "priority": form.priority.data or 3,
                "starts_at": to_utc(form.starts_at.data),
                "expires_at": to_utc(form.expires_at.data),
            }
        )
    except ValidationError as exc:
        apply_validation(form, exc)
        return None


def _prefilled_by_script(form: ContentForm) -> bool:
    """Tell whether the form's script filled the fields from the page at the address saved."""
    address = (form.url.data or "").strip()
    return bool(address) and (form.prefilled_from.data or "").strip() == address


def _chosen_file(form: ContentForm) -> FileStorage | None:
    data = form.file.data
    return data if isinstance(data, FileStorage) and data.filename else None


Data = TypeVar("Data", bound=service.ContentData)


@bp.route("/library/new", methods=["GET", "POST"])
@access.require_role(*service.AUTHORS)
def new() -> ResponseReturnValue:
    """Add an item from a web address (pre-filled from the page) or an uploaded file."""
    s = db.session()
    user = signed_in()
    form = _content_form(None)
    if form.validate_on_submit():
        upload = _chosen_file(form)
        if upload is not None and (form.url.data or "").strip():
            form.file.errors = [*form.file.errors, _("Choose a web address or a file, not both.")]
        data = _content_data(form, "" if upload else form.url.data or "", service.NewContent)
        if data is not None and not form.errors:
            folder = upload_folder()
            asset: Asset | None = None
            try:
                asset_url = ""
                if upload is not None:
                    asset = store_upload(
                        s,
                        upload.stream,
                        upload.filename or "",
                        folder=folder,
                        max_bytes=config.current().library.max_upload_bytes,
                        uploaded_by=user,
                    )
                    asset_url = public_url(asset, config.current().public_base_url)
                content = service.add_item(
                    s,
                    data,
                    actor=user,
                    rules=compliance_rules(),
                    asset=asset,
                    asset_url=asset_url,
                    files=folder,
                    check_page=_prefilled_by_script(form),
                )
            except DomainError as exc:  # the 422 answer rolls the asset's row back
                if asset is not None:
                    asset_path(asset, folder).unlink(missing_ok=True)
                apply_errors(form, exc)
            else:
                flash(
                    _(
                        "“%(title)s” is saved as a draft. Write a post variant next.",
                        title=content.title,
                    ),
                    "success",
                )
                if content.prefill_note:  # a sentence; said here after "Saved, but"
                    note = content.prefill_note
                    flash(_("Saved, but %(note)s", note=note[:1].lower() + note[1:]), "warning")
                flash_preflight(content)
                return redirect(url_for("content.detail", content_id=content.id))
    return render_template("content/form.html", form=form, content=None), (
        422 if form.errors else 200
    )


@bp.route("/library/<int:content_id>/edit", methods=["GET", "POST"])
@access.require_role(*service.AUTHORS)
def edit(content_id: int) -> ResponseReturnValue:
    """Change an item's details; an uploaded file's address stays as it is."""
    s = db.session()
    user = signed_in()
    content = service.get_editable(s, content_id, user)
    form = _content_form(content)
    del form.file, form.prefilled_from
    if form.validate_on_submit():
        url = content.url if content.asset_id is not None else form.url.data or ""
        data = _content_data(form, url, service.ContentData)
        if data is not None:
            try:
                service.update_content(
                    s,
                    content,
                    data,
                    actor=user,
                    files=upload_folder(),
                )
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                flash(_("“%(title)s” is saved.", title=content.title), "success")
                if content.revision is not None and service.is_reviewed(content):
                    flash(
                        _(
                            "Changes to the web address, teams or regions wait for review: "
                            "sellers keep getting the approved version until another "
                            "marketer or admin approves them."
                        ),
                        "info",
                    )
                flash_preflight(content)
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
        message = _("Enter a full web address starting with https:// or http://.")
        return json_error(422, message, {"url": message})
    found = prefill_from_url(url)
    return jsonify(
        title=found.title,
        description=found.description,
        image=found.image,
        site_name=found.site_name,
        note=found.note,
    )
