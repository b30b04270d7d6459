"""Settings: defaults, then config.toml, then CONTENTFEED_* environment variables, then checked."""

from __future__ import annotations

import json
import logging
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from pydantic import BaseModel, ValidationError

from contentfeed.settings_schema import (
    DEFAULT_CONSENT_TEXTS as DEFAULT_CONSENT_TEXTS,
)
from contentfeed.settings_schema import (
    FLAT_NAMES as FLAT_NAMES,
)
from contentfeed.settings_schema import (
    SECTIONS as SECTIONS,
)
from contentfeed.settings_schema import (
    AccountSettings as AccountSettings,
)
from contentfeed.settings_schema import (
    CompanySettings as CompanySettings,
)
from contentfeed.settings_schema import (
    ComplianceSettings as ComplianceSettings,
)
from contentfeed.settings_schema import (
    ConsentSettings as ConsentSettings,
)
from contentfeed.settings_schema import (
    CrmSettings as CrmSettings,
)
from contentfeed.settings_schema import (
    CustomerSettings as CustomerSettings,
)
from contentfeed.settings_schema import (
    EmailSettings as EmailSettings,
)
from contentfeed.settings_schema import (
    HttpSettings as HttpSettings,
)
from contentfeed.settings_schema import (
    LeadSettings as LeadSettings,
)
from contentfeed.settings_schema import (
    LibrarySettings as LibrarySettings,
)
from contentfeed.settings_schema import (
    LinkSettings as LinkSettings,
)
from contentfeed.settings_schema import (
    NotificationSettings as NotificationSettings,
)
from contentfeed.settings_schema import (
    ReportSettings as ReportSettings,
)
from contentfeed.settings_schema import (
    RoutingSettings as RoutingSettings,
)
from contentfeed.settings_schema import (
    Section as Section,
)
from contentfeed.settings_schema import (
    Settings as Settings,
)
from contentfeed.settings_schema import (
    SignInSettings as SignInSettings,
)
from contentfeed.settings_schema import (
    SuggestionSettings as SuggestionSettings,
)

PACKAGE = Path(__file__).resolve().parent
# The checkout: config.toml, instance/ and the folders templates/, static/ and migrations/.
# In an installed wheel this is site-packages; the folders are inside the package instead.
ROOT = PACKAGE.parent
ENV_PREFIX = "CONTENTFEED_"
log = logging.getLogger(__name__)
# Environment variables with our prefix that are not settings of the running service.
NON_SETTING_ENV = {"CONFIG", "TEST_DATABASE_URL"}


# A site allowed to frame the gated page: scheme://host[:port], the host may start with *.
class ConfigError(RuntimeError):
    """A setting is unknown or malformed; start-up stops with a message naming it."""


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
