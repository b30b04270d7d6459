"""Campaigns under /api/v1/campaigns."""

from __future__ import annotations

from flask import Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
)

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    Timestamp,
    json_response,
    operation,
    parse_json,
)
from contentfeed.content import service
from contentfeed.content.api import bp
from contentfeed.content.api.common import (
    STAFF,
    TAG,
)
from contentfeed.content.campaigns import DESCRIPTION_MAX
from contentfeed.content.models import (
    Campaign,
)
from contentfeed.text import Input, MultiLineText


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


class CampaignIn(Input):
    """A new campaign."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=160)
    description: MultiLineText = Field(default="", max_length=DESCRIPTION_MAX)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


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


@bp.get("/campaigns")
@access.require_scope("read")
@operation(summary="List campaigns", tag=TAG, response=CampaignList)
def list_campaigns() -> Response:
    """List every campaign, newest first, with how many library items each has."""
    s = db.session()
    body = CampaignList(items=[campaign_out(c, n) for c, n in service.list_campaigns(s)])
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
    return json_response(campaign_out(campaign, 0), 201)
