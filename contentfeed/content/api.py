"""Library API under /api/v1: content items, workflow actions, variants, campaigns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, cast

from flask import Blueprint, Response, current_app, request, url_for
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    create_model,
    field_validator,
)
from pydantic.config import JsonDict

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.models import User
from contentfeed.api import (
    Link,
    Timestamp,
    json_response,
    operation,
    parse_json,
    parse_query,
    validate,
)
from contentfeed.content import service
from contentfeed.content.models import (
    Asset,
    Campaign,
    Content,
    ContentKind,
    ContentStatus,
    PostVariant,
)
from contentfeed.content.service import ContentData
from contentfeed.content.templating import VariantCheck
from contentfeed.db import Id, PageNumber, utcnow
from contentfeed.errors import Invalid
from contentfeed.text import Input, MultiLineText

bp = Blueprint("content_api", __name__, url_prefix="/api/v1")

M = TypeVar("M", bound=Input)
TAG = "content"
AUTHORS = service.AUTHORS
STAFF = service.STAFF
MAX_PER_PAGE = 200
STATUS_CHOICES: list[JsonValue] = list(service.STATUS_FILTERS)
SORT_CHOICES: list[JsonValue] = [*sorted(service.SORTS)]


# --- responses ---------------------------------------------------------------------------


class CampaignRef(BaseModel):
    """The campaign an item belongs to."""

    id: int
    name: str
    slug: str


class Targeting(BaseModel):
    """Who an item is meant for; empty lists mean everyone."""

    team_ids: list[int]
    regions: list[str]
    languages: list[str]


class AssetOut(BaseModel):
    """An uploaded file an item points to."""

    filename: str
    content_type: str
    size: int


class VariantOut(BaseModel):
    """A post variant: a sandboxed template a seller copies once rendered for them."""

    id: int
    position: int
    body: str


class CheckedVariantOut(VariantOut):
    """A variant just saved, with its sample rendering and what is worth a second look."""

    rendered_sample: str = Field(description="The post as a sample seller would share it")
    length: int = Field(description="Characters in the rendered sample")
    warnings: list[str]


class ContentOut(BaseModel):
    """A library item."""

    id: int
    title: str
    summary: str
    url: str
    image_url: str
    site_name: str
    kind: ContentKind
    status: ContentStatus
    campaign: CampaignRef | None
    language: str
    topics: list[str]
    targeting: Targeting
    priority: int
    starts_at: Timestamp | None
    expires_at: Timestamp | None
    is_live: bool = Field(description="Approved and inside its publish window right now")
    created_at: Timestamp
    updated_at: Timestamp
    approved_at: Timestamp | None
    prefill_note: str = Field(description="Why the page could not pre-fill the item, if so")
    variants: list[VariantOut]
    asset: AssetOut | None


class ContentList(BaseModel):
    """One page of library items."""

    items: list[ContentOut]
    page: int
    per_page: int
    total: int


class VariantList(BaseModel):
    """An item's post variants, in order."""

    items: list[VariantOut]


class CampaignOut(BaseModel):
    """A campaign; its slug is the utm_campaign of tracked links."""

    id: int
    name: str
    slug: str
    description: str
    starts_at: Timestamp | None
    ends_at: Timestamp | None
    item_count: int


class CampaignList(BaseModel):
    """Every campaign, newest first."""

    items: list[CampaignOut]


# --- requests ----------------------------------------------------------------------------


class ContentQuery(Input):
    """Filters, sort and page for the library list."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in title, summary and topics")
    status: str = Field(
        default=service.LibraryQuery.status,
        description="Sellers and reps always see active items only",
        json_schema_extra={"enum": STATUS_CHOICES},
    )
    campaign_id: Id | None = None
    topic: str = ""
    language: str = ""
    kind: ContentKind | None = None
    sort: str = Field(default=service.LibraryQuery.sort, json_schema_extra={"enum": SORT_CHOICES})
    order: Literal["asc", "desc"] = "desc"
    page: PageNumber = 1
    per_page: int = Field(default=service.LibraryQuery.limit, ge=1, le=MAX_PER_PAGE)

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in service.STATUS_FILTERS:
            raise ValueError(f"must be one of {', '.join(service.STATUS_FILTERS)}")
        return value

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        if value not in service.SORTS:
            raise ValueError(f"must be one of {', '.join(sorted(service.SORTS))}")
        return value


class VariantIn(Input):
    """A post variant's text: Jinja with {{ seller.first_name }}, {{ link }} and the like."""

    model_config = ConfigDict(extra="forbid")

    body: MultiLineText


class ContentIn(ContentData):
    """A new library item: its fields, optional first variants, and whether to pre-fill."""

    variants: list[VariantIn] = Field(
        default_factory=list,
        max_length=service.MAX_VARIANTS,
        description="Created with the item; one refused variant refuses the whole request",
    )
    prefill: bool = Field(
        default=True,
        description="Fill a missing title, summary and image from the page's preview tags",
    )


class _PatchBase(Input):
    model_config = ConfigDict(extra="forbid")


def _partial(model: type[BaseModel], name: str, doc: str) -> type[Input]:
    """Make a model whose fields may each be left out, for PATCH bodies checked afterwards."""

    def no_default(schema: JsonDict) -> None:
        schema.pop("default", None)

    fields: dict[str, Any] = {}
    for key, spec in model.model_fields.items():
        annotation = spec.annotation
        if spec.metadata:
            annotation = cast(Any, Annotated)[(annotation, *spec.metadata)]
        fields[key] = (
            annotation,
            Field(default=None, description=spec.description, json_schema_extra=no_default),
        )
    return create_model(name, __base__=_PatchBase, __doc__=doc, **fields)


ContentPatch = _partial(
    ContentData,
    "ContentPatch",
    "Fields to change; the rest keep their values, and the result is checked as a whole.",
)


class ActionIn(Input):
    """An optional comment for the audit trail; sending back to draft requires one."""

    model_config = ConfigDict(extra="forbid")

    comment: MultiLineText = Field(default="", max_length=5000)


class CampaignIn(Input):
    """A new campaign."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=160)
    description: MultiLineText = Field(default="", max_length=5000)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


# --- describing --------------------------------------------------------------------------


def variant_out(variant: PostVariant) -> VariantOut:
    """Describe a variant for the API."""
    return VariantOut(id=variant.id, position=variant.position, body=variant.body)


def checked_variant_out(variant: PostVariant, check: VariantCheck) -> CheckedVariantOut:
    """Describe a just-saved variant with its check's sample rendering and warnings."""
    return CheckedVariantOut(
        id=variant.id,
        position=variant.position,
        body=variant.body,
        rendered_sample=check.rendered,
        length=check.length,
        warnings=check.warnings,
    )


def _campaign_ref(campaign: Campaign | None) -> CampaignRef | None:
    if campaign is None:
        return None
    return CampaignRef(id=campaign.id, name=campaign.name, slug=campaign.slug)


def _asset_out(asset: Asset | None) -> AssetOut | None:
    if asset is None:
        return None
    return AssetOut(filename=asset.filename, content_type=asset.content_type, size=asset.size)


def content_out(content: Content, now: datetime | None = None) -> ContentOut:
    """Describe a library item for the API."""
    return ContentOut(
        id=content.id,
        title=content.title,
        summary=content.summary,
        url=content.url,
        image_url=content.image_url,
        site_name=content.site_name,
        kind=content.kind,
        status=content.status,
        campaign=_campaign_ref(content.campaign),
        language=content.language,
        topics=content.topics,
        targeting=Targeting(
            team_ids=content.target_team_ids,
            regions=content.target_regions,
            languages=content.target_languages,
        ),
        priority=content.priority,
        starts_at=content.starts_at,
        expires_at=content.expires_at,
        is_live=content.is_live(now or utcnow()),
        created_at=content.created_at,
        updated_at=content.updated_at,
        approved_at=content.approved_at,
        prefill_note=content.prefill_note,
        variants=[variant_out(v) for v in content.variants],
        asset=_asset_out(content.asset),
    )


def campaign_out(campaign: Campaign, item_count: int) -> CampaignOut:
    """Describe a campaign for the API."""
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        slug=campaign.slug,
        description=campaign.description,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        item_count=item_count,
    )


def _actor() -> User:
    return access.signed_in_user()


def _rules() -> service.Compliance:
    return service.Compliance.from_config(current_app.config)


def _optional_json(model: type[M]) -> M:
    """Parse the JSON body into a model; a request without a body counts as ``{}``."""
    if not request.get_data(cache=True):
        return validate(model, {})
    return parse_json(model)


# --- items -------------------------------------------------------------------------------


@bp.get("/content")
@access.require_scope("read")
@operation(summary="List library items", tag=TAG, response=ContentList, query=ContentQuery)
def list_content() -> Response:
    """List the items the token's user may see (sellers and reps: live approved items only)."""
    query = parse_query(ContentQuery)
    s = db.session()
    now = utcnow()
    page = service.list_library(
        s,
        _actor(),
        service.LibraryQuery(
            q=query.q,
            status=query.status,
            campaign_id=query.campaign_id,
            topic=query.topic,
            language=query.language,
            kind=query.kind.value if query.kind else "",
            sort=query.sort,
            descending=query.order == "desc",
            offset=(query.page - 1) * query.per_page,
            limit=query.per_page,
        ),
        now=now,
    )
    service.load_details(s, page.items)
    body = ContentList(
        items=[content_out(c, now) for c in page.items],
        page=query.page,
        per_page=query.per_page,
        total=page.total,
    )
    s.commit()
    return json_response(body)


@bp.post("/content")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Add a library item",
    tag=TAG,
    response=ContentOut,
    status=201,
    body=ContentIn,
    links={
        "approve": Link("content_api.approve", "POST", {"content_id": "$response.body#/id"}),
        "submit": Link("content_api.submit", "POST", {"content_id": "$response.body#/id"}),
        "add_variant": Link(
            "content_api.create_variant", "POST", {"content_id": "$response.body#/id"}
        ),
    },
)
def create_content() -> Response:
    """Create a draft from a URL, with its first post variants, pre-filled from the page."""
    data = parse_json(ContentIn)
    s = db.session()
    actor = _actor()
    fields = ContentData.model_validate(data.model_dump(exclude={"variants", "prefill"}))
    content = service.create_content(s, fields, actor=actor, prefill=data.prefill)
    rules = _rules()
    for index, variant in enumerate(data.variants):
        try:
            service.add_variant(s, content, variant.body, actor=actor, rules=rules)
        except Invalid as exc:  # nothing is committed: the item and its variants go together
            raise Invalid(
                f"Post variant {index + 1}: {exc.message}",
                {f"variants.{index}.{name}": text for name, text in exc.fields.items()},
            ) from None
    s.commit()
    response = json_response(content_out(content), 201)
    response.headers["Location"] = url_for("content_api.get_content", content_id=content.id)
    return response


@bp.get("/content/<int:content_id>")
@access.require_scope("read")
@operation(summary="Get a library item", tag=TAG, response=ContentOut, errors=(404,))
def get_content(content_id: int) -> Response:
    """Return one item; drafts and items in review are hidden from sellers and reps."""
    s = db.session()
    body = content_out(service.get_content(s, content_id, _actor()))
    s.commit()
    return json_response(body)


@bp.patch("/content/<int:content_id>")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Change a library item",
    tag=TAG,
    response=ContentOut,
    body=ContentPatch,
    errors=(404,),
)
def update_content(content_id: int) -> Response:
    """Change the given fields, keep the others; contributors change only their own drafts."""
    s = db.session()
    actor = _actor()
    content = service.get_content(s, content_id, actor)
    service.require_edit(actor, content)
    patch = parse_json(ContentPatch)
    current = {name: getattr(content, name) for name in ContentData.model_fields}
    data = validate(ContentData, {**current, **patch.model_dump(exclude_unset=True)})
    service.update_content(s, content, data, actor=actor)
    s.commit()
    return json_response(content_out(content))


# --- workflow ----------------------------------------------------------------------------


def _transition(content_id: int, action: str) -> Response:
    s = db.session()
    actor = _actor()
    content = service.get_content(s, content_id, actor)
    data = _optional_json(ActionIn)
    service.transition(s, content, action, actor=actor, comment=data.comment)
    s.commit()
    return json_response(content_out(content))


@bp.post("/content/<int:content_id>/submit")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Send an item for approval",
    tag=TAG,
    response=ContentOut,
    body=ActionIn,
    errors=(404, 409),
    links={"approve": Link("content_api.approve", "POST", {"content_id": "$response.body#/id"})},
)
def submit(content_id: int) -> Response:
    """Move a draft with at least one variant to review (the body may be left out)."""
    return _transition(content_id, "submit")


@bp.post("/content/<int:content_id>/approve")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Approve an item", tag=TAG, response=ContentOut, body=ActionIn, errors=(404, 409)
)
def approve(content_id: int) -> Response:
    """Approve an item in review so it enters the library (marketers and admins)."""
    return _transition(content_id, "approve")


@bp.post("/content/<int:content_id>/send-back")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Send an item back to draft",
    tag=TAG,
    response=ContentOut,
    body=ActionIn,
    errors=(404, 409),
)
def send_back(content_id: int) -> Response:
    """Return an item to draft with a comment saying what needs to change."""
    return _transition(content_id, "send_back")


@bp.post("/content/<int:content_id>/archive")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Archive an item", tag=TAG, response=ContentOut, body=ActionIn, errors=(404, 409)
)
def archive(content_id: int) -> Response:
    """Take an item out of the library (the body may be left out)."""
    return _transition(content_id, "archive")


# --- variants ----------------------------------------------------------------------------


@bp.get("/content/<int:content_id>/variants")
@access.require_scope("read")
@operation(summary="List an item's variants", tag=TAG, response=VariantList, errors=(404,))
def list_variants(content_id: int) -> Response:
    """List an item's post variants in order."""
    s = db.session()
    content = service.get_content(s, content_id, _actor())
    body = VariantList(items=[variant_out(v) for v in content.variants])
    s.commit()
    return json_response(body)


@bp.post("/content/<int:content_id>/variants")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Add a post variant",
    tag=TAG,
    response=CheckedVariantOut,
    status=201,
    body=VariantIn,
    errors=(404, 409),
)
def create_variant(content_id: int) -> Response:
    """Add a variant after checking its template, length and compliance."""
    s = db.session()
    actor = _actor()
    content = service.get_content(s, content_id, actor)
    service.require_edit(actor, content)
    data = parse_json(VariantIn)
    variant, check = service.add_variant(s, content, data.body, actor=actor, rules=_rules())
    s.commit()
    return json_response(checked_variant_out(variant, check), 201)


@bp.patch("/content/<int:content_id>/variants/<int:variant_id>")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Change a post variant",
    tag=TAG,
    response=CheckedVariantOut,
    body=VariantIn,
    errors=(404,),
)
def update_variant(content_id: int, variant_id: int) -> Response:
    """Change a variant's text after checking it again."""
    s = db.session()
    actor = _actor()
    content = service.get_content(s, content_id, actor)
    variant = service.get_variant(content, variant_id)
    service.require_edit(actor, content)
    data = parse_json(VariantIn)
    check = service.update_variant(s, content, variant, data.body, actor=actor, rules=_rules())
    s.commit()
    return json_response(checked_variant_out(variant, check))


@bp.delete("/content/<int:content_id>/variants/<int:variant_id>")
@access.require_scope("content:write", *AUTHORS)
@operation(summary="Delete a post variant", tag=TAG, status=204, errors=(404, 409))
def delete_variant(content_id: int, variant_id: int) -> Response:
    """Delete a variant; an item past draft keeps at least one."""
    s = db.session()
    actor = _actor()
    content = service.get_content(s, content_id, actor)
    variant = service.get_variant(content, variant_id)
    service.delete_variant(s, content, variant, actor=actor)
    s.commit()
    return Response(status=204)


# --- campaigns ---------------------------------------------------------------------------


@bp.get("/campaigns")
@access.require_scope("read")
@operation(summary="List campaigns", tag=TAG, response=CampaignList)
def list_campaigns() -> Response:
    """List every campaign, newest first, with how many library items each has."""
    s = db.session()
    body = CampaignList(items=[campaign_out(c, n) for c, n in service.list_campaigns(s)])
    s.commit()
    return json_response(body)


@bp.post("/campaigns")
@access.require_scope("content:write", *STAFF)
@operation(
    summary="Create a campaign",
    tag=TAG,
    response=CampaignOut,
    status=201,
    body=CampaignIn,
    errors=(409,),
)
def create_campaign() -> Response:
    """Create a campaign; its slug becomes the utm_campaign of tracked links."""
    data = parse_json(CampaignIn)
    s = db.session()
    campaign = service.save_campaign(
        s,
        name=data.name,
        description=data.description,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
    )
    s.commit()
    return json_response(campaign_out(campaign, 0), 201)
