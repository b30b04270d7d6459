"""Gated content: which items have a lead form, spam limits, and turning a form into a lead.

A submission goes through the webhook's intake path: it is stored as a raw InboundEvent
(source "gated:<content id>") and processed by ``service.process_safely``. The lead keeps the
consent wording it agreed to, with its version and language ([consent] in config.toml).

The file is handed over only through a signed, expiring download link (``download_token``),
shown on the thank-you page after the form; with double opt-in the visitor is also sent a
confirmation email in their language whose signed link records when consent was confirmed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from contentfeed import config, db, i18n
from contentfeed.accounts.models import User
from contentfeed.accounts.service import normalise_email
from contentfeed.config import (
    DEFAULT_CONSENT_TEXTS,
    ConsentSettings,
    EmailSettings,
    Settings,
)
from contentfeed.content.models import Content, ContentStatus
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from contentfeed.i18n import _
from contentfeed.leads import service
from contentfeed.leads.intake import JSON_TYPE
from contentfeed.leads.models import InboundEvent, Lead
from contentfeed.text import Input

log = logging.getLogger(__name__)

SOURCE_PREFIX = "gated:"
# The shipped English consent wording ([consent] texts in config.toml can replace it).
CONSENT_TEXT = DEFAULT_CONSENT_TEXTS["en"]
# Where the links in the thank-you page and the confirmation email lead (gated_views.py).
CONFIRM_PAGE = "/g/confirm/{token}"
# Each kind of signed link has its own salt: a download link never confirms consent.
DOWNLOAD_SALT = "gated-download"
CONFIRM_SALT = "gated-consent-confirm"
# Submissions per (hashed) client address are counted over this window; how many are
# allowed is the gated_submissions_per_hour setting.
RATE_WINDOW = timedelta(hours=1)
CLIENT_HEADER = "client"


class Submission(Input):
    """What a visitor typed into a gated form."""

    name: str = Field(default="", max_length=200)
    email: str = Field(max_length=254)
    company: str = Field(default="", max_length=200)
    job_title: str = Field(default="", max_length=200)

    @field_validator("email")
    @classmethod
    def _normalised(cls, value: str) -> str:
        try:
            return normalise_email(value)
        except Invalid:
            raise ValueError(_("Enter a valid email address, like name@company.com.")) from None


class Expired(DomainError):
    """A signed link that was good once and is too old now."""

    status = 410
    code = "gone"


@dataclass(frozen=True)
class Consent:
    """The consent a visitor is asked for: its wording in their language, and which it is."""

    version: str
    locale: str
    text: str


def consent_for(settings: ConsentSettings, locale: str) -> Consent:
    """Return the current consent wording for a visitor's language (English when none)."""
    code, text = settings.text_for(locale)
    return Consent(settings.version, code, text)


@dataclass(frozen=True)
class Visit:
    """Where a submission came from: the facts of the request, none of them stored raw."""

    client: str  # the keyed hash of the address (client_hash)
    cf_ref: str = ""  # the tracked-link cookie, if the visitor followed one
    landing_url: str = ""
    referrer: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class GatedItem:
    """A library item offered behind the lead form, and its file's download address parts."""

    content: Content
    public_id: str
    filename: str


def source_of(content_id: int) -> str:
    """Return the InboundEvent source for one gated item's form."""
    return f"{SOURCE_PREFIX}{content_id}"


def gated_item(s: Session, content_id: int, now: datetime | None = None) -> Content | None:
    """Return the item if it has a public gated page: approved, not expired, gated, with a file."""
    content = s.get(Content, content_id)
    now = now or utcnow()
    if (
        content is None
        or not content.is_gated
        or content.asset is None
        or content.status is not ContentStatus.APPROVED
        or (content.expires_at is not None and content.expires_at <= now)
    ):
        return None
    return content


def open_item(s: Session, content_id: int) -> GatedItem:
    """Return the item behind a public gated page, or raise NotFound when it has none."""
    content = gated_item(s, content_id)
    if content is None or content.asset is None:
        raise NotFound(_("This download is not available."))
    return GatedItem(content, content.asset.public_id, content.asset.filename)


def toggle_gated(s: Session, actor: User, content_id: int) -> bool:
    """Gate an item's uploaded file behind the lead form, or open it again; return whether
    it is gated now."""
    content = s.get(Content, content_id)
    if content is None:
        raise NotFound(_("No library item has this id."))
    if content.asset is None and not content.is_gated:
        raise Conflict(_("Only an item with an uploaded file can be gated."))
    content.is_gated = not content.is_gated
    return content.is_gated


def client_hash(address: str, *, secret: str) -> str:
    """Return a keyed hash of the client address; the raw address is never stored."""
    return hashlib.sha256(f"{secret}{address}".encode()).hexdigest()[:32]


def recent_submissions(s: Session, client: str, now: datetime | None = None) -> int:
    """Count the gated submissions from this hashed address within the rate window."""
    since = (now or utcnow()) - RATE_WINDOW
    query = (
        sa.select(sa.func.count())
        .select_from(InboundEvent)
        .where(
            InboundEvent.source.like(f"{SOURCE_PREFIX}%"),
            InboundEvent.received_at >= since,
            InboundEvent.headers[CLIENT_HEADER].as_string() == client,
        )
    )
    return int(s.scalar(query) or 0)


def is_limited(s: Session, client: str, *, limit: int, now: datetime | None = None) -> bool:
    """Tell whether this address used up its ``limit`` submissions for the past hour."""
    return recent_submissions(s, client, now) >= limit


def lead_body(
    submission: Submission,
    *,
    cf_ref: str,
    landing_url: str,
    referrer: str,
    consent: Consent | None = None,
) -> dict[str, object]:
    """Return the lead as the intake reads it (the same fields a website form would send)."""
    first, _space, last = submission.name.strip().partition(" ")
    consent = consent or Consent("", "en", CONSENT_TEXT)
    return {
        "email": submission.email,
        "first_name": first,
        "last_name": last.strip(),
        "company": submission.company,
        "job_title": submission.job_title,
        "consent": True,
        "consent_text": consent.text,
        "consent_version": consent.version,
        "consent_locale": consent.locale,
        "cf_ref": cf_ref,
        "landing_url": landing_url,
        "referrer": referrer,
    }


def submit(
    item: GatedItem,
    submission: Submission,
    visit: Visit,
    settings: service.IntakeSettings,
    consent: Consent | None = None,
) -> service.Outcome:
    """Keep the submission as a raw event, then process it into a lead.

    Each step is its own unit of work: the raw event is safe before it is processed, and
    what processing made of it (a lead, or the refusal the visitor is shown with a 422) is
    kept whatever the page answers.
    """
    body = lead_body(
        submission,
        cf_ref=visit.cf_ref,
        landing_url=visit.landing_url,
        referrer=visit.referrer,
        consent=consent,
    )
    with db.unit_of_work() as own:
        event, _is_new = service.store_event(
            own,
            source=source_of(item.content.id),
            external_id=secrets.token_hex(16),  # a form post has no id of its own
            content_type=JSON_TYPE,
            body=json.dumps(body),
            headers={"user-agent": visit.user_agent, "content-type": JSON_TYPE},
        )
        event.headers = {**event.headers, CLIENT_HEADER: visit.client}
        event_id = event.id
    with db.unit_of_work() as own:
        kept = own.get(InboundEvent, event_id)
        assert kept is not None  # committed by the unit of work above
        return service.process_safely(own, kept, settings)


# --- signed links: the download, the consent confirmation ---------------------------------


def _signer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def _read(secret: str, salt: str, token: str, max_age: int) -> dict[str, object]:
    """Return a signed link's contents; Expired when too old, Forbidden when not ours."""
    signer = _signer(secret, salt)
    try:
        value = signer.loads(token, max_age=max_age)
    except SignatureExpired:
        raise Expired(_("This link has expired.")) from None
    except BadSignature:
        raise Forbidden(_("This link is not valid.")) from None
    if not isinstance(value, dict):  # pragma: no cover - we only sign dicts
        raise Forbidden(_("This link is not valid."))
    return value


def download_token(content_id: int, *, secret: str) -> str:
    """Return the signed token of one item's download (good for [consent] download_hours)."""
    return str(_signer(secret, DOWNLOAD_SALT).dumps({"c": content_id}))


def open_download(s: Session, content_id: int, token: str, *, secret: str, hours: int) -> GatedItem:
    """Return the gated item a download link hands over, or refuse: Expired (410) when the
    link is older than ``hours``, Forbidden (403) when it is not a link we signed for it."""
    value = _read(secret, DOWNLOAD_SALT, token, hours * 3600)
    if value.get("c") != content_id:
        raise Forbidden(_("This link is not valid."))
    return open_item(s, content_id)


def confirm_token(lead_id: int, *, secret: str) -> str:
    """Return the signed token of the link that confirms one lead's consent."""
    return str(_signer(secret, CONFIRM_SALT).dumps({"l": lead_id}))


@dataclass(frozen=True)
class ConfirmationMail:
    """What sending a double opt-in email needs."""

    base_url: str
    company_name: str
    privacy_url: str
    secret: str
    email: EmailSettings


def confirmation_mail(settings: Settings) -> ConfirmationMail:
    """What the double opt-in email needs, from config."""
    return ConfirmationMail(
        base_url=settings.public_base_url,
        company_name=settings.company_name,
        privacy_url=settings.company.privacy_url,
        secret=settings.secret_key,
        email=settings.email,
    )


def confirm_after_retry(s: Session, event: InboundEvent, outcome: service.Outcome) -> bool:
    """Send the double opt-in email for a gated form's lead made on a retry (the lead did not
    exist when the visitor sent the form, so their request sent nothing), in the language the
    consent was given in; return whether it went out."""
    settings = config.current()
    if not settings.consent.double_opt_in or outcome.lead_id is None:
        return False
    if not event.source.startswith(SOURCE_PREFIX):
        return False
    lead = s.get(Lead, outcome.lead_id)
    if lead is None or lead.consent_confirm_requested_at is not None:
        return False
    content_id = event.source.removeprefix(SOURCE_PREFIX)
    content = s.get(Content, int(content_id)) if content_id.isdigit() else None
    locale = i18n.supported(lead.consent_locale) or settings.default_locale
    return request_confirmation(
        s, lead.id, content.title if content else "", confirmation_mail(settings), locale
    )


def request_confirmation(
    s: Session, lead_id: int, content_title: str, mail: ConfirmationMail, locale: str
) -> bool:
    """Send the lead the double opt-in email in ``locale`` and note when; return whether it
    went out (a failure is logged: the consent stays pending and the lead is kept)."""
    from contentfeed.suggestions.notify import DeliveryFailed, send_text_email

    lead = s.get(Lead, lead_id)
    if lead is None or not lead.consent or lead.consent_confirmed_at is not None:
        return False
    lead.consent_confirm_requested_at = utcnow()
    url = mail.base_url.rstrip("/") + CONFIRM_PAGE.format(
        token=confirm_token(lead.id, secret=mail.secret)
    )
    with i18n.speaking(locale):
        subject = _("Please confirm your consent: %(company)s", company=mail.company_name)
        lines = [
            _("Hello %(name)s,", name=lead.full_name),
            "",
            _(
                "thank you for your interest in “%(title)s”. You agreed that %(company)s may "
                "store your details and contact you:",
                title=content_title,
                company=mail.company_name,
            ),
            "",
            f"„{lead.consent_text}“" if locale == "de" else f"“{lead.consent_text}”",
            "",
            _("Please confirm this with one click:"),
            url,
            "",
            _(
                "If you did not fill in our form, ignore this email: without your "
                "confirmation we will not contact you."
            ),
        ]
        if mail.privacy_url:
            lines += ["", _("Our privacy policy: %(url)s", url=mail.privacy_url)]
        lines += ["", mail.company_name]
    try:
        delivered = send_text_email(
            lead.email, subject, "\n".join(lines), mail.email, kind="double_opt_in"
        )
    except DeliveryFailed as exc:
        log.warning("double opt-in email for lead %s not sent: %s", lead.id, exc)
        return False
    if not delivered:  # no mail server: kept under Sent email, the visitor got nothing
        log.warning("double opt-in email for lead %s kept: no mail server is set", lead.id)
    return delivered


def confirm_consent(
    s: Session, token: str, *, secret: str, days: int, now: datetime | None = None
) -> Lead:
    """Record that the person confirmed their consent by the emailed link (once; a second
    click changes nothing) and tell the CRM when the lead is there already."""
    value = _read(secret, CONFIRM_SALT, token, days * 24 * 3600)
    lead = s.get(Lead, value.get("l")) if isinstance(value.get("l"), int) else None
    if lead is None or lead.erased_at is not None:
        raise NotFound(_("There is nothing to confirm for this link any more."))
    if lead.consent_confirmed_at is None:
        now = now or utcnow()
        lead.consent_confirmed_at = now
        if lead.routed_at is not None:  # not yet routed: the routed message will carry it
            from contentfeed.routing.outbox import enqueue

            enqueue(s, lead, "lead.consent_confirmed", now)
    return lead
