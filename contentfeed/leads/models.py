"""Leads: webhook secrets, raw inbound events (stored before anything else), leads, touches."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column, relationship, validates

from contentfeed.db import Base, str_enum, utcnow
from contentfeed.i18n import _l


class EventStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


class LeadStatus(enum.StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(LEAD_STATUS_LABELS[self])


LEAD_STATUS_LABELS = {
    LeadStatus.NEW: _l("New"),
    LeadStatus.CLAIMED: _l("Claimed"),
    LeadStatus.CONTACTED: _l("Contacted"),
    LeadStatus.QUALIFIED: _l("Qualified"),
    LeadStatus.DISQUALIFIED: _l("Disqualified"),
    LeadStatus.CONVERTED: _l("Converted"),
}


# Open: someone is still working the lead (a returning person is added to it); closed: done.
OPEN_STATUSES = frozenset(
    {LeadStatus.NEW, LeadStatus.CLAIMED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED}
)
CLOSED_STATUSES = frozenset({LeadStatus.DISQUALIFIED, LeadStatus.CONVERTED})
# The attribution models; a touch keeps its share under each in a column of its own
# (credit_first_touch, ...), which reports sum as plain numbers.
CREDIT_MODELS: tuple[str, ...] = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")
CREDIT_COLUMNS: dict[str, str] = {model: f"credit_{model}" for model in CREDIT_MODELS}


class WebhookSecret(Base):
    """A Standard Webhooks signing secret (whsec_...). Several may be active for rotation.

    The secret itself is kept (verifying an HMAC needs it); it is shown once when made and
    never again in the UI or API.
    """

    __tablename__ = "webhook_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    secret: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # The sender's own field names mapped to ours, for the deliveries this secret signs:
    # {"Firmenname": "company", "Anrede": "salutation", "Bundesland": ""}. The value is one
    # of our fields (LeadIn's), another name to keep the field under in the extra data, or
    # "" to leave it out (see intake.apply_mapping).
    field_mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)


class InboundEvent(Base):
    """A lead delivery exactly as received, committed before it is processed."""

    __tablename__ = "inbound_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "webhook" for signed deliveries (external_id = webhook-id), "token:<id>" for bearer
    # posts (external_id = the body's external_id), "gated:<content id>" for gated forms.
    source: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(120), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[EventStatus] = mapped_column(
        str_enum(EventStatus), default=EventStatus.RECEIVED, index=True
    )
    error: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    processed_at: Mapped[datetime | None]
    lead_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead.id", ondelete="SET NULL"), index=True
    )
    # The secret that signed a webhook delivery: its field mapping is applied when the event
    # is processed (again), so a delivery refused for a field can succeed once it is mapped.
    secret_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("webhook_secret.id", ondelete="SET NULL")
    )

    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)


def form(*aliases: str) -> dict[str, Any]:
    """Mark a column a lead's form fills in (see FORM_FIELDS), with the other names forms
    send it under (German ones first); case, spaces, "_" and "-" do not count."""
    return {"form": True, "aliases": aliases}


# Marks a column a form fills in under its own name only.
FORM = form()


class Lead(Base):
    """A person who came in through a form, with what they told us and their consent."""

    __tablename__ = "lead"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(
        sa.String(254),
        index=True,
        info=form("e-mail", "e-mail-adresse", "email-adresse", "mail", "email address"),
    )
    email_domain: Mapped[str] = mapped_column(sa.String(253), index=True)
    first_name: Mapped[str] = mapped_column(
        sa.String(120), default="", info=form("vorname", "firstname", "given name")
    )
    last_name: Mapped[str] = mapped_column(
        sa.String(120),
        default="",
        info=form("nachname", "familienname", "lastname", "surname", "family name"),
    )
    company: Mapped[str] = mapped_column(
        sa.String(200),
        default="",
        info=form("firma", "unternehmen", "organisation", "organization", "company name"),
    )
    job_title: Mapped[str] = mapped_column(
        sa.String(200),
        default="",
        info=form("position", "jobtitel", "berufsbezeichnung", "funktion", "job title"),
    )
    country: Mapped[str] = mapped_column(sa.String(2), default="", info=form("land"))
    phone: Mapped[str] = mapped_column(
        sa.String(50),
        default="",
        info=form("telefon", "telefonnummer", "tel", "phone number", "telephone"),
    )
    consent: Mapped[bool] = mapped_column(default=False, info=form("einwilligung", "zustimmung"))
    consent_text: Mapped[str] = mapped_column(sa.Text, default="", info=form("einwilligungstext"))
    # Which consent wording the person agreed to ([consent] version) and in which language:
    # kept with the lead, so a new version of the text never rewrites what they accepted.
    consent_version: Mapped[str] = mapped_column(sa.String(64), default="", info=FORM)
    consent_locale: Mapped[str] = mapped_column(sa.String(16), default="", info=FORM)
    landing_url: Mapped[str] = mapped_column(sa.String(2000), default="", info=FORM)
    referrer: Mapped[str] = mapped_column(sa.String(2000), default="", info=FORM)
    utm_source: Mapped[str] = mapped_column(sa.String(200), default="", info=FORM)
    utm_medium: Mapped[str] = mapped_column(sa.String(200), default="", info=FORM)
    utm_campaign: Mapped[str] = mapped_column(sa.String(200), default="", info=FORM)
    utm_content: Mapped[str] = mapped_column(sa.String(200), default="", info=FORM)
    utm_term: Mapped[str] = mapped_column(sa.String(200), default="", info=FORM)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[LeadStatus] = mapped_column(
        str_enum(LeadStatus), default=LeadStatus.NEW, index=True
    )
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    erased_at: Mapped[datetime | None]
    # Double opt-in ([consent] double_opt_in): when the confirmation email was asked for, and
    # when the person confirmed by its link (None: not yet, or no double opt-in).
    consent_confirm_requested_at: Mapped[datetime | None]
    consent_confirmed_at: Mapped[datetime | None]

    # Routing (routing/service.py): where the lead went, who works it and how fast.
    score: Mapped[int] = mapped_column(default=0)
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    queue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead_queue.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    routed_at: Mapped[datetime | None] = mapped_column(index=True)
    due_at: Mapped[datetime | None]  # the SLA: claimed and contacted by then
    claimed_at: Mapped[datetime | None]
    # The claim's own deadline: contacted by then or the SLA sweep returns it to the queue
    # (Queue.claim_minutes from the claim); set while claimed and not yet contacted.
    claim_due_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]  # when it was flagged overdue
    routing_trace: Mapped[dict[str, Any]] = mapped_column(default=dict)
    disqualify_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # The same person came back while this lead was open: the newer one points here.
    merged_into_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead.id", ondelete="SET NULL"), index=True
    )
    returned_count: Mapped[int] = mapped_column(default=0)  # claims given back by the SLA job

    touches: Mapped[list[Touch]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="Touch.touched_at"
    )

    __table_args__ = (sa.Index("ix_lead_queue_open", "queue_id", "status", "due_at"),)

    @property
    def full_name(self) -> str:
        """Return the person's name, or their email when they gave none."""
        return f"{self.first_name} {self.last_name}".strip() or self.email

    @property
    def consent_state(self) -> str:
        """Return the consent as the CRM reads it: none, given (single opt-in), pending (the
        confirmation email is out) or confirmed (double opt-in done)."""
        if not self.consent:
            return "none"
        if self.consent_confirmed_at is not None:
            return "confirmed"
        return "pending" if self.consent_confirm_requested_at is not None else "given"

    @property
    def is_open(self) -> bool:
        """Tell whether someone still has to work this lead."""
        return self.status in OPEN_STATUSES and self.merged_into_id is None

    @validates("email")
    def _lower_email(self, key: str, value: str) -> str:
        # One person, one spelling: matching a person's earlier leads relies on it.
        return value.strip().lower()


# What a lead's form told us, in the table's order: the one list the intake, the API, the CSV
# download, the personal-data export and the lead page take a lead's own fields from.
FORM_FIELDS: tuple[str, ...] = tuple(c.key for c in Lead.__table__.columns if c.info.get("form"))
UTM_FIELDS = tuple(name for name in FORM_FIELDS if name.startswith("utm_"))
# Fields a form sends that are no column of their own but kept in Lead.extra under our name.
EXTRA_FIELD_ALIASES: dict[str, tuple[str, ...]] = {"message": ("nachricht", "mitteilung")}
# Every other name a form may send a field under, by field: the columns' aliases above and
# the extra ones.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    **{
        c.key: tuple(c.info.get("aliases", ()))
        for c in Lead.__table__.columns
        if c.key in FORM_FIELDS
    },
    **EXTRA_FIELD_ALIASES,
}


class Touch(Base):
    """One tracked-link contact that led towards a lead, with its share of the credit."""

    __tablename__ = "touch"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(16))
    # where the code was found: utm_content, ref, landing_url, cookie, or earlier (a previous
    # lead of the same person)
    found_in: Mapped[str] = mapped_column(sa.String(20))
    link_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tracked_link.id", ondelete="SET NULL"), index=True
    )
    click_id: Mapped[int | None] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("click.id", ondelete="SET NULL"),
    )
    suggestion_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("suggestion.id", ondelete="SET NULL"), index=True
    )
    seller_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    content_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("content.id", ondelete="SET NULL"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="SET NULL"), index=True
    )
    touched_at: Mapped[datetime]
    # this touch's share of the lead under each model (see CREDIT_MODELS); a lead's shares
    # sum to 1 under every model
    credit_first_touch: Mapped[float] = mapped_column(sa.Double, default=0.0, server_default="0")
    credit_last_touch: Mapped[float] = mapped_column(sa.Double, default=0.0, server_default="0")
    credit_linear: Mapped[float] = mapped_column(sa.Double, default=0.0, server_default="0")
    credit_u_shaped: Mapped[float] = mapped_column(sa.Double, default=0.0, server_default="0")
    credit_time_decay: Mapped[float] = mapped_column(sa.Double, default=0.0, server_default="0")

    lead: Mapped[Lead] = relationship(back_populates="touches")

    __table_args__ = (sa.UniqueConstraint("lead_id", "code"),)

    @classmethod
    def credit(cls, model: str) -> InstrumentedAttribute[float]:
        """Return the column holding the share under one model (KeyError for an unknown one)."""
        column: InstrumentedAttribute[float] = getattr(cls, CREDIT_COLUMNS[model])
        return column

    @property
    def credits(self) -> dict[str, float]:
        """Return the share under every model: {"first_touch": 1.0, "linear": 0.5, ...}."""
        return {model: float(getattr(self, name) or 0.0) for model, name in CREDIT_COLUMNS.items()}

    @credits.setter
    def credits(self, shares: Mapping[str, float]) -> None:
        for model, name in CREDIT_COLUMNS.items():
            setattr(self, name, float(shares.get(model, 0.0)))
