"""Leads API under /api/v1: export or erase everything held about one person."""

from __future__ import annotations

from flask import Response, g
from pydantic import BaseModel, Field, JsonValue

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.api import json_response, operation, parse_json, parse_query
from contentfeed.leads import privacy
from contentfeed.leads.api import TAG, WRITE_SCOPE, bp
from contentfeed.leads.privacy import ErasureIn, PersonQuery


class PersonalData(BaseModel):
    """Everything held about one person; empty lists and a message when we hold nothing."""

    email: str
    exported_at: str
    found: bool = Field(description="False when no lead or raw delivery names the address")
    message: str = Field(description="Says so when nothing is held; empty otherwise")
    leads: list[dict[str, JsonValue]]
    touches: list[dict[str, JsonValue]]
    inbound_events: list[dict[str, JsonValue]]
    activity: list[dict[str, JsonValue]]
    crm_messages: list[dict[str, JsonValue]]


class ErasureOut(BaseModel):
    """What an erasure changed."""

    leads: int = Field(description="Leads whose personal fields were blanked")
    events: int = Field(description="Raw deliveries blanked")
    messages: int = Field(description="CRM messages not yet delivered, made anonymous")
    closed: int = Field(description="Open leads closed (reason erased) and taken out of queues")
    message: str


@bp.get("/personal-data")
@access.require_scope("read", Role.ADMIN)
@operation(
    summary="Export everything held about one person",
    tag=TAG,
    query=PersonQuery,
    response=PersonalData,
)
def export_person() -> Response:
    """Return everything held about one person by email: leads, touches, raw deliveries,
    history and CRM messages. An address we hold nothing about answers 200 with empty lists,
    ``found: false`` and a message saying so."""
    held = privacy.export(db.session(), parse_query(PersonQuery))
    return json_response(PersonalData(**held.data, found=held.found, message=held.message))


@bp.post("/personal-data/erase")
@access.require_scope(WRITE_SCOPE, Role.ADMIN)
@operation(summary="Erase one person's personal data", tag=TAG, body=ErasureIn, response=ErasureOut)
def erase_person() -> Response:
    """Blank the person's personal fields on every lead and raw delivery and close their open
    leads (reason erased); reports keep counting the leads, anonymously."""
    report = privacy.erase(db.session(), g.api_token.user, parse_json(ErasureIn))
    return json_response(
        ErasureOut(
            leads=report.leads,
            events=report.events,
            messages=report.messages,
            closed=report.closed,
            message=report.summary() + ".",
        )
    )
