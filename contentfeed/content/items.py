"""Library items: their fields, adding and editing one.

Never commits; the caller commits once.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Team, User
from contentfeed.content.compliance import Compliance
from contentfeed.content.history import record_event
from contentfeed.content.models import (
    REVIEWED_FIELDS,
    Asset,
    Audience,
    Campaign,
    Content,
    ContentKind,
    ContentStatus,
)
from contentfeed.content.prefill import Prefill, prefill_from_url
from contentfeed.content.preflight import after_edit, record_prefill
from contentfeed.content.revisions import is_reviewed, open_revision, propose
from contentfeed.content.variants import MAX_VARIANTS, VariantData, add_variant
from contentfeed.content.visibility import AUTHORS, require_edit
from contentfeed.db import Id, utcnow
from contentfeed.errors import Forbidden, Invalid
from contentfeed.i18n import _, ngettext
from contentfeed.text import Input, MultiLineText, web_address


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
    return value


class ContentData(Input):
    """A content item's fields, checked the same way for forms, the API and imports."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(default="", max_length=300)
    summary: MultiLineText = Field(default="", max_length=5000)
    url: str = Field(default="", max_length=2000)
    image_url: str = Field(default="", max_length=2000)
    kind: ContentKind = ContentKind.ARTICLE
    campaign_id: Id | None = None
    language: str = Field(default="en", min_length=2, max_length=8)
    topics: list[str] = Field(default_factory=list, max_length=20)
    target_team_ids: list[Id] = Field(default_factory=list)
    target_regions: list[str] = Field(default_factory=list)
    audience: Audience = Field(
        default=Audience.BOTH,
        description="Whom it is for: prospects (sellers outside customer development), "
        "customers (customer development's sellers) or both",
    )
    priority: int = Field(default=3, ge=1, le=5)
    starts_at: datetime | None = None
    expires_at: datetime | None = None

    _split = field_validator("topics", "target_regions", mode="before")(lambda v: _split_list(v))

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        return sorted({t.strip().lower() for t in value if t.strip()})

    @field_validator("target_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return sorted({t.strip() for t in value if t.strip()})

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return value.lower()

    @field_validator("url", "image_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        # Stored percent-encoded: the redirect's Location header then never holds a raw space.
        return web_address(value)

    @field_validator("starts_at", "expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(_("must include a time zone offset, e.g. 2026-12-01T09:00:00+01:00"))
        return value

    @field_validator("expires_at")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        starts_at = info.data.get("starts_at")
        if value is not None and starts_at is not None and value <= starts_at:
            raise ValueError(_("must be after the start of the publish window"))
        return value


# --- seeing and changing -----------------------------------------------------------------


def _title_from_url(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/").rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
    return (path.capitalize() or parts.hostname or url)[:300]


# The fields a new item stores as given; the others may be filled from the page or the file.
_STORED_AS_GIVEN = set(ContentData.model_fields) - {"title", "url", "summary", "image_url"}


class NewContent(ContentData):
    """A new library item: its fields, optional first variants, and whether to pre-fill."""

    variants: list[VariantData] = Field(
        default_factory=list,
        max_length=MAX_VARIANTS,
        description="Created with the item; one refused variant refuses the whole request",
    )
    prefill: bool = Field(
        default=True,
        description="Fill a missing title, summary and image from the page's preview tags",
    )


def add_item(
    s: Session,
    data: NewContent,
    *,
    actor: User,
    rules: Compliance,
    asset: Asset | None = None,
    asset_url: str = "",
    files: Path | None = None,
    check_page: bool = False,
) -> Content:
    """Add a draft with its first variants (all or nothing), from a URL or an uploaded file;
    with ``files`` (the upload folder) its image is read for the LinkedIn pre-flight."""
    content = create_content(
        s,
        data,
        actor=actor,
        asset=asset,
        asset_url=asset_url,
        prefill=data.prefill,
        files=files,
        check_page=check_page,
    )
    for index, variant in enumerate(data.variants):
        try:
            add_variant(
                s,
                content,
                variant.body,
                language=variant.language,
                actor=actor,
                rules=rules,
                first_comment=variant.first_comment,
            )
        except Invalid as exc:  # the caller's unit of work drops the item with its variants
            raise Invalid(
                _("Post variant %(n)s: %(problem)s", n=index + 1, problem=exc.message),
                {f"variants.{index}.{name}": text for name, text in exc.fields.items()},
            ) from None
    return content


def create_content(
    s: Session,
    data: ContentData,
    *,
    actor: User,
    asset: Asset | None = None,
    asset_url: str = "",
    prefill: bool = True,
    files: Path | None = None,
    check_page: bool = False,
) -> Content:
    """Create a draft from a URL (pre-filled from the page) or an uploaded asset.

    What the pre-fill read of the page (its og: tags) is kept for the LinkedIn pre-flight;
    with ``files`` (the upload folder) an uploaded image, or one the page named, is read too.
    The page is read when a field is left to fill, or with ``check_page`` (the form's script
    filled them from it)."""
    if actor.role not in AUTHORS:
        raise Forbidden(_("Your role can't add library content."))
    url = asset_url if asset is not None else data.url
    if not url:
        message = _("Add a web address or upload a file.")
        raise Invalid(message, {"url": message})
    _check_references(s, data)
    found = Prefill()
    given = data.title and data.summary and data.image_url
    read_page = prefill and asset is None and (check_page or not given)
    if read_page:
        found = prefill_from_url(url)
    title = data.title or found.title or (asset.filename if asset else "") or _title_from_url(url)
    content = Content(
        **data.model_dump(include=_STORED_AS_GIVEN),
        title=title[:300],
        url=url,
        summary=data.summary or found.description,
        image_url=data.image_url or found.image,
        site_name=found.site_name or (urlsplit(url).hostname or ""),
        prefill_note=found.note,
        asset=asset,
        created_by_id=actor.id,
        status=ContentStatus.DRAFT,
    )
    record_prefill(s, content, found, files, read_page=read_page)
    s.add(content)
    s.flush()
    record_event(s, content, actor, "created", to_status=ContentStatus.DRAFT.value)
    return content


def _check_references(s: Session, data: ContentData) -> None:
    """Refuse a campaign or target team that doesn't exist."""
    if data.campaign_id is not None and s.get(Campaign, data.campaign_id) is None:
        message = _("No such campaign.")
        raise Invalid(message, {"campaign_id": message})
    if data.target_team_ids:
        known = set(s.scalars(sa.select(Team.id).where(Team.id.in_(data.target_team_ids))))
        missing = sorted(set(data.target_team_ids) - known)
        if missing:
            message = ngettext(
                "No team with id %(ids)s.",
                "No teams with ids %(ids)s.",
                len(missing),
                ids=", ".join(map(str, missing)),
            )
            raise Invalid(message, {"target_team_ids": message})


def update_content(
    s: Session, content: Content, data: ContentData, *, actor: User, files: Path | None = None
) -> Content:
    """Change an item's fields, recording what changed in its audit trail; a new image's
    pre-flight facts are dropped (read again at once when it is an upload in ``files``).

    With four-eyes on, a new web address or targeting of an approved item waits in its
    pending revision instead (revisions.py); the other fields change at once."""
    require_edit(actor, content)
    _check_references(s, data)
    values = data.model_dump()
    if content.asset_id is not None:
        values["url"] = content.url  # an uploaded file's address doesn't change
    if not values["url"]:
        message = _("Add a web address.")
        raise Invalid(message, {"url": message})
    if not values["title"]:
        message = _("A title is required.")
        raise Invalid(message, {"title": message})
    proposed: dict[str, Any] = {}
    if is_reviewed(content):  # four-eyes: these wait for review, the live item stays
        for key in REVIEWED_FIELDS:
            new = values.pop(key)
            current = getattr(content.revision or content, key)
            if current != new:
                proposed[key] = [_jsonable(current), _jsonable(new)]
        if proposed:
            revision = open_revision(s, content, actor)
            for key, (_current, new) in proposed.items():
                setattr(revision, key, new)
            propose(s, content, actor, proposed)
    changes: dict[str, Any] = {}
    for key, new in values.items():
        old = getattr(content, key)
        if old != new:
            changes[key] = [_jsonable(old), _jsonable(new)]
            setattr(content, key, new)
    if changes:
        content.updated_at = utcnow()
        record_event(s, content, actor, "edited", changes=changes)
    after_edit(s, content, files)
    s.flush()
    return content


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value
