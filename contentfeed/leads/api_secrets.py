"""Leads API under /api/v1: webhook signing secrets and each one's field mapping."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.api import Timestamp, json_response, operation, parse_json
from contentfeed.leads import signing
from contentfeed.leads.api import TAG, WRITE_SCOPE, bp
from contentfeed.leads.models import WebhookSecret
from contentfeed.leads.signing import FieldMappingIn


class SecretOut(BaseModel):
    """A webhook signing secret, without its value (shown only once, when it is made)."""

    id: int
    name: str
    prefix: str = Field(description="The first characters of the secret, to recognise it")
    created_at: Timestamp
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    field_mapping: dict[str, str] = Field(
        description="The sender's field names mapped to ours: our field, another name to "
        "keep the field under in the lead's extra data, or empty to leave it out"
    )


class SecretList(BaseModel):
    """Every signing secret, active ones first, newest first."""

    items: list[SecretOut]


def secret_out(secret: WebhookSecret) -> SecretOut:
    """Describe a secret for the API."""
    return SecretOut(
        id=secret.id,
        name=secret.name,
        prefix=secret.prefix,
        created_at=secret.created_at,
        last_used_at=secret.last_used_at,
        revoked_at=secret.revoked_at,
        field_mapping={str(k): str(v) for k, v in (secret.field_mapping or {}).items()},
    )


@bp.get("/webhook-secrets")
@access.require_scope("read", Role.ADMIN)
@operation(summary="List webhook signing secrets", tag=TAG, response=SecretList)
def list_secrets() -> Response:
    """List the lead webhook's signing secrets with their field mappings (never their value)."""
    secrets = signing.list_secrets(db.session())
    return json_response(SecretList(items=[secret_out(secret) for secret in secrets]))


@bp.put("/webhook-secrets/<int:secret_id>/field-mapping")
@access.require_scope(WRITE_SCOPE, Role.ADMIN)
@operation(
    summary="Set a webhook secret's field mapping",
    tag=TAG,
    body=FieldMappingIn,
    response=SecretOut,
    errors=(404, 409, 422),
)
def set_field_mapping(secret_id: int) -> Response:
    """Replace the mapping of a sender's own field names to ours, for the deliveries this
    secret signs: `{"fields": {"Firmenname": "company", "Anrede": "salutation",
    "Bundesland": ""}}`. German and English names (vorname, e-mail, firma, land, telefon,
    einwilligung, ...) need no mapping. Failed deliveries processed again afterwards are read
    with the new mapping. 409 for a revoked secret.
    """
    secret = signing.set_field_mapping(
        db.session(), access.signed_in_user(), secret_id, parse_json(FieldMappingIn)
    )
    return json_response(secret_out(secret))
