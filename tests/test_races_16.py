"""Single-use things used twice at once (PostgreSQL, two connections): a sign-in link signs in
only once, and of two reviewers deciding on the same waiting change one wins, the other gets a
clear 409. Each test holds both requests at a barrier after they have read the link or the
item, so they really overlap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts import feed_links, invitations
from contentfeed.accounts.models import LinkPurpose, SignInLink, User
from contentfeed.content import service as content_service
from contentfeed.content.models import Content, ContentEvent
from tests.apiclient import Api

pytestmark = pytest.mark.postgresql_only


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads of their own and return their results, in order."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def hold_after(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, parties: int = 2) -> None:
    """Make ``module.name`` wait, once it has read, until every request has read too."""
    barrier = threading.Barrier(parties, timeout=20)
    original = getattr(module, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if isinstance(result, Content):
            _ = result.revision  # the request has the waiting change in hand
        barrier.wait()
        return result

    monkeypatch.setattr(module, name, held)


def test_a_password_link_used_twice_at_once_sets_one_password(
    pg_app: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user("seller")
    with pg_app.app_context():
        s = db.session()
        token = invitations.issue_link(
            s, s.get(User, user.id), LinkPurpose.RESET, timedelta(hours=1)
        )
        s.commit()
    hold_after(monkeypatch, invitations, "password_link")
    path = f"/password/{token}"
    first, second = pg_app.test_client(), pg_app.test_client()
    answers = at_once(
        lambda: first.post(path, data={"password": "first-long-password"}),
        lambda: second.post(path, data={"password": "second-long-password"}),
    )
    assert sorted(a.status_code for a in answers) == [302, 410]
    signed_in = [c for c, a in zip((first, second), answers, strict=True) if a.status_code == 302]
    assert len(signed_in) == 1 and signed_in[0].get("/account").status_code == 200
    gone = next(a for a in answers if a.status_code == 410)
    assert "expired or has already been used" in gone.get_data(as_text=True)
    winner = "first-long-password" if answers[0].status_code == 302 else "second-long-password"
    loser = "second-long-password" if winner.startswith("first") else "first-long-password"
    login = pg_app.test_client()
    assert login.post("/login", data={"email": user.email, "password": loser}).status_code == 401
    assert login.post("/login", data={"email": user.email, "password": winner}).status_code == 302


def test_a_feed_link_followed_twice_at_once_opens_one_session(
    pg_app: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = make_user("seller")
    with pg_app.app_context():
        s = db.session()
        url = feed_links.feed_link_url(
            s, s.get(User, seller.id), base_url="https://cf.example.com", hours=1
        )
        s.commit()
    hold_after(monkeypatch, feed_links, "find_feed_link")
    path = url.removeprefix("https://cf.example.com")
    first, second = pg_app.test_client(), pg_app.test_client()
    answers = at_once(lambda: first.get(path), lambda: second.get(path))
    assert sorted(a.status_code for a in answers) == [302, 410]
    feeds = [c.get("/feed").status_code for c in (first, second)]
    assert sorted(feeds) == [200, 302]  # the loser is sent to the sign-in page
    with pg_app.app_context():
        used = db.session().scalar(sa.select(SignInLink.used_at))
    assert used is not None


@pytest.mark.parametrize("decisions", [("approve", "approve"), ("approve", "reject")])
def test_two_reviewers_deciding_at_once_end_in_one_decision(
    pg_app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
    monkeypatch: pytest.MonkeyPatch,
    decisions: tuple[str, str],
) -> None:
    author = make_user("marketer")
    item = make_content(status="approved", author=author, variants=("Live {{ link }}",))
    editor = make_user("marketer")
    api = Api(client)
    proposed = api(
        "PATCH",
        "/api/v1/content/{content_id}",
        make_token(editor, "read", "content:write"),
        json={"url": "https://example.com/proposed"},
        content_id=item.id,
    )
    assert proposed.status_code == 200 and proposed.json["pending_change"] is not None
    tokens = [make_token(make_user("marketer"), "read", "content:write") for _ in decisions]

    apis = [Api(pg_app.test_client()) for _ in decisions]
    hold_after(monkeypatch, content_service, "get_content")
    answers = at_once(
        *(
            lambda api=api, d=d, token=token: api(
                "POST", f"/api/v1/content/{{content_id}}/change/{d}", token, content_id=item.id
            )
            for api, d, token in zip(apis, decisions, tokens, strict=True)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert "Someone else approved or discarded this change a moment ago" in str(refused.json)
    with pg_app.app_context():
        s = db.session()
        settled = s.scalars(
            sa.select(ContentEvent.action).where(
                ContentEvent.content_id == item.id,
                ContentEvent.action.in_(["revision_approved", "revision_rejected"]),
            )
        ).all()
        assert len(settled) == 1
        content = s.get(Content, item.id)
        assert content is not None and content.revision is None


def test_two_reviewers_approving_an_item_at_once_approve_it_once(
    pg_app: Flask,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item = make_content(status="in_review", author=make_user("marketer"))
    tokens = [make_token(make_user("marketer"), "read", "content:write") for _ in range(2)]
    apis = [Api(pg_app.test_client()) for _ in tokens]
    hold_after(monkeypatch, content_service, "get_content")
    answers = at_once(
        *(
            lambda api=api, token=token: api(
                "POST", "/api/v1/content/{content_id}/approve", token, content_id=item.id
            )
            for api, token in zip(apis, tokens, strict=True)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    with pg_app.app_context():
        approvals = (
            db.session()
            .scalars(
                sa.select(ContentEvent.id).where(
                    ContentEvent.content_id == item.id, ContentEvent.action == "approve"
                )
            )
            .all()
        )
    assert len(approvals) == 1
