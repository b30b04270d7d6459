"""Library items under /api/v1/content: list, add, get and change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from flask import Response, url_for
from pydantic import (
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
from contentfeed.content.api import bp
from contentfeed.content.api.common import (
    AUTHORS,
    TAG,
    compliance_rules,
    signed_in,
    upload_folder,
)
from contentfeed.content.api.variants import VariantOut, variant_out
from contentfeed.content.models import (
    REVIEWED_FIELDS,
    Asset,
    Audience,
    Campaign,
    Content,
    ContentKind,
    ContentStatus,
)
from contentfeed.content.service import ContentData
from contentfeed.db import Id, PageNumber, utcnow
from contentfeed.i18n import _
from contentfeed.text import Input

MAX_PER_PAGE = 200
STATUS_CHOICES: list[JsonValue] = list(service.STATUS_FILTERS)
SORT_CHOICES: list[JsonValue] = [*sorted(service.SORTS)]


class CampaignRef(BaseModel):
    """The campaign an item belongs to."""

    id: int
    name: str
    slug: str


class Targeting(BaseModel):
    """Who an item is meant for; empty lists mean everyone (in a language of its variants)."""

    team_ids: list[int]
    regions: list[str]


class AssetOut(BaseModel):
    """An uploaded file an item points to."""

    filename: str
    content_type: str
    size: int


class PendingChange(BaseModel):
    """A change to an approved item waiting for review (four-eyes): the proposed version."""

    url: str
    targeting: Targeting
    audience: Audience
    variants: list[VariantOut]
    changed: list[str] = Field(
        description="What it changes: url, target_team_ids, target_regions, audience, "
        "variant:<n>, variant_language:<n>"
    )
    author_ids: list[int] = Field(description="Who made it: they cannot approve it")
    updated_at: Timestamp


class LinkedInNote(BaseModel):
    """One finding of the LinkedIn pre-flight: advice, never a refusal."""

    code: str = Field(
        description="What it is about: image_thumbnail, image_too_heavy, image_ratio, og_missing, "
        "link_below_fold, hook_below_fold, hashtags_many, hashtags_first, … (stable)"
    )
    message: str = Field(description="The note in words, in the request's language")
    level: Literal["warning", "info", "ok"] = Field(
        description="warning: worth changing; info: good to know; ok: as LinkedIn recommends"
    )
    variant: int | None = Field(
        description="The position of the variant whose text it is about; null: the link preview"
    )


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
    language: str = Field(description="The language of the title and summary")
    languages: list[str] = Field(
        description="The languages of its variants: a seller with none of them is not reached"
    )
    topics: list[str]
    targeting: Targeting
    audience: Audience = Field(
        description="Whom it is for: prospects (suggested to sellers outside customer "
        "development), customers (suggested to customer development's sellers) or both"
    )
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
    pending_change: PendingChange | None = Field(
        default=None,
        description="A change waiting for review; the fields above stay live until approved",
    )
    linkedin_notes: list[LinkedInNote] | None = Field(
        default=None,
        description="The LinkedIn pre-flight (the notes the item page shows): its image, the "
        "page's og: tags and what each variant shows before 'see more'. On a single item for "
        "library authors; null in lists and for sellers and reps",
    )


class ContentList(BaseModel):
    """One page of library items."""

    items: list[ContentOut]
    page: int
    per_page: int
    total: int


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
    language: str = Field(default="", description="Items with a variant in this language")
    kind: ContentKind | None = None
    audience: Audience | None = Field(default=None, description="Items for exactly this audience")
    sort: str = Field(default=service.LibraryQuery.sort, json_schema_extra={"enum": SORT_CHOICES})
    order: Literal["asc", "desc"] = "desc"
    page: PageNumber = 1
    per_page: int = Field(default=service.LibraryQuery.limit, ge=1, le=MAX_PER_PAGE)

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in service.STATUS_FILTERS:
            raise ValueError(
                _("must be one of %(choices)s", choices=", ".join(service.STATUS_FILTERS))
            )
        return value

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        if value not in service.SORTS:
            raise ValueError(
                _("must be one of %(choices)s", choices=", ".join(sorted(service.SORTS)))
            )
        return value


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


def _campaign_ref(campaign: Campaign | None) -> CampaignRef | None:
    if campaign is None:
        return None
    return CampaignRef(id=campaign.id, name=campaign.name, slug=campaign.slug)


def _asset_out(asset: Asset | None) -> AssetOut | None:
    if asset is None:
        return None
    return AssetOut(filename=asset.filename, content_type=asset.content_type, size=asset.size)


def _linkedin_notes(content: Content) -> list[LinkedInNote] | None:
    if signed_in().role not in AUTHORS:
        return None
    report = service.preflight(content, compliance_rules())
    return [
        LinkedInNote(code=n.code, message=n.message, level=n.level, variant=n.variant)
        for n in report.notes
    ]


def content_out(
    content: Content, now: datetime | None = None, *, with_notes: bool = False
) -> ContentOut:
    """Describe a library item for the API (``with_notes``: its LinkedIn pre-flight too)."""
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
        languages=content.variant_languages,
        topics=content.topics,
        targeting=Targeting(team_ids=content.target_team_ids, regions=content.target_regions),
        audience=content.audience,
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
        pending_change=_pending_change(content),
        linkedin_notes=_linkedin_notes(content) if with_notes else None,
    )


def _pending_change(content: Content) -> PendingChange | None:
    """The change waiting for review, for the library's authors (sellers see the live item)."""
    revision = content.revision
    if revision is None or not service.can_see_everything(signed_in()):
        return None
    return PendingChange(
        url=revision.url,
        targeting=Targeting(team_ids=revision.target_team_ids, regions=revision.target_regions),
        audience=revision.audience,
        variants=[
            variant_out(service.proposed_variant(e))
            for e in sorted(revision.variants, key=lambda e: e["position"])
        ],
        changed=list(service.revision_changes(content, revision)),
        author_ids=list(revision.author_ids),
        updated_at=revision.updated_at,
    )


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
        signed_in(),
        service.LibraryQuery(
            q=query.q,
            status=query.status,
            campaign_id=query.campaign_id,
            topic=query.topic,
            language=query.language,
            kind=query.kind.value if query.kind else "",
            audience=query.audience.value if query.audience else "",
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
    return json_response(body)


@bp.post("/content")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Add a library item",
    tag=TAG,
    response=ContentOut,
    status=201,
    body=service.NewContent,
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
    content = service.add_item(
        db.session(),
        parse_json(service.NewContent),
        actor=signed_in(),
        rules=compliance_rules(),
        files=upload_folder(),
    )
    response = json_response(content_out(content, with_notes=True), 201)
    response.headers["Location"] = url_for("content_api.get_content", content_id=content.id)
    return response


@bp.get("/content/<int:content_id>")
@access.require_scope("read")
@operation(summary="Get a library item", tag=TAG, response=ContentOut, errors=(404,))
def get_content(content_id: int) -> Response:
    """Return one item; drafts and items in review are hidden from sellers and reps."""
    content = service.get_content(db.session(), content_id, signed_in())
    return json_response(content_out(content, with_notes=True))


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
    actor = signed_in()
    content = service.get_editable(s, content_id, actor)  # refused before the body is read
    patch = parse_json(ContentPatch)
    current = {name: getattr(content, name) for name in ContentData.model_fields}
    if content.revision is not None:  # a change waits for review: go on from it
        current.update({name: getattr(content.revision, name) for name in REVIEWED_FIELDS})
    data = validate(ContentData, {**current, **patch.model_dump(exclude_unset=True)})
    service.update_content(s, content, data, actor=actor, files=upload_folder())
    return json_response(content_out(content, with_notes=True))


@bp.post("/content/<int:content_id>/preflight")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Check an item's page and image again for LinkedIn",
    tag=TAG,
    response=ContentOut,
    errors=(403, 404),
)
def check_preflight(content_id: int) -> Response:
    """Read the item's page (its og: tags) and image again; the answer carries the notes."""
    s = db.session()
    actor = signed_in()
    content = service.get_editable(s, content_id, actor)
    service.check_again(s, content, actor=actor, files=upload_folder())
    return json_response(content_out(content, with_notes=True))
