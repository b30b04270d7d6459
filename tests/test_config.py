"""Settings: defaults, config.toml, environment, and refusals that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from contentfeed import config, create_app
from contentfeed.config import (
    ROOT,
    SECTIONS,
    ConfigError,
    Settings,
    build_settings,
    read_env,
    read_file,
)


def test_repository_config_file_documents_every_setting() -> None:
    text = (ROOT / "config.toml").read_text()
    values = read_file(ROOT / "config.toml")
    assert set(values) == set(Settings.model_fields), "config.toml and Settings disagree"
    for name, section in SECTIONS.items():
        assert set(values[name]) == set(section.model_fields), f"[{name}] and its model disagree"
    assert build_settings(values, {}) == Settings(), "config.toml must show the defaults"
    for key in [k for k in values if k not in SECTIONS]:
        line_before = text.split(f"\n{key} =")[0].rstrip().splitlines()[-1]
        assert line_before.startswith("#"), f"{key} has no comment above it"
    for name, section in SECTIONS.items():
        table = text.split(f"\n[{name}]\n")[1].split("\n[")[0]
        for key in section.model_fields:
            line_before = ("\n" + table).split(f"\n{key} =")[0].rstrip().splitlines()[-1]
            assert line_before.startswith("#"), f"[{name}] {key} has no comment above it"


def test_grouped_settings_come_from_tables_and_their_environment_variables() -> None:
    settings = build_settings(
        {"routing": {"dedupe_days": 7}, "email": {"host": "mail.example.com"}},
        read_env({"CONTENTFEED_EMAIL__PORT": "465", "CONTENTFEED_EMAIL__PASSWORD": "123"}),
    )
    assert settings.routing.dedupe_days == 7
    assert settings.email.host == "mail.example.com"
    assert settings.email.port == 465
    assert settings.email.password == "123"  # text stays text even when it looks like JSON


def test_the_flat_names_of_earlier_versions_still_work() -> None:
    settings = build_settings(
        {"routing_dedupe_days": 3, "smtp_from": "Sales <sales@example.com>"},
        read_env({"CONTENTFEED_SMTP_PASSWORD": "s3cret", "CONTENTFEED_OUTBOX_MAX_ATTEMPTS": "4"}),
    )
    assert settings.routing.dedupe_days == 3
    assert settings.email.sender == "Sales <sales@example.com>"
    assert settings.email.password == "s3cret"
    assert settings.crm.max_attempts == 4


def test_a_bad_grouped_setting_is_named_with_its_table_and_source() -> None:
    with pytest.raises(ConfigError, match=r"setting 'routing.dedupe_days' \(environment\)"):
        build_settings({}, read_env({"CONTENTFEED_ROUTING__DEDUPE_DAYS": "-1"}))
    with pytest.raises(ConfigError, match=r"unknown setting 'routing.dedupe_dayz' \(config.toml\)"):
        build_settings({"routing": {"dedupe_dayz": 1}}, {})
    with pytest.raises(ConfigError, match="CONTENTFEED_ROUTNG__DEDUPE_DAYS"):
        read_env({"CONTENTFEED_ROUTNG__DEDUPE_DAYS": "1"})


def test_unknown_setting_in_file_names_it() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'databse_url'"):
        build_settings({"databse_url": "sqlite://"}, {})


def test_malformed_setting_names_it_and_its_source() -> None:
    with pytest.raises(ConfigError, match=r"setting 'page_size' \(environment\)"):
        build_settings({}, {"page_size": "lots"})


def test_environment_wins_over_file_and_parses_numbers() -> None:
    env = read_env({"CONTENTFEED_PAGE_SIZE": "50", "CONTENTFEED_SECRET_KEY": "123", "PATH": "/bin"})
    settings = build_settings({"page_size": 10}, env)
    assert settings.page_size == 50
    assert settings.secret_key == "123"  # strings stay strings even when they look like JSON


def test_unknown_environment_variable_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="CONTENTFEED_DATABSE_URL"):
        read_env({"CONTENTFEED_DATABSE_URL": "x"})


def test_crm_destination_must_be_a_url_and_a_whsec_secret() -> None:
    with pytest.raises(ConfigError, match=r"crm\.webhook_secret"):
        build_settings({"crm_webhook_secret": "hunter2"}, {})
    with pytest.raises(ConfigError, match=r"crm\.webhook_url"):
        build_settings({"crm_webhook_url": "crm.example.com/hook"}, {})
    settings = build_settings(
        {"crm_webhook_url": "https://crm.example.com/hook", "crm_webhook_secret": "whsec_c2VjcmV0"},
        {},
    )
    assert settings.crm.webhook_secret == "whsec_c2VjcmV0"


def test_bad_time_zone_is_refused() -> None:
    with pytest.raises(ConfigError, match="default_timezone"):
        build_settings({"default_timezone": "Mars/Olympus"}, {})


def test_secret_key_is_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTENTFEED_SECRET_KEY", raising=False)
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "missing.toml"))
    first = create_app({"instance_path": str(tmp_path), "database_url": "sqlite://"})
    second = create_app({"instance_path": str(tmp_path), "database_url": "sqlite://"})
    assert len(config.settings_of(first).secret_key) >= 40
    assert config.settings_of(first).secret_key == config.settings_of(second).secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_config_file_from_environment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "site.toml"
    path.write_text('page_size = 40\npublic_base_url = "https://cf.example.com/"\n')
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(path))
    app = create_app({"instance_path": str(tmp_path), "database_url": "sqlite://"})
    assert config.settings_of(app).page_size == 40
    assert config.settings_of(app).public_base_url == "https://cf.example.com"


def test_embedded_default_is_sqlite_under_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("CONTENTFEED_DATABASE_URL", raising=False)
    app = create_app({"instance_path": str(tmp_path)})
    assert config.settings_of(app).database_url == f"sqlite:///{tmp_path / 'contentfeed.db'}"
    assert not (tmp_path / "contentfeed.db").exists(), "create_app must not touch the database"
