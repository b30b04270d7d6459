"""The accounts use cases' own rules: what they refuse whoever calls them, and which writes
outlive a refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask

from contentfeed import db
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import LoginFailure, Role, User
from contentfeed.errors import Forbidden, Invalid, Unauthorized
from tests.conftest import PASSWORD


@pytest.mark.parametrize("role", ["marketer", "contributor", "rep", "seller"])
def test_only_admins_change_accounts_whoever_calls(
    app: Flask, make_user: Callable[..., User], role: str
) -> None:
    other = make_user("seller")
    with app.app_context():
        s = db.session()
        actor = s.get(User, make_user(role).id)
        data = accounts.NewUser(email="new@example.com", name="New", role=Role.SELLER)
        with pytest.raises(Forbidden):
            accounts.add_user(s, actor, data)
        with pytest.raises(Forbidden):
            accounts.deactivate_account(s, actor, other.id)
        with pytest.raises(Forbidden):
            accounts.add_team(s, actor, accounts.TeamData(name="T", kind="digital_sales"))
        with pytest.raises(Forbidden):
            accounts.grant_token(
                s, actor, accounts.TokenRequest(user_id=other.id, name="x", scopes=["read"])
            )


def test_a_failed_sign_in_is_counted_although_the_request_rolls_back(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user("marketer")
    with app.app_context():
        s = db.session()
        with pytest.raises(Unauthorized):
            accounts.sign_in(
                s,
                accounts.Credentials(email=user.email, password="not-" + PASSWORD),
                client_key="test",
                max_failures=5,
                lockout=timedelta(minutes=15),
            )
        s.rollback()
    with app.app_context():
        row = db.session().get(LoginFailure, "email:" + user.email)
        assert row is not None and row.failures == 1


def test_a_seller_profile_with_a_bad_time_zone_changes_nothing(
    app: Flask, make_user: Callable[..., User]
) -> None:
    seller = make_user("seller")
    with app.app_context():
        s = db.session()
        actor = s.get(User, seller.id)
        assert actor is not None
        data = accounts.OwnProfileData(
            title="Account Executive", posts_per_week=5, timezone="Mars/Olympus"
        )
        with pytest.raises(Invalid) as refused:
            accounts.save_own_profile(s, actor, data)
        assert set(refused.value.fields) == {"timezone"}
        assert actor.seller_profile is not None and actor.seller_profile.title == ""
        assert not s.dirty
