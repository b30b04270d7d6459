"""An item's post variants under /api/v1/content/<id>/variants."""

from __future__ import annotations

from flask import Response
from pydantic import (
    BaseModel,
    Field,
)

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    json_response,
    operation,
    parse_json,
)
from contentfeed.content import service
from contentfeed.content.api import bp
from contentfeed.content.api.common import (
    AUTHORS,
    TAG,
    compliance_rules,
    signed_in,
)
from contentfeed.content.models import (
    PostVariant,
)
from contentfeed.content.templating import VariantCheck


class VariantOut(BaseModel):
    """A post variant: a sandboxed template a seller copies once rendered for them."""

    id: int | None = Field(description="None for a new variant that waits for review")
    position: int
    language: str = Field(description="Sellers with it among their languages get this variant")
    body: str
    first_comment: str = Field(
        default="", description="The first comment's template posted under the post, or empty"
    )
    waiting_for_review: bool = Field(
        default=False,
        description="Four-eyes: this text of an approved item waits for someone else's "
        "review; sellers keep getting the approved one (see the item's pending_change)",
    )


class CheckedVariantOut(VariantOut):
    """A variant just saved, with its sample rendering and what is worth a second look."""

    rendered_sample: str = Field(description="The post as a sample seller would share it")
    length: int = Field(description="Characters in the rendered sample")
    rendered_comment_sample: str = Field(
        default="", description="The first comment as a sample seller would post it"
    )
    warnings: list[str]


class VariantList(BaseModel):
    """An item's post variants, in order."""

    items: list[VariantOut]


def variant_out(variant: PostVariant) -> VariantOut:
    """Describe a variant for the API."""
    return VariantOut(
        id=variant.id,
        position=variant.position,
        language=variant.language,
        body=variant.body,
        first_comment=variant.first_comment or "",
        waiting_for_review=variant.content_id is None,
    )


def checked_variant_out(variant: PostVariant, check: VariantCheck) -> CheckedVariantOut:
    """Describe a just-saved variant with its check's sample rendering and warnings."""
    return CheckedVariantOut(
        id=variant.id,
        position=variant.position,
        language=variant.language,
        body=variant.body,
        first_comment=variant.first_comment or "",
        waiting_for_review=variant.content_id is None,
        rendered_sample=check.rendered,
        rendered_comment_sample=check.comment,
        length=check.length,
        warnings=check.warnings,
    )


@bp.get("/content/<int:content_id>/variants")
@access.require_scope("read")
@operation(summary="List an item's variants", tag=TAG, response=VariantList, errors=(404,))
def list_variants(content_id: int) -> Response:
    """List an item's post variants in order."""
    s = db.session()
    content = service.get_content(s, content_id, signed_in())
    body = VariantList(items=[variant_out(v) for v in content.variants])
    return json_response(body)


@bp.post("/content/<int:content_id>/variants")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Add a post variant",
    tag=TAG,
    response=CheckedVariantOut,
    status=201,
    body=service.VariantData,
    errors=(404, 409),
)
def create_variant(content_id: int) -> Response:
    """Add a variant after checking its template, length and compliance."""
    variant, check = _save(content_id, None)
    return json_response(checked_variant_out(variant, check), 201)


@bp.patch("/content/<int:content_id>/variants/<int:variant_id>")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Change a post variant",
    tag=TAG,
    response=CheckedVariantOut,
    body=service.VariantData,
    errors=(404,),
)
def update_variant(content_id: int, variant_id: int) -> Response:
    """Change a variant's text after checking it again."""
    variant, check = _save(content_id, variant_id)
    return json_response(checked_variant_out(variant, check))


def _save(content_id: int, variant_id: int | None) -> tuple[PostVariant, VariantCheck]:
    """Add a variant (no id) or change one, refusing who may not before reading the body."""
    s = db.session()
    actor = signed_in()
    content = service.get_content(s, content_id, actor)
    variant = service.get_variant(content, variant_id) if variant_id is not None else None
    service.require_edit(actor, content)
    data = parse_json(service.VariantData)
    return service.save_variant(
        s,
        content,
        data.body,
        language=data.language,
        actor=actor,
        rules=compliance_rules(),
        variant=variant,
        first_comment=data.first_comment,
    )


@bp.delete("/content/<int:content_id>/variants/<int:variant_id>")
@access.require_scope("content:write", *AUTHORS)
@operation(summary="Delete a post variant", tag=TAG, status=204, errors=(404, 409))
def delete_variant(content_id: int, variant_id: int) -> Response:
    """Delete a variant; an item past draft keeps at least one."""
    s = db.session()
    actor = signed_in()
    content = service.get_content(s, content_id, actor)
    variant = service.get_variant(content, variant_id)
    service.delete_variant(s, content, variant, actor=actor)
    return Response(status=204)
