"""Workflow actions on a library item: submit, approve, send back, archive; and the review
of a change waiting on an approved item (four-eyes)."""

from __future__ import annotations

from flask import Response
from pydantic import (
    ConfigDict,
    Field,
)

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    Link,
    json_response,
    operation,
)
from contentfeed.content import service
from contentfeed.content.api import bp
from contentfeed.content.api.common import (
    AUTHORS,
    TAG,
    optional_json,
    signed_in,
)
from contentfeed.content.api.items import ContentOut, content_out
from contentfeed.text import Input, MultiLineText


class ActionIn(Input):
    """An optional comment for the audit trail; sending back to draft requires one."""

    model_config = ConfigDict(extra="forbid")

    comment: MultiLineText = Field(default="", max_length=5000)


def _transition(content_id: int, action: str) -> Response:
    s = db.session()
    actor = signed_in()
    content = service.get_content(s, content_id, actor)
    data = optional_json(ActionIn)
    service.transition(s, content, action, actor=actor, comment=data.comment)
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


def _review_change(content_id: int, approve: bool) -> Response:
    s = db.session()
    actor = signed_in()
    content = service.get_content(s, content_id, actor)
    data = optional_json(ActionIn)
    if approve:
        service.approve_revision(s, content, actor=actor, comment=data.comment)
    else:
        service.reject_revision(s, content, actor=actor, comment=data.comment)
    return json_response(content_out(content))


@bp.post("/content/<int:content_id>/change/approve")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Approve the change waiting on an item",
    tag=TAG,
    response=ContentOut,
    body=ActionIn,
    errors=(404, 409),
)
def approve_change(content_id: int) -> Response:
    """Put an approved item's pending change live (four-eyes: not by who made it)."""
    return _review_change(content_id, approve=True)


@bp.post("/content/<int:content_id>/change/reject")
@access.require_scope("content:write", *AUTHORS)
@operation(
    summary="Reject the change waiting on an item",
    tag=TAG,
    response=ContentOut,
    body=ActionIn,
    errors=(404, 409),
)
def reject_change(content_id: int) -> Response:
    """Discard an approved item's pending change; the approved version stays live."""
    return _review_change(content_id, approve=False)
