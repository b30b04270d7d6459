"""The contentfeed command: help, database upgrade, users, tokens, demo data."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from contentfeed import cli, config, db, demo
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import ApiToken, Role, User
from contentfeed.cli import main
from contentfeed.content import service as content_service
from contentfeed.content.models import Content, ContentStatus
from contentfeed.db import utcnow
from contentfeed.demo import DEMO_PASSWORD, demo_email
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from tests.conftest import make_test_app


def run(app: Flask, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    from flask.cli import ScriptInfo

    result = runner.invoke(
        main, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False
    )
    return result.exit_code, result.output


def test_help_lists_every_command(app: Flask) -> None:
    code, output = run(app, "--help")
    assert code == 0
    for command in ("quickstart", "serve", "db", "create-user", "create-token", "demo-data"):
        assert command in output


def test_create_user_prints_generated_password_that_works(app: Flask) -> None:
    code, output = run(app, "create-user", "Jane.Doe@Example.com", "--role", "marketer")
    assert code == 0, output
    password = output.split("Password: ")[1].strip()
    with app.app_context():
        user = accounts.find_user_by_email(db.session(), "jane.doe@example.com")
        assert user is not None and user.role is Role.MARKETER
    client = app.test_client()
    response = client.post("/login", data={"email": "jane.doe@example.com", "password": password})
    assert response.status_code == 302


def test_create_user_refuses_bad_role_and_duplicate(app: Flask) -> None:
    code, output = run(app, "create-user", "a@example.com", "--role", "wizard")
    assert code != 0 and "wizard" in output
    run(app, "create-user", "a@example.com", "--role", "seller", "--password", "long-enough-pw")
    code, output = run(app, "create-user", "a@example.com", "--role", "seller")
    assert code == 1 and "already exists" in output


def test_create_token_prints_a_token_that_authenticates(app: Flask) -> None:
    run(app, "create-user", "ops@example.com", "--role", "admin", "--password", "long-enough-pw")
    code, output = run(
        app, "create-token", "ops@example.com", "--scope", "read", "--scope", "admin"
    )
    assert code == 0, output
    token = output.strip()
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json["scopes"] == ["admin", "read"]
    with app.app_context():
        stored = db.session().scalars(sa.select(ApiToken)).one()
        assert token not in stored.token_hash  # only the hash is stored


def test_demo_data_is_idempotent_and_every_role_can_sign_in(app: Flask) -> None:
    assert run(app, "demo-data")[0] == 0
    code, output = run(app, "demo-data")
    assert code == 0 and "already" in output
    with app.app_context():
        s = db.session()
        counts = accounts.role_counts(s)
        assert counts[Role.SELLER] == 12
        assert counts[Role.REP] == 3  # two in digital sales, one in customer development
        regions = set(s.scalars(sa.select(User.timezone).distinct()))
        assert {"Asia/Tokyo", "Europe/Berlin", "America/New_York"} <= regions
    for local in ("admin", "marketer", "contributor", "seller", "rep"):
        client = app.test_client()
        response = client.post(
            "/login", data={"email": demo_email(local), "password": DEMO_PASSWORD}
        )
        assert response.status_code == 302, local
        assert client.get("/", follow_redirects=True).status_code == 200


def test_demo_leads_are_routed_worked_and_split_by_customer(app: Flask) -> None:
    from contentfeed.leads.models import Lead, LeadStatus
    from contentfeed.routing.models import Queue

    assert run(app, "demo-data")[0] == 0
    with app.app_context():
        s = db.session()
        leads = s.scalars(sa.select(Lead)).all()
        assert leads and all(lead.routed_at is not None for lead in leads)
        queues = {q.id: q.name for q in s.scalars(sa.select(Queue))}
        by_queue = {lead.email_domain: queues[lead.queue_id] for lead in leads if lead.queue_id}
        assert by_queue["acme-widgets.example"] == "Customer development"
        assert by_queue["nordbank.example"] == "Digital sales"
        assert by_queue["gmail.com"] == "Digital sales"
        statuses = {lead.status for lead in leads}
        assert {LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.CONVERTED} <= statuses
        assert any(lead.due_at and lead.due_at > utcnow() for lead in leads), "one still in SLA"


def test_demo_library_is_realistic_and_every_variant_passes_the_checks(app: Flask) -> None:
    assert run(app, "demo-data")[0] == 0
    with app.app_context():
        s = db.session()
        items = s.scalars(sa.select(Content)).all()
        statuses = {c.status for c in items}
        assert statuses == {ContentStatus.APPROVED, ContentStatus.IN_REVIEW, ContentStatus.DRAFT}
        now = utcnow()
        assert sum(c.is_live(now) for c in items) >= 8
        assert any(c.expires_at and c.expires_at < now for c in items), "an expired item"
        assert {c.language for c in items} >= {"en", "de"}
        # A gated whitepaper: its file uploaded, its page live, sellers' links leading there.
        [gated] = [c for c in items if c.is_gated]
        assert gated.asset is not None and gated.asset.extension == "pdf"
        assert (
            Path(config.settings_of(app).library.upload_dir) / f"{gated.asset.public_id}.pdf"
        ).is_file()
        targets = s.scalars(
            sa.select(TrackedLink.target_url)
            .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
            .where(Suggestion.content_id == gated.id)
        ).all()
        assert targets and all(f"/g/{gated.id}?" in url for url in targets)
        rules = content_service.Compliance.of(config.settings_of(app))
        for item in items:
            assert item.variants, item.title
            for variant in item.variants:
                content_service.check_body(item, variant.body, rules)


def test_demo_sellers_get_posts_in_their_languages(app: Flask) -> None:
    from contentfeed.accounts.models import SellerProfile
    from contentfeed.content.models import PostVariant

    assert run(app, "demo-data")[0] == 0
    with app.app_context():
        s = db.session()
        languages = dict(
            s.execute(sa.select(User.name, SellerProfile.languages).join(SellerProfile.user)).all()
        )
        assert languages["Lena Hoffmann"] == ["de"]
        assert languages["Jonas Weber"] == ["de", "en"]
        assert languages["Sam Seller"] == ["en"]
        posted: dict[str, set[str]] = {}
        for name, language in s.execute(
            sa.select(User.name, PostVariant.language)
            .join(Suggestion, Suggestion.seller_id == User.id)
            .join(PostVariant, PostVariant.id == Suggestion.variant_id)
        ):
            posted.setdefault(name, set()).add(language)
        german = s.scalars(
            sa.select(Content.title).join(PostVariant).where(PostVariant.language == "de")
        ).all()
    assert len(set(german)) >= 4  # German variants on several library items
    assert posted["Lena Hoffmann"] == {"de"}
    assert posted["Sam Seller"] == {"en"}  # the demo login keeps English posts


def test_demo_has_two_months_of_activity(app: Flask) -> None:
    assert run(app, "demo-data")[0] == 0
    with app.app_context():
        s = db.session()
        statuses = {status for (status,) in s.execute(sa.select(Suggestion.status).distinct())}
        assert {
            SuggestionStatus.POSTED,
            SuggestionStatus.SKIPPED,
            SuggestionStatus.PENDING,
        } <= statuses
        humans = s.scalar(sa.select(sa.func.count()).select_from(Click).where(~Click.is_bot))
        bots = s.scalar(sa.select(sa.func.count()).select_from(Click).where(Click.is_bot))
        assert humans and humans > 100 and bots
        first_day = s.scalar(sa.select(sa.func.min(Suggestion.day)))
        assert first_day is not None and (utcnow().date() - first_day).days >= 56
        leads = s.scalar(sa.select(sa.func.count()).select_from(Lead))
        attributed = s.scalar(sa.select(sa.func.count(sa.distinct(Touch.lead_id))))
        assert leads and leads > 10 and attributed and 0 < attributed < leads
        # The default 30-day report has a previous 30 days to compare with: posts and leads.
        month_ago = utcnow() - timedelta(days=30)
        earlier_posts = s.scalar(
            sa.select(sa.func.count()).where(
                Suggestion.posted_at < month_ago, Suggestion.posted_at >= month_ago - timedelta(30)
            )
        )
        assert earlier_posts and earlier_posts > 20
        earlier = s.scalars(sa.select(Lead).where(Lead.submitted_at < month_ago)).all()
        assert len(earlier) >= 5
        # ...and those leads were worked long ago: none still waits in the queue.
        assert all(lead.status is not LeadStatus.NEW for lead in earlier)


class _NoScheduler:
    """Stands in for the quickstart's in-process scheduler."""

    def __init__(self, app: Flask) -> None:
        pass

    def start_in_thread(self) -> None:
        pass

    def stop(self) -> None:
        pass


def _quickstart_without_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the quickstart's steps up to serving (the schema exists already in tests)."""
    monkeypatch.setattr(cli.migrate, "upgrade", lambda *args, **kwargs: None)
    monkeypatch.setattr("waitress.serve", lambda *args, **kwargs: None)
    monkeypatch.setattr(cli, "SchedulerProcess", _NoScheduler)


def _post_texts(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(sa.select(Suggestion.rendered_text)))


def test_suggest_in_a_second_shell_links_to_the_port_the_quickstart_serves(
    app: Flask,
    database_url: str,
    tmp_path: Path,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seller = make_user("seller")
    make_content(title="Served here")
    make_content(title="Served here too")
    listener = socket.create_server(("127.0.0.1", 0))  # the quickstart's server, listening
    port = listener.getsockname()[1]
    _quickstart_without_serving(monkeypatch)
    code, output = run(app, "quickstart", "--port", str(port), "--no-demo")
    assert code == 0, output

    second = make_test_app(database_url, tmp_path)  # another process of the same install
    assert config.settings_of(second).public_base_url == f"http://127.0.0.1:{port}"
    code, output = run(second, "suggest", "--now", "--seller", seller.email)
    assert code == 0, output
    assert "Warning" not in output
    [text] = _post_texts(second)
    assert f"http://127.0.0.1:{port}/r/" in text and "127.0.0.1:5000" not in text

    listener.close()  # the server stopped: links written now would be dead, and we say so
    code, output = run(second, "suggest", "--now", "--seller", seller.email)
    assert code == 0
    assert f"Warning: nothing answers at http://127.0.0.1:{port}" in output


def test_a_configured_public_base_url_wins_over_the_recorded_one(
    app: Flask, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _quickstart_without_serving(monkeypatch)
    assert run(app, "quickstart", "--port", "5077", "--no-demo")[0] == 0
    configured = make_test_app(database_url, tmp_path, public_base_url="https://cf.example.com")
    assert config.settings_of(configured).public_base_url == "https://cf.example.com"
    # ...and a quickstart then leaves it alone, and the recorded address too.
    assert run(configured, "quickstart", "--port", "5088", "--no-demo")[0] == 0
    assert config.settings_of(configured).public_base_url == "https://cf.example.com"
    assert config.settings_of(make_test_app(database_url, tmp_path)).public_base_url == (
        "http://127.0.0.1:5077"
    )


def test_the_demo_seller_finds_a_post_waiting_even_on_a_monday(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sam's cadence and the library leave nothing pending on a Monday afternoon, yet whoever
    # tries the demo signs in to a feed with a post to share.
    now = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
    monkeypatch.setattr(demo, "utcnow", lambda: now)
    assert run(app, "demo-data")[0] == 0
    with app.app_context():
        s = db.session()
        sam = s.scalars(sa.select(User).where(User.email == demo_email("seller"))).one()
        waiting = s.scalars(
            sa.select(Suggestion).where(
                Suggestion.seller_id == sam.id,
                Suggestion.status == SuggestionStatus.PENDING,
                Suggestion.expires_at > now,
            )
        ).all()
        assert waiting
