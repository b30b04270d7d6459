"""Webhook signing secrets: making and revoking them, and checking a delivery's signature."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from contentfeed.accounts.models import User
from contentfeed.db import utcnow
from contentfeed.errors import BadRequest, Conflict, Invalid, NotFound, Unauthorized
from contentfeed.i18n import _
from contentfeed.leads import intake
from contentfeed.leads.models import WebhookSecret
from contentfeed.text import Input, checked_text

log = logging.getLogger("contentfeed.leads")

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
USE_RECORD_INTERVAL = timedelta(minutes=1)


def new_secret_value() -> str:
    """Return a fresh Standard Webhooks secret: whsec_ and base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def create_secret(
    s: Session, *, name: str, created_by: User | None = None
) -> tuple[WebhookSecret, str]:
    """Create a signing secret and return it with its value (show the value only once)."""
    name = checked_text("name", name).strip()
    if not name:
        raise Invalid(_("Name the secret after the sender that uses it."), {"name": _("required")})
    if len(name) > 120:
        raise Invalid(_("The name is too long."), {"name": _("at most 120 characters")})
    value = new_secret_value()
    secret = WebhookSecret(
        name=name,
        secret=value,
        prefix=value[:12],
        created_by_id=created_by.id if created_by else None,
    )
    s.add(secret)
    s.flush()
    forget_signers()
    return secret, value


def active_secrets(s: Session) -> list[WebhookSecret]:
    """Return the secrets that may sign deliveries (all not revoked), oldest first."""
    query = (
        sa.select(WebhookSecret)
        .where(WebhookSecret.revoked_at.is_(None))
        .order_by(WebhookSecret.id)
    )
    return list(s.scalars(query))


def list_secrets(s: Session) -> list[WebhookSecret]:
    """Return every signing secret for the admin page: active ones first, newest first."""
    query = sa.select(WebhookSecret).order_by(
        WebhookSecret.revoked_at.is_not(None), WebhookSecret.id.desc()
    )
    return list(s.scalars(query))


# --- field mappings ------------------------------------------------------------------------

MAX_MAPPED_FIELDS = 100
MAX_FIELD_NAME = 100
IGNORE = "-"  # in the page's text: leave the field out


class FieldMappingIn(Input):
    """A sender's field names mapped to ours: {"Firmenname": "company", "Bundesland": ""}.

    The value is one of our fields (first_name, company, country, ...; German and other
    names for them are understood too), another name to keep the field under in the lead's
    extra data ("Anrede": "salutation"), or empty to leave the field out.
    """

    fields: dict[str, str] = Field(default_factory=dict, max_length=MAX_MAPPED_FIELDS)


def checked_mapping(data: FieldMappingIn) -> dict[str, str]:
    """Return a mapping with each value spelled as our field when it names one, or refuse it
    (422) naming each entry at fault."""
    problems: dict[str, str] = {}
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for source, target in data.fields.items():
        name, target = source.strip(), target.strip()
        if target == IGNORE:
            target = ""
        if not name:
            problems["fields"] = _("Every mapped field needs the sender's field name.")
        elif len(name) > MAX_FIELD_NAME or len(target) > MAX_FIELD_NAME:
            problems[name[:MAX_FIELD_NAME]] = _(
                "Field names are at most %(n)d characters.", n=MAX_FIELD_NAME
            )
        elif (key := intake.field_key(name)) in seen:
            problems[name] = _("%(name)s is mapped twice.", name=seen[key])
        else:
            seen[key] = name
            mapping[name] = (intake.our_field(target) or target) if target else ""
    if problems:
        raise Invalid(_("The field mapping needs attention."), problems)
    return mapping


def set_field_mapping(
    s: Session, actor: User | None, secret_id: int, data: FieldMappingIn
) -> WebhookSecret:
    """Replace a secret's field mapping; deliveries it signs (and failed ones processed
    again) are read with it from now on."""
    secret = s.get(WebhookSecret, secret_id)
    if secret is None:
        raise NotFound(_("No webhook secret has this id."))
    if secret.revoked_at is not None:
        raise Conflict(_("This secret is revoked; its mapping can no longer change."))
    secret.field_mapping = checked_mapping(data)
    forget_signers()
    return secret


def mapping_text(mapping: Mapping[str, Any]) -> str:
    """Write a mapping as the page's text: one "their name = our name" per line."""
    return "\n".join(f"{name} = {target or IGNORE}" for name, target in mapping.items())


def parse_mapping_text(text: str) -> FieldMappingIn:
    """Read the page's text (one "their name = our name" per line; "-" or nothing after "="
    leaves the field out), or refuse it (422) naming the line at fault."""
    fields: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, equals, target = line.partition("=")
        if not equals:
            message = _("Line %(n)d: write “their name = our name”.", n=number)
            raise Invalid(message, {"mapping": message})
        fields[name.strip()] = target.strip()
    try:
        return FieldMappingIn(fields=fields)
    except ValidationError as exc:
        message = _("The field mapping needs attention.")
        detail = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise Invalid(message, {"mapping": detail}) from None


@dataclass(frozen=True)
class Signer:
    """An active secret, ready to compute signatures."""

    id: int
    name: str
    webhook: Webhook
    # The sender's field names mapped to ours (WebhookSecret.field_mapping).
    mapping: Mapping[str, Any] = field(default_factory=dict)


# Each worker keeps the active secrets for a few seconds, so a delivery costs no read for
# them. A secret made here is found at once (an unmatched signature reloads the list); a
# revoked one is refused by this process at once and by other workers within SIGNERS_TTL.
SIGNERS_TTL_SECONDS = 5.0
_SIGNERS: weakref.WeakKeyDictionary[sa.Engine, tuple[float, list[Signer]]] = (
    weakref.WeakKeyDictionary()
)
_USE_RECORDED: weakref.WeakKeyDictionary[sa.Engine, dict[int, float]] = weakref.WeakKeyDictionary()


def forget_signers() -> None:
    """Drop this process's cached secrets (after a secret is made or revoked)."""
    _SIGNERS.clear()
    _USE_RECORDED.clear()


def _signers(conn: sa.Connection, *, fresh: bool = False) -> tuple[list[Signer], bool]:
    """Return the active secrets' signers and whether they were just read."""
    cached = _SIGNERS.get(conn.engine)
    if cached is not None and not fresh and time.monotonic() - cached[0] < SIGNERS_TTL_SECONDS:
        return cached[1], False
    query = (
        sa.select(
            WebhookSecret.id, WebhookSecret.name, WebhookSecret.secret, WebhookSecret.field_mapping
        )
        .where(WebhookSecret.revoked_at.is_(None))
        .order_by(WebhookSecret.id)
    )
    signers = []
    for secret_id, name, value, mapping in conn.execute(query):
        try:
            signers.append(Signer(secret_id, name, Webhook(value), dict(mapping or {})))
        except (binascii.Error, ValueError, EmptyWebhookSecretError):
            log.error("webhook secret %s (%s) is not a valid whsec_ value", secret_id, name)
    _SIGNERS[conn.engine] = (time.monotonic(), signers)
    return signers, True


def revoke_secret(s: Session, secret_id: int, now: datetime | None = None) -> WebhookSecret:
    """Stop accepting a secret's signatures; revoking twice changes nothing."""
    secret = s.get(WebhookSecret, secret_id)
    if secret is None:
        raise NotFound(_("No webhook secret has this id."))
    if secret.revoked_at is None:
        secret.revoked_at = now or utcnow()
    forget_signers()
    return secret


def _signatures(header: str) -> list[bytes]:
    """Return the v1 signatures of a webhook-signature header; malformed entries are ignored."""
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


UNSIGNED = (
    "Sign the request with the Standard Webhooks headers webhook-id, webhook-timestamp "
    "and webhook-signature, or send 'Authorization: Bearer <token>'."
)


@dataclass(frozen=True)
class SignedDelivery:
    """A delivery's Standard Webhooks headers, checked, and its body as the text signed."""

    msg_id: str
    sent_at: datetime
    text: str
    # The v1 signatures the webhook-signature header offers (a sender rotating its secret
    # sends several).
    signatures: list[bytes]


def signed_delivery(
    body: bytes,
    headers: Mapping[str, str],
    *,
    clock_skew_seconds: int,
    now: datetime | None = None,
    unsigned: str = UNSIGNED,
) -> SignedDelivery:
    """Check a delivery's Standard Webhooks headers and its timestamp against our clock, or
    raise Unauthorized (BadRequest for a body that is not UTF-8; Invalid for a webhook-id
    that cannot be a stored key). ``unsigned`` is what a delivery without the headers is told.

    Which secret made the signature is the caller's question: see ``signs``.
    """
    now = now or utcnow()
    msg_id = headers.get("webhook-id", "").strip()
    raw_timestamp = headers.get("webhook-timestamp", "").strip()
    header = headers.get("webhook-signature", "").strip()
    if not (msg_id and raw_timestamp and header):
        raise Unauthorized(unsigned)
    if len(msg_id) > 200:
        raise Unauthorized("The webhook-id header is longer than 200 characters.")
    if (problem := intake.control_character(msg_id)) is not None:
        # It becomes the stored event's key, which cannot hold a NUL on PostgreSQL.
        raise Invalid("The webhook-id header needs attention.", {"webhook-id": problem})
    try:
        sent_at = datetime.fromtimestamp(int(raw_timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise Unauthorized(
            "The webhook-timestamp header must be whole seconds since 1970-01-01 UTC."
        ) from None
    if abs(now - sent_at) > timedelta(seconds=clock_skew_seconds):
        raise Unauthorized(
            f"The webhook-timestamp is more than {clock_skew_seconds} seconds away from our "
            "clock; sign each delivery with the current time (old deliveries are refused)."
        )
    offered = _signatures(header)
    if not offered:
        raise Unauthorized(
            "The webhook-signature header is malformed: send 'v1,<base64 signature>' entries "
            "separated by spaces."
        )
    try:
        text = body.decode("utf-8")  # the library signs text
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.") from None
    return SignedDelivery(msg_id, sent_at, text, offered)


def signs(webhook: Webhook, delivery: SignedDelivery) -> bool:
    """Tell whether one of the delivery's signatures was made with this secret.

    The HMAC comes from ``standardwebhooks.Webhook.sign``. Its ``verify`` is not used because
    its timestamp tolerance is fixed at five minutes and ours is a setting; it would also
    raise ValueError (a 500) on a malformed signature header instead of refusing it.
    """
    signed = webhook.sign(delivery.msg_id, delivery.sent_at, delivery.text)
    expected = base64.b64decode(signed.partition(",")[2])
    return any(hmac.compare_digest(expected, signature) for signature in delivery.signatures)


def verify_signature(
    conn: sa.Connection,
    body: bytes,
    headers: Mapping[str, str],
    *,
    clock_skew_seconds: int,
    now: datetime | None = None,
) -> Signer:
    """Return the active secret whose Standard Webhooks signature matches, or raise Unauthorized."""
    now = now or utcnow()
    delivery = signed_delivery(body, headers, clock_skew_seconds=clock_skew_seconds, now=now)
    signers, fresh = _signers(conn)
    matched = _matching(signers, delivery)
    if matched is None and not fresh:  # perhaps signed with a secret made since we looked
        matched = _matching(_signers(conn, fresh=True)[0], delivery)
    if matched is None:
        raise Unauthorized("The webhook signature matches none of the active secrets.")
    _record_use(conn, matched, now)
    return matched


def _matching(signers: Iterable[Signer], delivery: SignedDelivery) -> Signer | None:
    return next((signer for signer in signers if signs(signer.webhook, delivery)), None)


def _record_use(conn: sa.Connection, signer: Signer, now: datetime) -> None:
    """Note when a secret was last used, at most once a minute per worker."""
    recorded = _USE_RECORDED.setdefault(conn.engine, {})
    last = recorded.get(signer.id)
    if last is not None and time.monotonic() - last < USE_RECORD_INTERVAL.total_seconds():
        return
    recorded[signer.id] = time.monotonic()
    conn.execute(
        sa.update(WebhookSecret).where(WebhookSecret.id == signer.id).values(last_used_at=now)
    )
