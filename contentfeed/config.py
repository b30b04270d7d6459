"""Settings: defaults, then config.toml, then CONTENTFEED_* environment variables, then checked."""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PACKAGE = Path(__file__).resolve().parent
# The checkout: config.toml, instance/ and the folders templates/, static/ and migrations/.
# In an installed wheel this is site-packages; the folders are inside the package instead.
ROOT = PACKAGE.parent
ENV_PREFIX = "CONTENTFEED_"
# Environment variables with our prefix that are not settings of the running service.
NON_SETTING_ENV = {"CONFIG", "TEST_DATABASE_URL"}
# A site allowed to frame the gated page: scheme://host[:port], the host may start with *.
_FRAME_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


class ConfigError(RuntimeError):
    """A setting is unknown or malformed; start-up stops with a message naming it."""


class Settings(BaseModel):
    """Every setting the service knows, with its default. config.toml documents each one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = ""
    secret_key: str = ""
    instance_path: str = ""
    public_base_url: str = "http://127.0.0.1:5000"
    default_timezone: str = "Europe/Berlin"
    session_cookie_secure: bool = False
    session_lifetime_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    page_size: int = Field(default=25, ge=5, le=500)
    http_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    http_retries: int = Field(default=2, ge=0, le=10)
    http_max_response_bytes: int = Field(default=2_000_000, ge=1024)
    http_allow_private_addresses: bool = False
    log_level: str = "INFO"
    upload_dir: str = ""
    upload_max_mb: int = Field(default=25, ge=1, le=2048)
    compliance_disclosure: str = "#employee"
    compliance_blocked_words: list[str] = Field(
        default_factory=lambda: ["guarantee", "guaranteed", "risk-free", "best in the world"]
    )
    import_chunk_rows: int = Field(default=200, ge=1, le=10_000)
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    suggest_local_hour: int = Field(default=7, ge=0, le=23)
    suggestion_ttl_days: int = Field(default=7, ge=1, le=90)
    link_cookie_days: int = Field(default=90, ge=1, le=400)
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "contentfeed <contentfeed@localhost>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    notification_max_attempts: int = Field(default=6, ge=1, le=20)
    webhook_clock_skew_seconds: int = Field(default=300, ge=10, le=3600)
    webhook_max_body_kb: int = Field(default=64, ge=1, le=10_240)
    lead_event_max_attempts: int = Field(default=8, ge=1, le=50)
    attribution_lookback_days: int = Field(default=90, ge=1, le=730)
    raw_event_retention_days: int = Field(default=30, ge=1, le=3650)
    gated_submissions_per_hour: int = Field(default=5, ge=1, le=1000)
    gated_frame_ancestors: list[str] = Field(default_factory=list)
    routing_default_queue: str = Field(default="Digital sales", min_length=1, max_length=120)
    routing_customer_queue: str = Field(
        default="Customer development", min_length=1, max_length=120
    )
    routing_default_sla_minutes: int = Field(default=60, ge=1, le=43_200)
    routing_customer_sla_minutes: int = Field(default=240, ge=1, le=43_200)
    routing_dedupe_days: int = Field(default=30, ge=0, le=365)
    crm_webhook_url: str = ""
    crm_webhook_secret: str = ""
    outbox_max_attempts: int = Field(default=8, ge=1, le=50)
    report_currency: str = Field(default="EUR", min_length=3, max_length=3)
    report_cpm: float = Field(default=30.0, ge=0, le=10_000)
    report_cpc: float = Field(default=6.0, ge=0, le=10_000)
    report_impression_rate: float = Field(default=0.12, gt=0, le=1)

    @field_validator("smtp_security")
    @classmethod
    def _known_security(cls, value: str) -> str:
        if value not in {"starttls", "tls", "none"}:
            raise ValueError("must be starttls, tls or none")
        return value

    @field_validator("crm_webhook_secret")
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

    @field_validator("crm_webhook_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value.strip() and not value.strip().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, or empty")
        return value.strip()

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
    """Collect CONTENTFEED_<SETTING> variables; values are JSON when they parse as JSON."""
    values: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name.removeprefix(ENV_PREFIX)
        if key in NON_SETTING_ENV:
            continue
        field = key.lower()
        if field not in Settings.model_fields:
            raise ConfigError(f"unknown setting in environment variable {name}")
        annotation = Settings.model_fields[field].annotation
        if annotation is str:
            values[field] = raw
        else:
            try:
                values[field] = json.loads(raw)
            except json.JSONDecodeError:
                values[field] = raw
    return values


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
        for key, value in layer.items():
            merged[key] = value
            origin[key] = name
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "?"
            where = origin.get(key.split(".")[0], "defaults")
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown setting '{key}' ({where})")
            else:
                problems.append(f"setting '{key}' ({where}): {err['msg']}")
        raise ConfigError("; ".join(problems)) from None


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
    """Load and check settings into app.config (upper-case keys) and return them.

    Unless public_base_url is set (config file other than the default, environment or
    overrides), the address the quickstart recorded in the instance folder is used, so a CLI
    command in a second shell writes links to the server that is actually running.
    """
    path = config_path()
    file_values, env_values = read_file(path), read_env(os.environ)
    settings = build_settings(file_values, env_values, overrides, source=str(path))
    instance = instance_dir(settings)
    database_url = settings.database_url or f"sqlite:///{instance / 'contentfeed.db'}"
    secret_key = settings.secret_key or stored_secret_key(instance)
    base_source = "configured"
    base_url = settings.public_base_url
    if not _chose_base_url(file_values, env_values, overrides or {}):
        recorded = recorded_base_url(instance)
        base_url, base_source = (recorded, "recorded") if recorded else (base_url, "default")
    settings = settings.model_copy(
        update={
            "database_url": database_url,
            "secret_key": secret_key,
            "instance_path": str(instance),
            "public_base_url": base_url,
        }
    )
    app.config.update({key.upper(): value for key, value in settings.model_dump().items()})
    # Where PUBLIC_BASE_URL came from: configured, recorded (by the quickstart) or default.
    app.config["PUBLIC_BASE_URL_SOURCE"] = base_source
    upload_dir = Path(settings.upload_dir) if settings.upload_dir else instance / "uploads"
    app.config.update(
        UPLOAD_DIR=str(upload_dir),
        UPLOAD_MAX_BYTES=settings.upload_max_mb * 1_000_000,
        SQLALCHEMY_ENGINES={"default": database_url},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime_hours * 3600,
        WTF_CSRF_TIME_LIMIT=None,
        # Whole-request cap: the largest upload plus room for the form's other fields.
        MAX_CONTENT_LENGTH=settings.upload_max_mb * 1_000_000 + 1_000_000,
        JSON_SORT_KEYS=False,
    )
    app.extensions["contentfeed.settings"] = settings
    return settings


def settings_of(app: Flask) -> Settings:
    """Return the checked settings of an app."""
    settings: Settings = app.extensions["contentfeed.settings"]
    return settings
