"""The settings' schema: every table of config.toml as a typed model, with its defaults and
checks. Reading them (file, environment, instance folder) is contentfeed.config's work."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_FRAME_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


class Section(BaseModel):
    """A group of settings: a table in config.toml (``[routing]``), CONTENTFEED_ROUTING__*."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SignInSettings(Section):
    """Sign-in sessions and the lockout after failed attempts."""

    cookie_secure: bool = False
    lifetime_hours: int = Field(default=12, ge=1, le=24 * 30)
    max_failures: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)


class AccountSettings(Section):
    """Invitations, password resets and sellers' one-click feed links: how long their
    emailed links stay usable, and whether digests carry a one-click link at all."""

    invitation_days: int = Field(default=7, ge=1, le=90)
    reset_minutes: int = Field(default=60, ge=5, le=24 * 60)
    feed_links: bool = True
    feed_link_hours: int = Field(default=72, ge=1, le=24 * 14)


class HttpSettings(Section):
    """Outbound HTTP: page previews, notification webhooks, the CRM."""

    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    retries: int = Field(default=2, ge=0, le=10)
    max_response_bytes: int = Field(default=2_000_000, ge=1024)
    allow_private_addresses: bool = False


class LibrarySettings(Section):
    """Uploads and bulk imports."""

    upload_dir: str = ""
    upload_max_mb: int = Field(default=25, ge=1, le=2048)
    import_chunk_rows: int = Field(default=200, ge=1, le=10_000)
    # Four-eyes approval: nobody approves what they wrote or sent for approval, and a change
    # to an approved item's variants, web address or targeting waits for review.
    four_eyes: bool = True

    @property
    def max_upload_bytes(self) -> int:
        """Return the largest upload accepted, in bytes."""
        return self.upload_max_mb * 1_000_000


class ComplianceSettings(Section):
    """What every rendered post carries and what no variant may say."""

    disclosure: str = "#employee"
    blocked_words: list[str] = Field(
        default_factory=lambda: ["guarantee", "guaranteed", "risk-free", "best in the world"]
    )


class SuggestionSettings(Section):
    """When suggestions appear in sellers' feeds and how long they wait there."""

    local_hour: int = Field(default=7, ge=0, le=23)
    ttl_days: int = Field(default=7, ge=1, le=90)
    # Mark posted only with the LinkedIn post's address (a verified post); off: optional.
    require_post_url: bool = False
    # Where "Post on LinkedIn" goes: the composer with the post filled in, or the share
    # dialog with only the link (the seller pastes the copied text). A seller may choose.
    linkedin_composer: Literal["prefill", "share-offsite"] = "prefill"


class LinkSettings(Section):
    """Tracked links, and which requests for them count as human clicks (links/reasons.py)."""

    cookie_days: int = Field(default=90, ge=1, le=400)
    # The same visitor asking for the same link again within this many seconds is a
    # repeat, kept but not counted (0: every request of a person counts).
    repeat_seconds: int = Field(default=30, ge=0, le=86400)
    # A request without a referrer within this many seconds after the post was marked
    # posted is an automatic fetch, kept but not counted (0: off).
    early_seconds: int = Field(default=60, ge=0, le=3600)


class EmailSettings(Section):
    """The SMTP server the sellers' digests go out through."""

    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    security: str = "starttls"
    username: str = ""
    password: str = ""
    sender: str = "contentfeed <contentfeed@localhost>"
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("security")
    @classmethod
    def _known_security(cls, value: str) -> str:
        if value not in {"starttls", "tls", "none"}:
            raise ValueError("must be starttls, tls or none")
        return value


class NotificationSettings(Section):
    """Seller notices by email, Slack and Teams."""

    max_attempts: int = Field(default=6, ge=1, le=20)


class LeadSettings(Section):
    """The lead webhook, the gated form and attribution."""

    clock_skew_seconds: int = Field(default=300, ge=10, le=3600)
    max_body_kb: int = Field(default=64, ge=1, le=10_240)
    max_attempts: int = Field(default=8, ge=1, le=50)
    attribution_lookback_days: int = Field(default=90, ge=1, le=730)
    raw_event_retention_days: int = Field(default=30, ge=1, le=3650)
    gated_submissions_per_hour: int = Field(default=5, ge=1, le=1000)
    gated_frame_ancestors: list[str] = Field(default_factory=list)

    @field_validator("gated_frame_ancestors")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        # Each goes into a header as written: an origin, nothing that could end the directive.
        origins = [value.strip().rstrip("/") for value in values]
        for origin in origins:
            if not _FRAME_ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin like https://www.example.com "
                    "(scheme, host, optional *. and :port; no path)"
                )
        return origins


class CompanySettings(Section):
    """Who runs the public pages (gated form, thank-you, link pages): the operator's name and
    logo instead of contentfeed's, and the imprint and privacy policy every form needs."""

    name: str = Field(default="", max_length=200)
    logo_url: str = ""
    imprint_url: str = ""
    privacy_url: str = ""

    @field_validator("logo_url", "imprint_url", "privacy_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        # Put into href/src as written: an absolute web address, or a path on this site.
        value = value.strip()
        if value and not value.startswith(("https://", "http://", "/")):
            raise ValueError("must be an http(s):// URL or a path starting with /, or empty")
        return value


DEFAULT_CONSENT_TEXTS: dict[str, str] = {
    "en": (
        "I agree that my details may be stored and used to contact me about this content and "
        "related products. I can withdraw this consent at any time."
    ),
    "de": (
        "Ich bin damit einverstanden, dass meine Angaben gespeichert und verwendet werden, um "
        "mich zu diesem Inhalt und zu verwandten Produkten zu kontaktieren. Diese Einwilligung "
        "kann ich jederzeit widerrufen."
    ),
}


class ConsentSettings(Section):
    """The consent the gated form asks for, per language and versioned, and what follows it."""

    # Change the wording: change the version too. Each lead keeps the version, language and
    # exact text it agreed to, so a new version never rewrites what earlier leads accepted.
    version: str = Field(default="1", min_length=1, max_length=64)
    texts: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CONSENT_TEXTS))
    double_opt_in: bool = False
    confirm_days: int = Field(default=7, ge=1, le=90)
    download_hours: int = Field(default=24, ge=1, le=24 * 30)

    @field_validator("texts")
    @classmethod
    def _texts(cls, value: dict[str, str]) -> dict[str, str]:
        texts = {code.strip().lower(): text.strip() for code, text in value.items()}
        if not texts.get("en"):
            raise ValueError("needs an English text (en), the one shown when no other fits")
        if any(not text for text in texts.values()):
            raise ValueError("a language's consent text may not be empty")
        return texts

    def text_for(self, locale: str) -> tuple[str, str]:
        """Return (language, text) of the consent for a visitor's locale, English otherwise."""
        code = locale.split("_")[0].lower()
        return (code, self.texts[code]) if code in self.texts else ("en", self.texts["en"])


class RoutingSettings(Section):
    """The default queues and rules made on first use, and duplicate leads."""

    default_queue: str = Field(default="Digital sales", min_length=1, max_length=120)
    customer_queue: str = Field(default="Customer development", min_length=1, max_length=120)
    default_sla_minutes: int = Field(default=60, ge=1, le=43_200)
    customer_sla_minutes: int = Field(default=240, ge=1, le=43_200)
    dedupe_days: int = Field(default=30, ge=0, le=365)


class CustomerSettings(Section):
    """Customer development after the signature: the handover's SLA and the renewal window."""

    handover_sla_hours: int = Field(default=24, ge=1, le=24 * 90)
    renewal_window_days: int = Field(default=90, ge=1, le=730)


class CrmSettings(Section):
    """Where routed leads and their changes are sent, signed, and how hard to try; and the
    secret the CRM signs its own events with."""

    webhook_url: str = ""
    webhook_secret: str = ""
    max_attempts: int = Field(default=8, ge=1, le=50)
    events_secret: str = ""

    @field_validator("webhook_secret", "events_secret")
    @classmethod
    def _whsec(cls, value: str) -> str:
        if value.strip():
            from standardwebhooks import Webhook

            try:
                Webhook(value.strip())
            except Exception:
                raise ValueError(
                    "must be a Standard Webhooks secret: whsec_ and base64 text"
                ) from None
            if not value.strip().startswith("whsec_"):
                raise ValueError("must start with whsec_ (a Standard Webhooks secret)")
        return value.strip()

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value.strip() and not value.strip().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, or empty")
        return value.strip()


class ReportSettings(Section):
    """How reach and clicks become the earned-media-value estimates."""

    currency: str = Field(default="EUR", min_length=3, max_length=3)
    cpm: float = Field(default=30.0, ge=0, le=10_000)
    cpc: float = Field(default=6.0, ge=0, le=10_000)
    impression_rate: float = Field(default=0.12, gt=0, le=1)


_SSO_ROLES = ("admin", "marketer", "contributor", "seller", "rep")


class SsoSettings(Section):
    """Single sign-on with OpenID Connect: the company's identity provider, how its groups
    become roles, and whether passwords still work."""

    enabled: bool = False
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    button_label: str = Field(default="", max_length=80)
    group_claim: str = Field(default="groups", min_length=1, max_length=100)
    group_roles: dict[str, str] = Field(default_factory=dict)
    default_role: str = "seller"
    sso_only: bool = False
    break_glass_admins: list[str] = Field(default_factory=list)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be the provider's https:// issuer URL, or empty")
        return value

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: list[str]) -> list[str]:
        scopes = [scope.strip() for scope in value if scope.strip()]
        if "openid" not in scopes:
            raise ValueError("must include openid")
        return scopes

    @field_validator("default_role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value.strip().lower() not in _SSO_ROLES:
            raise ValueError(f"must be one of {', '.join(_SSO_ROLES)}")
        return value.strip().lower()

    @field_validator("group_roles")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        roles = {group.strip(): role.strip().lower() for group, role in value.items()}
        for group, role in roles.items():
            if role not in _SSO_ROLES:
                raise ValueError(f"group {group!r}: role must be one of {', '.join(_SSO_ROLES)}")
        return roles

    @field_validator("break_glass_admins")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [email.strip().lower() for email in value if email.strip()]

    @model_validator(mode="after")
    def _complete(self) -> SsoSettings:
        if self.enabled:
            missing = [
                name for name in ("issuer", "client_id", "client_secret") if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"enabled = true needs {', '.join(missing)}")
        if self.sso_only and not self.enabled:
            raise ValueError("sso_only = true needs enabled = true (nobody could sign in)")
        return self


class Settings(BaseModel):
    """Every setting the service knows, with its default. config.toml documents each one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = ""
    secret_key: str = ""
    instance_path: str = ""
    public_base_url: str = "http://127.0.0.1:5000"
    default_timezone: str = "Europe/Berlin"
    default_locale: Literal["en", "de"] = "en"
    log_level: str = "INFO"
    page_size: int = Field(default=25, ge=5, le=500)
    trusted_proxies: int = Field(default=0, ge=0, le=5)

    sign_in: SignInSettings = SignInSettings()
    accounts: AccountSettings = AccountSettings()
    http: HttpSettings = HttpSettings()
    library: LibrarySettings = LibrarySettings()
    compliance: ComplianceSettings = ComplianceSettings()
    suggestions: SuggestionSettings = SuggestionSettings()
    links: LinkSettings = LinkSettings()
    email: EmailSettings = EmailSettings()
    notifications: NotificationSettings = NotificationSettings()
    leads: LeadSettings = LeadSettings()
    company: CompanySettings = CompanySettings()
    consent: ConsentSettings = ConsentSettings()
    routing: RoutingSettings = RoutingSettings()
    customers: CustomerSettings = CustomerSettings()
    crm: CrmSettings = CrmSettings()
    reports: ReportSettings = ReportSettings()
    sso: SsoSettings = SsoSettings()

    @property
    def company_name(self) -> str:
        """Return the name public pages show: [company] name, else this site's host name."""
        from urllib.parse import urlsplit

        return self.company.name.strip() or urlsplit(self.public_base_url).hostname or "contentfeed"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value.upper()

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("public_base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


SECTIONS: dict[str, type[Section]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, Section)
}

# The names settings had before they were grouped, still read from config files, the
# environment (CONTENTFEED_ROUTING_DEDUPE_DAYS) and overrides: (section, setting) for each.
FLAT_NAMES: dict[str, tuple[str, str]] = {
    **{f"http_{key}": ("http", key) for key in HttpSettings.model_fields},
    **{f"compliance_{key}": ("compliance", key) for key in ComplianceSettings.model_fields},
    **{f"routing_{key}": ("routing", key) for key in RoutingSettings.model_fields},
    "crm_webhook_url": ("crm", "webhook_url"),
    "crm_webhook_secret": ("crm", "webhook_secret"),
    "outbox_max_attempts": ("crm", "max_attempts"),
    "session_cookie_secure": ("sign_in", "cookie_secure"),
    "session_lifetime_hours": ("sign_in", "lifetime_hours"),
    "login_max_failures": ("sign_in", "max_failures"),
    "login_lockout_minutes": ("sign_in", "lockout_minutes"),
    "upload_dir": ("library", "upload_dir"),
    "upload_max_mb": ("library", "upload_max_mb"),
    "import_chunk_rows": ("library", "import_chunk_rows"),
    "suggest_local_hour": ("suggestions", "local_hour"),
    "suggestion_ttl_days": ("suggestions", "ttl_days"),
    "link_cookie_days": ("links", "cookie_days"),
    "smtp_host": ("email", "host"),
    "smtp_port": ("email", "port"),
    "smtp_security": ("email", "security"),
    "smtp_username": ("email", "username"),
    "smtp_password": ("email", "password"),
    "smtp_from": ("email", "sender"),
    "smtp_timeout_seconds": ("email", "timeout_seconds"),
    "notification_max_attempts": ("notifications", "max_attempts"),
    "webhook_clock_skew_seconds": ("leads", "clock_skew_seconds"),
    "webhook_max_body_kb": ("leads", "max_body_kb"),
    "lead_event_max_attempts": ("leads", "max_attempts"),
    "attribution_lookback_days": ("leads", "attribution_lookback_days"),
    "raw_event_retention_days": ("leads", "raw_event_retention_days"),
    "gated_submissions_per_hour": ("leads", "gated_submissions_per_hour"),
    "gated_frame_ancestors": ("leads", "gated_frame_ancestors"),
    "consent_double_opt_in": ("consent", "double_opt_in"),
    "report_currency": ("reports", "currency"),
    "report_cpm": ("reports", "cpm"),
    "report_cpc": ("reports", "cpc"),
    "report_impression_rate": ("reports", "impression_rate"),
}
