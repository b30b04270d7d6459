"""Library decisions: items, variants, approval workflow, campaigns, who may see and change what.

Never commits; the caller commits once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, Team, User
from contentfeed.content.models import (
    Asset,
    Campaign,
    Content,
    ContentEvent,
    ContentKind,
    ContentStatus,
    PostVariant,
)
from contentfeed.content.prefill import Prefill, prefill_from_url
from contentfeed.content.templating import (
    ContentView,
    SellerView,
    VariantCheck,
    check_variant,
)
from contentfeed.db import Id, utcnow
from contentfeed.errors import Conflict, Forbidden, Invalid, NotFound
from contentfeed.text import Input, MultiLineText, checked_text, name_key, web_address

STAFF = (Role.ADMIN, Role.MARKETER)
AUTHORS = (Role.ADMIN, Role.MARKETER, Role.CONTRIBUTOR)
PREVIEW_CODE = "preview"
MAX_VARIANTS = 10


@dataclass(frozen=True)
class Compliance:
    """The compliance rules from config: a disclosure appended to posts, words refused."""

    disclosure: str = ""
    blocked_words: list[str] = field(default_factory=list)
    public_base_url: str = "http://127.0.0.1:5000"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Compliance:
        """Read the rules from an app's config."""
        return cls(
            disclosure=config["COMPLIANCE_DISCLOSURE"],
            blocked_words=list(config["COMPLIANCE_BLOCKED_WORDS"]),
            public_base_url=config["PUBLIC_BASE_URL"],
        )

    @property
    def preview_link(self) -> str:
        """Return the stand-in for a seller's tracked link in previews."""
        return f"{self.public_base_url}/r/{PREVIEW_CODE}"


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
    target_languages: list[str] = Field(default_factory=list)
    priority: int = Field(default=3, ge=1, le=5)
    starts_at: datetime | None = None
    expires_at: datetime | None = None

    _split = field_validator("topics", "target_regions", "target_languages", mode="before")(
        lambda v: _split_list(v)
    )

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        return sorted({t.strip().lower() for t in value if t.strip()})

    @field_validator("target_languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
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
            raise ValueError("must include a time zone offset, e.g. 2026-12-01T09:00:00+01:00")
        return value

    @field_validator("expires_at")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        starts_at = info.data.get("starts_at")
        if value is not None and starts_at is not None and value <= starts_at:
            raise ValueError("must be after the start of the publish window")
        return value


# --- seeing and changing -----------------------------------------------------------------


def can_see_everything(user: User) -> bool:
    """Tell whether a user sees drafts and items in review (the library's authors)."""
    return user.role in AUTHORS


def can_edit(user: User, content: Content) -> bool:
    """Marketers and admins edit any item; contributors only their own drafts."""
    if user.role in STAFF:
        return True
    return (
        user.role is Role.CONTRIBUTOR
        and content.created_by_id == user.id
        and content.status is ContentStatus.DRAFT
    )


def get_content(s: Session, content_id: int, viewer: User, now: datetime | None = None) -> Content:
    """Return an item the viewer may see, or raise NotFound (drafts stay hidden from sellers)."""
    content = s.get(Content, content_id)
    if content is None or (not can_see_everything(viewer) and not content.is_live(now or utcnow())):
        raise NotFound("No such content item.")
    return content


def require_edit(user: User, content: Content) -> None:
    """Raise Forbidden unless the user may change this item (callers may check before parsing)."""
    if not can_edit(user, content):
        if user.role is Role.CONTRIBUTOR:
            raise Forbidden("Contributors can change only their own drafts.")
        raise Forbidden("Your role can't change library content.")


def _record(
    s: Session,
    content: Content,
    actor: User | None,
    action: str,
    *,
    from_status: str = "",
    to_status: str = "",
    comment: str = "",
    changes: dict[str, Any] | None = None,
) -> None:
    s.add(
        ContentEvent(
            content=content,
            actor_id=actor.id if actor else None,
            action=action,
            from_status=from_status,
            to_status=to_status,
            comment=comment,
            changes=changes or {},
        )
    )


def _title_from_url(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/").rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
    return (path.capitalize() or parts.hostname or url)[:300]


def create_content(
    s: Session,
    data: ContentData,
    *,
    actor: User,
    asset: Asset | None = None,
    asset_url: str = "",
    prefill: bool = True,
) -> Content:
    """Create a draft from a URL (pre-filled from the page) or an uploaded asset."""
    if actor.role not in AUTHORS:
        raise Forbidden("Your role can't add library content.")
    url = asset_url if asset is not None else data.url
    if not url:
        raise Invalid(
            "Add a web address or upload a file.", {"url": "Add a web address or upload a file."}
        )
    _check_references(s, data)
    found = Prefill()
    if prefill and asset is None and not (data.title and data.summary and data.image_url):
        found = prefill_from_url(url)
    title = data.title or found.title or (asset.filename if asset else "") or _title_from_url(url)
    content = Content(
        **data.model_dump(exclude={"title", "url", "summary", "image_url"}),
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
    s.add(content)
    s.flush()
    _record(s, content, actor, "created", to_status=ContentStatus.DRAFT.value)
    return content


def _check_references(s: Session, data: ContentData) -> None:
    """Refuse a campaign or target team that doesn't exist."""
    if data.campaign_id is not None and s.get(Campaign, data.campaign_id) is None:
        raise Invalid("No such campaign.", {"campaign_id": "No such campaign."})
    if data.target_team_ids:
        known = set(s.scalars(sa.select(Team.id).where(Team.id.in_(data.target_team_ids))))
        missing = sorted(set(data.target_team_ids) - known)
        if missing:
            message = f"No team with id {', '.join(map(str, missing))}."
            raise Invalid(message, {"target_team_ids": message})


def update_content(s: Session, content: Content, data: ContentData, *, actor: User) -> Content:
    """Change an item's fields, recording what changed in its audit trail."""
    require_edit(actor, content)
    _check_references(s, data)
    values = data.model_dump()
    if content.asset_id is not None:
        values["url"] = content.url  # an uploaded file's address doesn't change
    if not values["url"]:
        raise Invalid("Add a web address.", {"url": "Add a web address."})
    if not values["title"]:
        raise Invalid("A title is required.", {"title": "A title is required."})
    changes: dict[str, Any] = {}
    for key, new in values.items():
        old = getattr(content, key)
        if old != new:
            changes[key] = [_jsonable(old), _jsonable(new)]
            setattr(content, key, new)
    if changes:
        content.updated_at = utcnow()
        _record(s, content, actor, "edited", changes=changes)
    s.flush()
    return content


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


# --- workflow ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    sources: frozenset[ContentStatus]
    target: ContentStatus
    roles: tuple[Role, ...]
    label: str
    needs_comment: bool = False
    needs_variant: bool = False


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(
        frozenset({ContentStatus.DRAFT}),
        ContentStatus.IN_REVIEW,
        AUTHORS,
        "Send for approval",
        needs_variant=True,
    ),
    "approve": Transition(
        frozenset({ContentStatus.IN_REVIEW}),
        ContentStatus.APPROVED,
        STAFF,
        "Approve",
        needs_variant=True,
    ),
    "send_back": Transition(
        frozenset({ContentStatus.IN_REVIEW, ContentStatus.APPROVED, ContentStatus.ARCHIVED}),
        ContentStatus.DRAFT,
        STAFF,
        "Send back to draft",
        needs_comment=True,
    ),
    "archive": Transition(
        frozenset({ContentStatus.DRAFT, ContentStatus.IN_REVIEW, ContentStatus.APPROVED}),
        ContentStatus.ARCHIVED,
        STAFF,
        "Archive",
    ),
}


def available_transitions(user: User, content: Content) -> list[tuple[str, Transition]]:
    """Return the workflow actions this user can take on this item now."""
    result = []
    for name, transition in TRANSITIONS.items():
        if content.status not in transition.sources or user.role not in transition.roles:
            continue
        if user.role is Role.CONTRIBUTOR and content.created_by_id != user.id:
            continue
        result.append((name, transition))
    return result


def transition(
    s: Session, content: Content, action: str, *, actor: User, comment: str = ""
) -> Content:
    """Move an item through draft -> in review -> approved -> archived (or back to draft)."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise NotFound(f"Unknown workflow action {action!r}.")
    if actor.role not in step.roles:
        who = "Only marketers and admins" if step.roles == STAFF else "Only library authors"
        raise Forbidden(f"{who} can {step.label.lower()}.")
    if actor.role is Role.CONTRIBUTOR and content.created_by_id != actor.id:
        raise Forbidden("Contributors can send only their own items for approval.")
    if content.status not in step.sources:
        raise Conflict(
            f"Can't {step.label.lower()} an item that is {content.status.label.lower()}."
        )
    comment = checked_text("comment", comment, multiline=True).strip()
    if step.needs_comment and not comment:
        raise Invalid("Say what needs to change.", {"comment": "Say what needs to change."})
    if step.needs_variant and not content.variants:
        raise Conflict("Write at least one post variant first: it is what sellers will share.")
    before = content.status
    content.status = step.target
    if step.target is ContentStatus.APPROVED:
        content.approved_at = utcnow()
    _record(
        s,
        content,
        actor,
        action,
        from_status=before.value,
        to_status=step.target.value,
        comment=comment,
    )
    s.flush()
    return content


# --- variants ----------------------------------------------------------------------------


def seller_view(user: User | None) -> SellerView:
    """Describe a seller to post templates."""
    if user is None:
        from contentfeed.content.templating import SAMPLE_SELLER

        return SAMPLE_SELLER
    title = user.seller_profile.title if user.seller_profile else ""
    return SellerView(first_name=user.first_name, name=user.name, title=title)


def content_view(content: Content) -> ContentView:
    """Describe an item to post templates."""
    return ContentView(title=content.title, summary=content.summary, url=content.url)


def check_body(
    content: Content, body: str, rules: Compliance, seller: User | None = None, link: str = ""
) -> VariantCheck:
    """Check a variant's text against the sandbox, the length limit and compliance."""
    checked_text("body", body, multiline=True)
    return check_variant(
        body,
        content=content_view(content),
        link=link or rules.preview_link,
        disclosure=rules.disclosure,
        blocked_words=rules.blocked_words,
        seller=seller_view(seller),
    )


def add_variant(
    s: Session, content: Content, body: str, *, actor: User, rules: Compliance
) -> tuple[PostVariant, VariantCheck]:
    """Add a post variant after checking it; return it with the check's warnings."""
    require_edit(actor, content)
    if len(content.variants) >= MAX_VARIANTS:
        raise Conflict(f"An item can have at most {MAX_VARIANTS} variants.")
    check = check_body(content, body, rules)
    position = max((v.position for v in content.variants), default=0) + 1
    variant = PostVariant(content=content, body=body.strip(), position=position)
    s.add(variant)
    s.flush()
    _record(s, content, actor, "variant_added", changes={"variant": position})
    return variant, check


def get_variant(content: Content, variant_id: int) -> PostVariant:
    """Return one of an item's variants or raise NotFound."""
    for variant in content.variants:
        if variant.id == variant_id:
            return variant
    raise NotFound("No such variant on this item.")


def update_variant(
    s: Session, content: Content, variant: PostVariant, body: str, *, actor: User, rules: Compliance
) -> VariantCheck:
    """Change a variant's text after checking it."""
    require_edit(actor, content)
    check = check_body(content, body, rules)
    if variant.body != body.strip():
        variant.body = body.strip()
        _record(s, content, actor, "variant_edited", changes={"variant": variant.position})
    s.flush()
    return check


def delete_variant(s: Session, content: Content, variant: PostVariant, *, actor: User) -> None:
    """Remove a variant; an approved item keeps at least one."""
    require_edit(actor, content)
    if content.status is not ContentStatus.DRAFT and len(content.variants) <= 1:
        raise Conflict("This item is in use; it needs at least one variant. Add another first.")
    content.variants.remove(variant)
    _record(s, content, actor, "variant_deleted", changes={"variant": variant.position})
    s.flush()


RENDER_FAILED = "variant_failed"
_MAX_FAILED_SELLER_IDS = 1000  # enough to count the sellers of a big team


def note_render_failures(
    s: Session, variant_id: int, reason: str, seller_ids: Sequence[int], now: datetime
) -> None:
    """Record for the item's authors that a variant could not be rendered for some sellers.

    One entry per variant text and reason: later runs that fail the same way add their
    sellers to it instead of filling the item's history with copies.
    """
    variant = s.get(PostVariant, variant_id)
    if variant is None:
        return
    earlier = s.scalars(
        sa.select(ContentEvent)
        .where(
            ContentEvent.content_id == variant.content_id,
            ContentEvent.action == RENDER_FAILED,
            ContentEvent.created_at >= variant.updated_at,
        )
        .order_by(ContentEvent.id.desc())
    )
    for event in earlier:
        if event.changes.get("variant_id") == variant.id and event.changes.get("reason") == reason:
            ids = sorted({*event.changes.get("seller_ids", []), *seller_ids})
            ids = ids[:_MAX_FAILED_SELLER_IDS]
            event.changes = {**event.changes, "seller_ids": ids, "last_at": now.isoformat()}
            return
    ids = sorted(set(seller_ids))[:_MAX_FAILED_SELLER_IDS]
    _record(
        s,
        variant.content,
        None,
        RENDER_FAILED,
        changes={
            "variant": variant.position,
            "variant_id": variant.id,
            "reason": reason,
            "seller_ids": ids,
            "last_at": now.isoformat(),
        },
    )


def render_problems(content: Content) -> dict[int, list[str]]:
    """Say, per variant, for how many sellers its current text could not be rendered, and why."""
    problems: dict[int, list[str]] = {}
    updated = {v.id: v.updated_at for v in content.variants}
    for event in content.events:
        variant_id = event.changes.get("variant_id")
        if event.action != RENDER_FAILED or variant_id not in updated:
            continue
        if event.created_at < updated[variant_id]:
            continue  # about an earlier text of the variant
        problems.setdefault(variant_id, []).append(describe_render_failure(event))
    return problems


def describe_render_failure(event: ContentEvent) -> str:
    """Say a recorded render failure in words."""
    n = len(event.changes.get("seller_ids", []))
    sellers = "1 seller" if n == 1 else f"{n:,}{'+' if n >= _MAX_FAILED_SELLER_IDS else ''} sellers"
    return (
        f"Variant {event.changes.get('variant', '?')} could not be rendered for {sellers}: "
        f"{event.changes.get('reason', 'unknown reason')}"
    )


# --- listing -----------------------------------------------------------------------------

STATUS_FILTERS = {
    "active": "Active (approved, in window)",
    "scheduled": "Scheduled (approved, starts later)",
    "expired": "Expired",
    "in_review": "In review",
    "draft": "Draft",
    "archived": "Archived",
    "all": "All",
}
SORTS = {"title", "kind", "priority", "created", "starts", "expires", "status"}


@dataclass(frozen=True)
class LibraryQuery:
    """Filters, sort and page for the library list."""

    q: str = ""
    status: str = "active"
    campaign_id: int | None = None
    topic: str = ""
    language: str = ""
    kind: str = ""
    sort: str = "created"
    descending: bool = True
    offset: int = 0
    limit: int = 25


@dataclass(frozen=True)
class LibraryPage:
    items: Sequence[Content]
    total: int
    variant_counts: dict[int, int]


def _status_clause(status: str, now: datetime) -> sa.ColumnElement[bool] | None:
    approved = Content.status == ContentStatus.APPROVED
    started = sa.or_(Content.starts_at.is_(None), Content.starts_at <= now)
    not_expired = sa.or_(Content.expires_at.is_(None), Content.expires_at > now)
    return {
        "active": sa.and_(approved, started, not_expired),
        "scheduled": sa.and_(approved, Content.starts_at > now),
        "expired": sa.and_(approved, Content.expires_at <= now),
        "in_review": Content.status == ContentStatus.IN_REVIEW,
        "draft": Content.status == ContentStatus.DRAFT,
        "archived": Content.status == ContentStatus.ARCHIVED,
    }.get(status)


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so a search for "50%" means the text, not a pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def topic_clause(topic: str) -> sa.ColumnElement[bool]:
    """Match items tagged with a topic (topics are a JSON list of lower-case strings)."""
    return sa.cast(Content.topics, sa.String).like(f'%"{topic.strip().lower()}"%')


def library_query(viewer: User, query: LibraryQuery, now: datetime) -> sa.Select[Content]:
    """Build the filtered (unsorted, unpaginated) select for the library."""
    stmt = sa.select(Content)
    status = query.status if can_see_everything(viewer) else "active"
    clause = _status_clause(status, now)
    if clause is not None:
        stmt = stmt.where(clause)
    if query.q:
        like = "%" + escape_like(query.q.strip().lower()) + "%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Content.title).like(like, escape="\\"),
                sa.func.lower(Content.summary).like(like, escape="\\"),
                sa.func.lower(sa.cast(Content.topics, sa.String)).like(like, escape="\\"),
            )
        )
    if query.campaign_id:
        stmt = stmt.where(Content.campaign_id == query.campaign_id)
    if query.topic:
        stmt = stmt.where(topic_clause(query.topic))
    if query.language:
        stmt = stmt.where(Content.language == query.language.lower())
    if query.kind and query.kind in {k.value for k in ContentKind}:
        stmt = stmt.where(Content.kind == ContentKind(query.kind))
    return stmt


def list_library(
    s: Session, viewer: User, query: LibraryQuery, now: datetime | None = None
) -> LibraryPage:
    """List library items the viewer may see, filtered, sorted and paginated."""
    now = now or utcnow()
    stmt = library_query(viewer, query, now)
    total = s.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    columns: dict[str, Any] = {
        "title": sa.func.lower(Content.title),
        "kind": Content.kind,
        "priority": Content.priority,
        "created": Content.created_at,
        "starts": Content.starts_at,
        "expires": Content.expires_at,
        "status": Content.status,
    }
    column = columns.get(query.sort, Content.created_at)
    order = column.desc() if query.descending else column.asc()
    items = s.scalars(
        stmt.options(selectinload(Content.campaign))
        .order_by(order, Content.id.desc())
        .offset(query.offset)
        .limit(query.limit)
    ).all()
    counts: dict[int, int] = {}
    if items:
        rows = s.execute(
            sa.select(PostVariant.content_id, sa.func.count())
            .where(PostVariant.content_id.in_([c.id for c in items]))
            .group_by(PostVariant.content_id)
        ).all()
        counts = {content_id: n for content_id, n in rows}
    return LibraryPage(items=items, total=total, variant_counts=counts)


def load_details(s: Session, items: Sequence[Content]) -> None:
    """Load listed items' variants and files in two queries, not two per item."""
    if items:
        s.scalars(
            sa.select(Content)
            .where(Content.id.in_([c.id for c in items]))
            .options(selectinload(Content.variants), selectinload(Content.asset))
        ).all()


def known_topics(s: Session) -> list[str]:
    """Return every topic used in the library, for filters and suggestions."""
    topics: set[str] = set()
    for row in s.scalars(sa.select(Content.topics)):
        topics.update(row or [])
    return sorted(topics)


def known_languages(s: Session) -> list[str]:
    """Return every language used in the library."""
    return sorted(set(s.scalars(sa.select(Content.language).distinct())))


# --- campaigns ---------------------------------------------------------------------------


def slugify(text: str) -> str:
    """Turn a campaign name into a URL- and UTM-safe slug."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80] or "campaign"


def list_campaigns(s: Session) -> list[tuple[Campaign, int]]:
    """Return campaigns (newest first) with how many library items each has."""
    rows = s.execute(
        sa.select(Campaign, sa.func.count(Content.id))
        .outerjoin(Content, Content.campaign_id == Campaign.id)
        .group_by(Campaign.id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    ).all()
    return [(campaign, n) for campaign, n in rows]


def get_campaign(s: Session, campaign_id: int) -> Campaign:
    """Return one campaign or raise NotFound."""
    campaign = s.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


def find_campaign(s: Session, name: str) -> Campaign | None:
    """Find a campaign by name or slug, ignoring case ("Équipe" is "équipe")."""
    by_slug = s.scalar(sa.select(Campaign).where(Campaign.slug == slugify(name)))
    if by_slug is not None:
        return by_slug
    # Compared in Python: SQLite's lower() folds ASCII only.
    key = name_key(name)
    return next((c for c in s.scalars(sa.select(Campaign)) if name_key(c.name) == key), None)


def save_campaign(
    s: Session,
    *,
    name: str,
    description: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    campaign: Campaign | None = None,
) -> Campaign:
    """Create a campaign, or update one when given; its slug becomes utm_campaign."""
    name = checked_text("name", name).strip()
    checked_text("description", description, multiline=True)
    if not name:
        raise Invalid("A campaign name is required.", {"name": "A campaign name is required."})
    if starts_at and ends_at and ends_at <= starts_at:
        raise Invalid(
            "The campaign must end after it starts.", {"ends_at": "Must be after the start."}
        )
    clash = find_campaign(s, name)
    if clash is not None and clash is not campaign:
        raise Conflict(
            f"A campaign called {clash.name} already exists.", {"name": "already in use"}
        )
    if campaign is None:
        campaign = Campaign(name=name, slug=slugify(name))
        s.add(campaign)
    else:
        campaign.name = name
    campaign.description = description.strip()
    campaign.starts_at, campaign.ends_at = starts_at, ends_at
    s.flush()
    return campaign
