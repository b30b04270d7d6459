"""The role matrix: every route, every role, the expected answer.

A new route fails this test until it is added to MATRIX, so no page or endpoint ships
without a decision about who may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from contentfeed import config, db
from contentfeed.accounts.models import Role, TeamKind, User
from contentfeed.accounts.service import SCOPES
from contentfeed.content.models import Asset, ImportBatch
from contentfeed.db import utcnow
from contentfeed.leads import service as lead_service
from contentfeed.leads.models import InboundEvent, Lead
from contentfeed.routing import customer_accounts, outbox, queue_setup
from contentfeed.routing import service as routing
from contentfeed.routing.models import Queue, RoutingRule
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import SentEmail, Suggestion
from tests.conftest import sign_in
from tests.roles import ADMIN, ALL, PUBLIC, SELLER
from tests.roles_content_api import CONTENT_API
from tests.roles_content_import import CONTENT_IMPORT
from tests.roles_content_ui import CONTENT_UI
from tests.roles_crm import CRM
from tests.roles_customers import CUSTOMERS
from tests.roles_gated import GATED
from tests.roles_leads import LEADS
from tests.roles_reports import REPORTS
from tests.roles_reports_api import REPORTS_API
from tests.roles_reports_people import REPORTS_PEOPLE
from tests.roles_routing import ROUTING
from tests.roles_routing_admin import ROUTING_ADMIN
from tests.roles_routing_api import ROUTING_API
from tests.roles_scim import SCIM
from tests.roles_sellers import SELLERS

# endpoint -> roles allowed (pages: signed-in roles; API: roles of the token's user), or PUBLIC
MATRIX: dict[str, frozenset[Role] | str] = {
    "static": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.sso_start": PUBLIC,
    "accounts.sso_callback": PUBLIC,
    "accounts.logout": ALL,
    "accounts.choose_language": PUBLIC,
    "accounts.forgot_password": PUBLIC,
    "accounts.choose_password": PUBLIC,
    "accounts.open_feed_link": PUBLIC,
    "accounts.home": ALL,
    "accounts.account": ALL,
    "accounts.users": ADMIN,
    "accounts.user_new": ADMIN,
    "accounts.user_edit": ADMIN,
    "accounts.user_deactivate": ADMIN,
    "accounts.user_activate": ADMIN,
    "accounts.user_invite": ADMIN,
    "accounts.teams": ADMIN,
    "accounts.team_edit": ADMIN,
    "accounts.tokens": ADMIN,
    "accounts.token_revoke": ADMIN,
    "accounts.sent_emails": ADMIN,
    "accounts.sent_email": ADMIN,
    "api.openapi": PUBLIC,
    "api.me": ALL,
    "accounts_api.list_users": ADMIN,
    "accounts_api.get_user": ADMIN,
    "accounts_api.create_user": ADMIN,
    "accounts_api.get_seller_profile": ADMIN,
    "accounts_api.put_seller_profile": ADMIN,
    "accounts_api.list_teams": ADMIN,
    "accounts_api.create_team": ADMIN,
    "links.follow": PUBLIC,
    "suggestions.feed": SELLER,
    "suggestions.history": SELLER,
    "suggestions.mark_posted": SELLER,
    "suggestions.skip": SELLER,
    **SELLERS,
    **SCIM,
    **LEADS,
    **CRM,
    **CONTENT_UI,
    **CONTENT_IMPORT,
    **CONTENT_API,
    **GATED,
    **ROUTING,
    **ROUTING_ADMIN,
    **ROUTING_API,
    **CUSTOMERS,
    **REPORTS,
    **REPORTS_API,
    **REPORTS_PEOPLE,
}

ROLES = [None, *Role]


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(MATRIX) == set(), "add these routes to MATRIX"
    assert set(MATRIX) - endpoints == set(), "MATRIX names routes that no longer exist"


def test_a_feed_links_session_reaches_only_a_sellers_own_pages() -> None:
    """The pages a one-click feed link opens exist and are a seller's feed, its actions,
    the profile, home, language and signing out; nothing staff-only slips in."""
    from contentfeed.accounts.access import FEED_LINK_PAGES

    assert FEED_LINK_PAGES - set(MATRIX) == set()
    for endpoint in FEED_LINK_PAGES:
        allowed = MATRIX[endpoint]
        assert allowed == PUBLIC or Role.SELLER in allowed, endpoint
        assert not endpoint.endswith("api") and "admin" not in endpoint, endpoint


@pytest.fixture
def url_args(
    app: Flask,
    make_user: Callable[..., User],
    make_team: Callable[..., Any],
    make_token: Callable[..., str],
    make_content: Callable[..., Any],
) -> dict[str, Any]:
    """Sample objects for every URL parameter a route may take."""
    target = make_user(Role.SELLER, name="Target Seller")
    team = make_team("Matrix team", TeamKind.DIGITAL_SALES)
    make_token(target, "read")
    item = make_content(status="in_review", title="Matrix item")
    live = make_content(status="approved", title="Matrix live item")
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[target.id],
            ignore_cadence=True,
            seed=1,
        )
        s.commit()
        suggestion_id = s.scalars(
            sa.select(Suggestion.id).where(Suggestion.content_id == live.id)
        ).one()
    with app.app_context():
        s = db.session()
        asset = Asset(
            public_id="matrixfile",
            filename="guide.pdf",
            content_type="application/pdf",
            extension="pdf",
            size=4,
            sha256="0" * 64,
        )
        batch = ImportBatch(filename="rows.csv", rows=[], total=0)
        s.add_all([asset, batch])
        s.commit()
        batch_id = batch.id
        lead = Lead(email="matrix@example.com", email_domain="example.com")
        event = InboundEvent(source="webhook", external_id="matrix", body="{}")
        secret, _value = lead_service.create_secret(s, name="Matrix sender")
        s.add_all([lead, event])
        s.commit()
        lead_id, event_id, secret_id = lead.id, event.id, secret.id
        routing.ensure_defaults(s, routing.RoutingSettings())
        queue = s.scalar(sa.select(Queue).order_by(Queue.id))
        assert queue is not None
        rule = s.scalar(sa.select(RoutingRule).order_by(RoutingRule.id))
        assert rule is not None
        account = customer_accounts.save_account(
            s,
            customer_accounts.AccountIn(
                name="Matrix customer", domains=["matrix-customer.example"]
            ),
        )
        message = outbox.enqueue(s, lead, "lead.routed", utcnow())
        s.commit()
        queue_id, rule_id, account_id, message_id = queue.id, rule.id, account.id, message.id
        kept = SentEmail(to="matrix@example.com", subject="Matrix mail", body="Hi", kind="digest")
        s.add(kept)
        s.commit()
        email_id = kept.id
    return {
        "user_id": target.id,
        "team_id": team.id,
        "token_id": 1,
        "filename": "guide.pdf",
        "public_id": "matrixfile",
        "content_id": item.id,
        "variant_id": item.variants[0].id,
        "campaign_id": item.campaign_id,
        "batch_id": batch_id,
        "action": "approve",
        "decision": "approve",
        "fmt": "csv",
        "code": "nosuchcode",
        "suggestion_id": suggestion_id,
        "seller_id": target.id,
        "lead_id": lead_id,
        "event_id": event_id,
        "secret_id": secret_id,
        "queue_id": queue_id,
        "rule_id": rule_id,
        "account_id": account_id,
        "contract_id": 1,  # no such plan item: the customer pages answer 404, not 403
        "goal_id": 1,
        "step_id": 1,
        "card_id": 1,  # no such card: a worker is answered 404, anyone else 403
        "message_id": message_id,
        "member_user_id": target.id,
        "email_id": email_id,
        "schema_id": "urn:ietf:params:scim:schemas:core:2.0:User",
        "type_id": "User",
    }


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_role_matrix(
    app: Flask,
    role: Role | None,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    url_args: dict[str, Any],
) -> None:
    user = make_user(role) if role else None
    client = app.test_client()
    headers: dict[str, str] = {}
    if user is not None:
        sign_in(client, user)
        headers = {"Authorization": f"Bearer {make_token(user, *SCOPES)}"}
    failures = []
    for rule in app.url_map.iter_rules():
        expected = MATRIX[rule.endpoint]
        if expected == PUBLIC or rule.endpoint == "accounts.logout":
            continue
        args = {name: url_args[name] for name in rule.arguments}
        path = rule.build(args, append_unknown=False)[1]  # type: ignore[index]
        is_api = rule.rule.startswith(("/api/", "/scim/"))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, headers=headers if is_api else {})
            response.close()  # end streamed bodies, so their sessions close too
            status = response.status_code
            if role is None:
                ok = (
                    status == 401
                    if is_api
                    else (status == 302 and "/login" in response.headers["Location"])
                )
            elif role in expected:  # type: ignore[operator]
                # 501: a SCIM search across resource types, deliberately not offered
                ok = status not in (401, 403) and (status < 500 or status == 501)
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{method} {path}: {status}")
    assert failures == [], f"unexpected answers for {role}: {failures}"


def test_public_pages_open_to_everyone(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200


def test_a_rep_reads_a_lead_only_through_their_queues(
    app: Flask,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    url_args: dict[str, Any],
) -> None:
    """Row level, beyond the matrix: every page or API read of one lead answers a rep of the
    lead's queue, and 404 (as for no such lead) to a rep outside it."""
    insider, outsider = make_user(Role.REP), make_user(Role.REP)
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, url_args["lead_id"])
        queue = s.get(Queue, url_args["queue_id"])
        assert lead is not None and queue is not None
        lead.queue_id = queue.id
        queue_setup.set_member(s, queue, insider.id)
        s.commit()
    reads = [
        rule
        for rule in app.url_map.iter_rules()
        if "lead_id" in rule.arguments
        and "GET" in (rule.methods or set())
        and Role.REP in MATRIX[rule.endpoint]  # type: ignore[operator]
    ]
    assert {r.endpoint for r in reads} >= {"leads.detail", "leads_api.get_lead"}
    for user, expected in ((insider, 200), (outsider, 404)):
        client = sign_in(app.test_client(), user)
        headers = {"Authorization": f"Bearer {make_token(user, *SCOPES)}"}
        for rule in reads:
            path = rule.build({"lead_id": url_args["lead_id"]}, append_unknown=False)[1]  # type: ignore[index]
            api = rule.rule.startswith("/api/")
            status = client.get(path, headers=headers if api else {}).status_code
            assert status == expected, (user.name, path, status)
