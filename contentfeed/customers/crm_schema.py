"""What the CRM may send to POST /api/v1/webhooks/crm, and what it is answered.

One declaration per shape: the intake validates bodies with these models, the OpenAPI
document and docs/crm-events.md describe them.
"""

from __future__ import annotations

import enum
import json
from datetime import date
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from contentfeed.db import Id
from contentfeed.errors import BadRequest, Invalid
from contentfeed.routing import domains
from contentfeed.text import Input, input_problem


class CrmEventType(enum.StrEnum):
    """The events the CRM can tell us about."""

    DEAL_WON = "deal.won"
    DEAL_LOST = "deal.lost"
    CONTRACT_ENDING = "contract.ending"
    CONTRACT_RENEWED = "contract.renewed"


CONTRACT_EVENTS = frozenset({CrmEventType.CONTRACT_ENDING, CrmEventType.CONTRACT_RENEWED})


def company_domain(value: str) -> str:
    """Return the company's domain as routing compares it ("" for none), or refuse a
    free-mail or malformed one (a customer account needs the company's own domain)."""
    domain = domains.normalise_domain(value)
    if not value.strip():
        return ""
    if not domains.is_domain(domain):
        raise ValueError("must be the company's domain, e.g. acme.com")
    if domains.is_freemail(domain):
        raise ValueError(f"{domain} is a free-mail provider, not a company's domain")
    return domain


Domain = Annotated[str, Field(max_length=253), AfterValidator(company_domain)]


class ContractIn(Input):
    """A contract as the CRM knows it."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(
        min_length=1,
        max_length=120,
        description="The CRM's id of the contract: later events about it name the same id",
    )
    name: str = Field(default="", max_length=200, description="What the contract covers")
    ends_on: date = Field(
        description="The day the contract ends (ISO date); for contract.renewed its new end"
    )

    @model_validator(mode="after")
    def _trimmed(self) -> Self:
        self.id, self.name = self.id.strip(), self.name.strip()
        if not self.id:
            raise ValueError("the contract's id may not be blank")
        return self


class CrmEventData(Input):
    """What an event is about: the company, our lead where the CRM knows it, the contract."""

    model_config = ConfigDict(extra="ignore")

    domain: Domain = Field(
        default="",
        description="The company's own domain (acme.com; an address or URL is read for it); "
        "free-mail domains are refused. Required, except for a deal event naming our lead_id",
    )
    company: str = Field(
        default="", max_length=200, description="The company's name, for a new account"
    )
    lead_id: Id | None = Field(
        default=None,
        description="Our lead's id, when the CRM has it (the lead.routed message carries it)",
    )
    contract: ContractIn | None = Field(
        default=None,
        description="Required for contract.ending and contract.renewed; optional for deal.won",
    )


class CrmEventIn(Input):
    """One event the CRM sends, as a Standard Webhooks payload: its type and its data."""

    model_config = ConfigDict(extra="ignore")

    type: CrmEventType
    timestamp: str = Field(
        default="", max_length=40, description="When it happened in the CRM (kept, not read)"
    )
    data: CrmEventData

    @model_validator(mode="after")
    def _what_each_type_needs(self) -> Self:
        if self.type in CONTRACT_EVENTS and self.data.contract is None:
            raise ValueError(f"{self.type.value} needs data.contract (id and ends_on)")
        if not self.data.domain and (self.type in CONTRACT_EVENTS or self.data.lead_id is None):
            raise ValueError(f"{self.type.value} needs data.domain (the company's domain)")
        return self


class CrmEventAccepted(BaseModel):
    """Where a CRM event stands; a redelivery (same webhook-id) answers the same."""

    event_id: int = Field(description="Our id of the stored event; the same for a redelivery")
    status: str = Field(
        description="processed; failed when processing failed for a reason on our side (the "
        "event is kept and retried); received while a first copy is still being processed"
    )
    account_id: int | None = Field(description="The customer account the event was about")
    lead_id: int | None = Field(description="The lead it converted or closed, if any")


def parse_event(text: str) -> CrmEventIn:
    """Read an event's body, or refuse it: 400 when it is no JSON object, 422 naming each
    field at fault (as the lead webhook answers)."""
    if not text.strip():
        raise BadRequest("The body is empty; send the event as JSON.")
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError also covers integers longer than Python reads (4,300 digits).
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object with type and data.")
    try:
        return CrmEventIn.model_validate(data)
    except ValidationError as exc:
        fields = {
            ".".join(str(part) for part in error["loc"]) or "body": input_problem(error)
            for error in exc.errors()
        }
        raise Invalid("Some fields need attention.", fields) from None
