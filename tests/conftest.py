"""Fixtures: an app per test on a fresh database (SQLite, and PostgreSQL when configured),
clients signed in per role, and factories for the objects tests need."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from contentfeed import config, create_app, db, models
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import Role, Team, TeamKind, User
from contentfeed.content import service as content_service
from contentfeed.content.models import Content, ContentStatus, PostVariant
from contentfeed.db import Base
from contentfeed.links.models import TrackedLink
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion
from tests.live import serving

PASSWORD = "correct-horse-battery"
# A cheap hash keeps tests fast; production hashes use werkzeug's default (scrypt).
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
PG_URL = os.environ.get("CONTENTFEED_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI") == "true"

models.import_all()


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI=true needs CONTENTFEED_TEST_DATABASE_URL (PostgreSQL) set")


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL schema of our own for this test run, with every table created once."""
    if not PG_URL:
        pytest.skip("set CONTENTFEED_TEST_DATABASE_URL to a PostgreSQL URL to run on PostgreSQL")
    schema = f"cftest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    engine = sa.create_engine(url_text, poolclass=sa.pool.NullPool)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url_text
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with every table, made once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    Base.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test, on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    url = request.getfixturevalue("pg_schema_url")
    yield url
    _empty(url)


def _empty(url: str) -> None:
    """Delete every row and restart the ids: cheaper than TRUNCATE for small tables."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(
            sa.text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        )
    engine.dispose()


def make_test_app(database_url: str, tmp_path: Path, **overrides: Any) -> Flask:
    """Create an app for tests, isolated from the developer's config and instance folder."""
    settings = {
        "database_url": database_url,
        "secret_key": "test-secret-key",
        "instance_path": str(tmp_path / "instance"),
        **overrides,
    }
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    _created_apps.append(app)
    return app


_created_apps: list[Flask] = []


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    """Close every test app's pooled connections when its test ends."""
    yield
    while _created_apps:
        db.dispose(_created_apps.pop())


def isolate_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's CONTENTFEED_* variables and config file out of a test's app."""
    for name in list(os.environ):
        if name.startswith("CONTENTFEED_") and name not in {"CONTENTFEED_TEST_DATABASE_URL"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "no-config.toml"))


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    isolate_from_environment(monkeypatch, tmp_path)
    return make_test_app(database_url, tmp_path)


@pytest.fixture
def pg_app(app: Flask) -> Flask:
    """The app on PostgreSQL only, for behaviour SQLite lacks (row and advisory locks).

    Tests asking for it run once, on PostgreSQL: their SQLite variant is deselected (not
    skipped), so the factories (which use ``app``) write to the same database.
    """
    return app


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        uses_pg_only = "pg_app" in getattr(item, "fixturenames", ())
        (drop if uses_pg_only and params.get("database_url") == "sqlite" else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_team(app: Flask) -> Callable[..., Team]:
    """Create a team: make_team(name=..., kind=...)."""
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, kind: TeamKind = TeamKind.BUSINESS_DEVELOPMENT) -> Team:
        with app.app_context():
            s = db.session()
            team = accounts.save_team(s, name=name or f"Team {next(counter)}", kind=kind)
            s.commit()
            return team

    return make


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Create an active user who signs in with PASSWORD: make_user(role="seller", ...)."""
    counter = iter(range(1, 10_000))

    def make(
        role: Role | str = Role.SELLER,
        *,
        email: str | None = None,
        name: str | None = None,
        team_id: int | None = None,
        is_active: bool = True,
        timezone: str = "",
        **profile: Any,
    ) -> User:
        n = next(counter)
        with app.app_context():
            s = db.session()
            team = s.get(Team, team_id) if team_id else None
            user = accounts.create_user(
                s,
                email=email or f"{Role(role).value}{n}@example.com",
                name=name or f"{Role(role).label} Person{n}",
                role=role,
                team=team,
                timezone=timezone,
            )
            user.password_hash = FAST_HASH
            user.is_active = is_active
            if "language" in profile:  # a profile lists languages; one is a list of one
                profile["languages"] = [profile.pop("language")]
            if profile and user.seller_profile is not None:
                for key, value in profile.items():
                    setattr(user.seller_profile, key, value)
            s.commit()
            s.refresh(user)
            _ = user.seller_profile, user.team
            return user

    return make


def sign_in(client: FlaskClient, user: User, password: str = PASSWORD) -> FlaskClient:
    """Sign a test client in through the real login form."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def client_as(app: Flask, make_user: Callable[..., User]) -> Callable[[str], FlaskClient]:
    """Return a client signed in as a new user of the given role."""

    def make(role: str) -> FlaskClient:
        client = app.test_client()
        return sign_in(client, make_user(role))

    return make


@pytest.fixture
def make_token(app: Flask) -> Callable[..., str]:
    """Issue a token for a user and return its plaintext."""

    def make(user: User, *scopes: str) -> str:
        with app.app_context():
            s = db.session()
            _token, plaintext = accounts.issue_token(
                s, s.get(User, user.id), name="test", scopes=scopes or ("read",)
            )
            s.commit()
            return plaintext

    return make


@pytest.fixture
def make_content(app: Flask, make_user: Callable[..., User]) -> Callable[..., Content]:
    """Create a library item with variants: make_content(status="approved", topics=[...]).

    A variant is a text (in the item's language) or a (text, language) pair."""
    counter = iter(range(1, 10_000))
    authors: dict[str, User] = {}

    def make(
        *,
        status: str = "approved",
        variants: tuple[str | tuple[str, str], ...] = (
            "{{ seller.first_name }} here: read {{ content.title }} {{ link }}",
        ),
        author: User | None = None,
        campaign: str | None = "Launch",
        **fields: Any,
    ) -> Content:
        n = next(counter)
        if author is None:
            author = authors.get("marketer") or make_user("marketer")
            authors["marketer"] = author
        with app.app_context():
            s = db.session()
            campaign_obj = None
            if campaign:
                campaign_obj = content_service.find_campaign(
                    s, campaign
                ) or content_service.save_campaign(s, name=campaign)
            data = content_service.ContentData(
                title=fields.pop("title", f"Item {n}"),
                url=fields.pop("url", f"https://example.com/item-{n}"),
                campaign_id=campaign_obj.id if campaign_obj else None,
                **fields,
            )
            actor = s.get(User, author.id)
            assert actor is not None
            content = content_service.create_content(s, data, actor=actor, prefill=False)
            for position, variant in enumerate(variants, start=1):
                body, language = variant if isinstance(variant, tuple) else (variant, data.language)
                s.add(PostVariant(content=content, body=body, language=language, position=position))
            content.status = ContentStatus(status)
            if status == "approved":
                content.approved_at = content_service.utcnow()
            s.commit()
            s.refresh(content)
            _ = content.variants, content.campaign
            return content

    return make


@pytest.fixture
def make_tracked_link(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> Callable[..., str]:
    """Suggest a new item to a new seller and return the code of the seller's tracked link:
    make_tracked_link(url="https://...", campaign="Launch")."""

    def make(**content_fields: Any) -> str:
        make_content(**content_fields)
        seller = make_user("seller")
        with app.app_context():
            s = db.session()
            suggestions.fill_feeds(
                s,
                suggestions.feed_settings(config.settings_of(app)),
                only=[seller.id],
                ignore_cadence=True,
                seed=1,
                now=content_service.utcnow() - timedelta(minutes=1),
            )
            s.commit()
            return s.scalars(
                sa.select(TrackedLink.code)
                .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
                .where(Suggestion.seller_id == seller.id)
            ).one()

    return make


# --- a real server and a real browser (browser tests, marker "browser") -------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    with serving(app) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Chromium installed (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield instance
        instance.close()
