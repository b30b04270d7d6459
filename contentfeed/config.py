"""Settings: defaults, then config.toml, then CONTENTFEED_* environment variables, then checked."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from flask import Flask, current_app
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PACKAGE = Path(__file__).resolve().parent
# The checkout: config.toml, instance/ and the folders templates/, static/ and migrations/.
# In an installed wheel this is site-packages; the folders are inside the package instead.
ROOT = PACKAGE.parent
ENV_PREFIX = "CONTENTFEED_"
log = logging.getLogger(__name__)
# Environment variables with our prefix that are not settings of the running service.
NON_SETTING_ENV = {"CONFIG", "TEST_DATABASE_URL"}
# A site allowed to frame the gated page: scheme://host[:port], the host may start with *.
_FRAME_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


class ConfigError(RuntimeError):
    """A setting is unknown or malformed; start-up stops with a message naming it."""


class Section(BaseModel):
    """A group of settings: a table in config.toml (``[routing]``), CONTENTFEED_ROUTING__*."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SignInSettings(Section):
    """Sign-in sessions and the lockout after failed attempts."""

    cookie_secure: bool = False
    lifetime_hours: int = Field(default=12, ge=1, le=24 * 30)
    max_failures: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)


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


class LinkSettings(Section):
    """Tracked links."""

    cookie_days: int = Field(default=90, ge=1, le=400)


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


class CrmSettings(Section):
    """Where routed leads and their changes are sent, signed, and how hard to try."""

    webhook_url: str = ""
    webhook_secret: str = ""
    max_attempts: int = Field(default=8, ge=1, le=50)

    @field_validator("webhook_secret")
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
    crm: CrmSettings = CrmSettings()
    reports: ReportSettings = ReportSettings()

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


def setting_type(section: str | None, key: str) -> Any:
    """Return the declared type of a setting (top-level when ``section`` is None), or None."""
    model: type[BaseModel] = SECTIONS[section] if section else Settings
    field = model.model_fields.get(key)
    return field.annotation if field is not None else None


def installed() -> bool:
    """Tell whether this is an installed wheel (it carries its folders inside the package)."""
    return (PACKAGE / "templates").is_dir()


def shipped(name: str) -> Path:
    """Return a folder the service reads (templates, static, migrations), checkout or wheel."""
    return PACKAGE / name if installed() else ROOT / name


def project_dir() -> Path:
    """Return where config.toml and instance/ live: the checkout, or the working directory
    for an installed wheel (site-packages is no place for settings or data)."""
    return Path.cwd() if installed() else ROOT


def config_path() -> Path:
    """Return the config file in use: $CONTENTFEED_CONFIG or config.toml in the project dir."""
    return Path(os.environ.get(ENV_PREFIX + "CONFIG", project_dir() / "config.toml"))


def read_file(path: Path) -> dict[str, Any]:
    """Read a TOML settings file; a missing file means no overrides."""
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Collect CONTENTFEED_<SETTING> and CONTENTFEED_<SECTION>__<SETTING> variables (and the
    settings' older flat names); values are JSON when they parse as JSON, text settings
    always text."""
    values: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name.removeprefix(ENV_PREFIX)
        if key in NON_SETTING_ENV:
            continue
        section, _, field = key.lower().rpartition("__")
        if not section and field in FLAT_NAMES:
            section, field = FLAT_NAMES[field]
        if (section and section not in SECTIONS) or setting_type(section or None, field) is None:
            raise ConfigError(f"unknown setting in environment variable {name}")
        if setting_type(section or None, field) is str:
            value: Any = raw
        else:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        if section:
            values.setdefault(section, {})[field] = value
        else:
            values[field] = value
    return values


def _grouped(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return a layer of settings with the older flat names moved into their sections."""
    grouped: dict[str, Any] = {}
    for key, value in values.items():
        if key in FLAT_NAMES:
            section, field = FLAT_NAMES[key]
            grouped.setdefault(section, {})[field] = value
        elif key in SECTIONS and isinstance(value, Mapping):
            grouped.setdefault(key, {}).update(value)
        else:
            grouped[key] = value
    return grouped


def build_settings(
    file_values: Mapping[str, Any],
    env_values: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    source: str = "config.toml",
) -> Settings:
    """Merge the layers and check them, naming the first bad setting and where it came from."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for layer, name in (
        (file_values, source),
        (env_values, "environment"),
        (overrides or {}, "overrides"),
    ):
        for key, value in _grouped(layer).items():
            if key in SECTIONS and isinstance(value, Mapping):
                merged.setdefault(key, {}).update(value)
                origin.update({f"{key}.{field}": name for field in value})
            else:
                merged[key] = value
            origin[key] = name
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "?"
            where = origin.get(key, origin.get(key.split(".")[0], "defaults"))
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown setting '{key}' ({where})")
            else:
                problems.append(f"setting '{key}' ({where}): {err['msg']}")
        raise ConfigError("; ".join(problems)) from None


def public_page_problems(settings: Settings) -> list[str]:
    """Return what an admin should fix before the public pages face a German lawyer."""
    company = settings.company
    problems = []
    if not company.name.strip():
        problems.append(
            f"[company] name is empty: public pages show {settings.company_name!r} as the operator"
        )
    for key, what in (("imprint_url", "imprint (Impressum)"), ("privacy_url", "privacy policy")):
        if not getattr(company, key):
            problems.append(
                f"[company] {key} is empty: the gated form and other public pages show no "
                f"link to your {what}"
            )
    return problems


def instance_dir(settings: Settings) -> Path:
    """Return the instance folder (database, secret key, uploads), created if missing."""
    path = Path(settings.instance_path) if settings.instance_path else project_dir() / "instance"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_secret_key(instance: Path) -> str:
    """Return the secret kept under instance/, generating it once on first start."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


# The instance folder's note of the address `contentfeed quickstart` serves this install at.
SERVED_AT_FILE = "served_at"
DEFAULT_BASE_URL: str = Settings.model_fields["public_base_url"].default


def recorded_base_url(instance: Path) -> str:
    """Return the address the quickstart last served this install at, or "" when none."""
    path = instance / SERVED_AT_FILE
    if not path.exists():
        return ""
    url = path.read_text(encoding="utf-8").strip().rstrip("/")
    return url if url.startswith(("http://", "https://")) else ""


def record_base_url(instance: Path, url: str) -> None:
    """Note the address this install is served at, for its other processes (CLI, scheduler)."""
    path = instance / SERVED_AT_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(url.rstrip("/") + "\n", encoding="utf-8")
    temporary.replace(path)  # another process reads the old address or the new, never half


def _chose_base_url(
    file_values: Mapping[str, Any], env_values: Mapping[str, Any], overrides: Mapping[str, Any]
) -> bool:
    """Tell whether someone set public_base_url; the shipped config.toml's default is no choice."""
    if "public_base_url" in env_values or "public_base_url" in overrides:
        return True
    value = file_values.get("public_base_url", DEFAULT_BASE_URL)
    return str(value).rstrip("/") != DEFAULT_BASE_URL


def load(app: Flask, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Load and check the settings, keep them on the app (``settings_of``) and return them.

    The folders and secrets left empty are resolved here (the SQLite file and uploads under
    the instance folder, a generated secret key), so the services read concrete values.
    Unless public_base_url is set (config file other than the default, environment or
    overrides), the address the quickstart recorded in the instance folder is used, so a CLI
    command in a second shell writes links to the server that is actually running.
    """
    path = config_path()
    file_values, env_values = read_file(path), read_env(os.environ)
    settings = build_settings(file_values, env_values, overrides, source=str(path))
    instance = instance_dir(settings)
    base_source = "configured"
    base_url = settings.public_base_url
    if not _chose_base_url(file_values, env_values, overrides or {}):
        recorded = recorded_base_url(instance)
        base_url, base_source = (recorded, "recorded") if recorded else (base_url, "default")
    library = settings.library
    settings = settings.model_copy(
        update={
            "database_url": settings.database_url or f"sqlite:///{instance / 'contentfeed.db'}",
            "secret_key": settings.secret_key or stored_secret_key(instance),
            "instance_path": str(instance),
            "public_base_url": base_url,
            "library": library.model_copy(
                update={"upload_dir": library.upload_dir or str(instance / "uploads")}
            ),
        }
    )
    for problem in public_page_problems(settings):
        log.warning("%s", problem)
    # Where public_base_url came from: configured, recorded (by the quickstart) or default.
    app.config["PUBLIC_BASE_URL_SOURCE"] = base_source
    _keep(app, settings)
    return settings


def _keep(app: Flask, settings: Settings) -> None:
    """Hand the settings to the app: ours whole, Flask's and its extensions' as their keys."""
    sign_in, library = settings.sign_in, settings.library
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=sign_in.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=sign_in.cookie_secure,
        PERMANENT_SESSION_LIFETIME=sign_in.lifetime_hours * 3600,
        WTF_CSRF_TIME_LIMIT=None,
        # Whole-request cap: the largest upload plus room for the form's other fields.
        MAX_CONTENT_LENGTH=library.max_upload_bytes + 1_000_000,
        JSON_SORT_KEYS=False,
    )
    app.extensions["contentfeed.settings"] = settings


def settings_of(app: Flask) -> Settings:
    """Return the checked settings of an app."""
    settings: Settings = app.extensions["contentfeed.settings"]
    return settings


def current() -> Settings:
    """Return the settings of the app handling this request, job or command."""
    return settings_of(current_app._get_current_object())  # type: ignore[attr-defined]


def override(app: Flask, **values: Any) -> Settings:
    """Change some of a running app's settings, checked as at start-up (by their names in
    config.toml, grouped ``routing={"dedupe_days": 0}`` or flat ``routing_dedupe_days=0``).

    For the commands that learn a setting as they run (the address the quickstart serves at)
    and for tests.
    """
    settings = settings_of(app)
    changed = build_settings(settings.model_dump(), {}, values, source="settings")
    _keep(app, changed)
    return changed
