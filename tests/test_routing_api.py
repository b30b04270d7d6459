"""The routing API: rules, dry runs, the rep's queues and lead actions, accounts, the outbox.

Every call goes through the spec-checking client, so each answer matches the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, Touch
from contentfeed.links.models import TrackedLink
from contentfeed.routing import queue_setup, service
from contentfeed.routing.models import OutboxMessage, OutboxStatus, Queue
from contentfeed.suggestions import service as suggestions
from tests.apiclient import Api
from tests.test_api import bearer, check_against_spec

WRITE = ("read", "routing:write")
DIGITAL = "Digital sales"
CUSTOMER = "Customer development"


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


@pytest.fixture
def admin(make_user: Callable[..., User], make_token: Callable[..., str]) -> str:
    """An admin's token with read and routing:write."""
    return make_token(make_user("admin", name="Ada Admin"), *WRITE)


@pytest.fixture
def queues(app: Flask) -> dict[str, int]:
    """The two default queues and rules; returns each queue's id by name."""
    with app.app_context():
        s = db.session()
        service.ensure_defaults(s, service.RoutingSettings())
        s.commit()
        return {q.name: q.id for q in s.scalars(sa.select(Queue))}


@pytest.fixture
def make_rep(
    app: Flask, make_user: Callable[..., User], make_token: Callable[..., str]
) -> Callable[..., tuple[User, str]]:
    """Create a rep in the given queues and return them with a token."""

    def make(*queue_ids: int, name: str | None = None) -> tuple[User, str]:
        rep = make_user("rep", name=name)
        with app.app_context():
            s = db.session()
            for queue_id in queue_ids:
                queue_setup.set_member(s, queue_setup.get_queue(s, queue_id), rep.id)
            s.commit()
        return rep, make_token(rep, *WRITE)

    return make


def route(app: Flask, *emails: str) -> list[int]:
    """Store leads with these emails and route them; return their ids in order."""
    with app.app_context():
        s = db.session()
        leads = [
            Lead(
                email=email,
                email_domain=email.rpartition("@")[2],
                first_name=email.partition("@")[0].capitalize(),
                submitted_at=utcnow(),
            )
            for email in emails
        ]
        s.add_all(leads)
        s.flush()
        service.route_pending(s, service.RoutingSettings())
        s.commit()
        return [lead.id for lead in leads]


def count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return int(db.session().scalar(sa.select(sa.func.count()).select_from(model)) or 0)


# --- rules ---------------------------------------------------------------------------------


def test_rules_round_trip_create_change_reorder_delete(
    api: Api, admin: str, queues: dict[str, int]
) -> None:
    listed = api("GET", "/api/v1/routing/rules", admin).json
    assert [r["name"] for r in listed["items"]] == ["Known customers", "Everyone else"]
    assert listed["items"][0]["conditions"]["customer"] is True
    created = api(
        "POST",
        "/api/v1/routing/rules",
        admin,
        json={
            "name": "DACH leaders",
            "queue_id": queues[CUSTOMER],
            "conditions": {"countries": ["de", "at"], "min_score": 40, "regions": ["DACH"]},
            "strategy": "round_robin",
        },
    )
    assert created.status_code == 201, created.json
    rule = created.json
    assert rule["position"] == 3
    assert rule["queue"] == {"id": queues[CUSTOMER], "name": CUSTOMER}
    assert rule["conditions"]["countries"] == ["AT", "DE"]
    assert created.headers["Location"].endswith(f"/api/v1/routing/rules/{rule['id']}")
    fetched = api("GET", "/api/v1/routing/rules/{rule_id}", admin, rule_id=rule["id"])
    assert fetched.json == rule

    changed = api(
        "PUT",
        "/api/v1/routing/rules/{rule_id}",
        admin,
        rule_id=rule["id"],
        json={"name": "DACH", "queue_id": queues[DIGITAL], "enabled": False},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["queue"]["name"] == DIGITAL
    assert changed.json["enabled"] is False
    assert changed.json["strategy"] is None
    assert changed.json["conditions"]["countries"] is None
    assert changed.json["position"] == 3

    ids = [r["id"] for r in listed["items"]]
    order = [rule["id"], *ids]
    reordered = api("PUT", "/api/v1/routing/rules/order", admin, json={"rule_ids": order})
    assert [r["id"] for r in reordered.json["items"]] == order
    again = api("GET", "/api/v1/routing/rules", admin).json
    assert [r["id"] for r in again["items"]] == order
    assert [r["position"] for r in again["items"]] == [1, 2, 3]

    incomplete = api("PUT", "/api/v1/routing/rules/order", admin, json={"rule_ids": ids})
    assert incomplete.status_code == 422
    assert "rule_ids" in incomplete.json["fields"]

    gone = api("DELETE", "/api/v1/routing/rules/{rule_id}", admin, rule_id=rule["id"])
    assert gone.status_code == 204
    missing = api("GET", "/api/v1/routing/rules/{rule_id}", admin, rule_id=rule["id"])
    assert missing.status_code == 404
    assert [r["id"] for r in api("GET", "/api/v1/routing/rules", admin).json["items"]] == ids


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"regions": ["Atlantis"]}, "conditions.regions"),
        ({"countries": ["Germany"]}, "conditions.countries"),
        ({"min_score": 101}, "conditions.min_score"),
        ({"min_score": 80, "max_score": 20}, "conditions.max_score"),
        ({"customer": "perhaps"}, "conditions.customer"),
        ({"colour": "red"}, "conditions.colour"),
    ],
)
def test_bad_condition_is_refused_naming_it(
    api: Api, admin: str, queues: dict[str, int], conditions: dict[str, Any], field: str
) -> None:
    response = api(
        "POST",
        "/api/v1/routing/rules",
        admin,
        json={"name": "Bad", "queue_id": queues[DIGITAL], "conditions": conditions},
    )
    assert response.status_code == 422
    assert field in response.json["fields"], response.json
    assert len(api("GET", "/api/v1/routing/rules", admin).json["items"]) == 2


def test_rule_for_an_unknown_queue_is_refused(api: Api, admin: str, queues: dict[str, int]) -> None:
    response = api(
        "POST", "/api/v1/routing/rules", admin, json={"name": "Nowhere", "queue_id": 9999}
    )
    assert response.status_code == 422
    assert "queue_id" in response.json["fields"]


# --- dry run -------------------------------------------------------------------------------


def test_dry_run_sends_a_customer_to_customer_development_and_gmail_to_sales(
    app: Flask, api: Api, admin: str, queues: dict[str, int]
) -> None:
    account = api(
        "POST", "/api/v1/accounts", admin, json={"name": "Acme", "domains": ["acme.example"]}
    )
    assert account.status_code == 201, account.json
    customer = api(
        "POST",
        "/api/v1/routing/dry-run",
        admin,
        json={
            "email": "Jane@Sales.Acme.example",
            "company": "Acme",
            "job_title": "Head of IT",
            "country": "Germany",
        },
    ).json
    assert customer["queue"]["name"] == CUSTOMER
    assert customer["queue"]["why"] == "rule 'Known customers' matched"
    assert customer["facts"]["account_name"] == "Acme"
    assert customer["facts"]["country"] == "DE"
    assert customer["facts"]["region"] == "DACH"
    first = customer["rules"][0]
    assert first["matched"] is True
    assert first["checks"][0]["why"] == "sales.acme.example belongs to customer Acme"
    assert customer["assignment"]["strategy"] == "claim"
    assert customer["due_at"] is not None

    gmail = api("POST", "/api/v1/routing/dry-run", admin, json={"email": "jane.doe@gmail.com"}).json
    assert gmail["queue"]["name"] == DIGITAL
    assert [r["matched"] for r in gmail["rules"]] == [False, True]
    assert gmail["rules"][0]["checks"][0]["why"] == "gmail.com is a free-mail address"
    assert gmail["facts"]["free_mail"] is True
    assert gmail["facts"]["account_id"] is None
    assert count(app, Lead) == 0


def test_dry_run_attributes_a_code_and_stores_nothing(
    app: Flask,
    api: Api,
    admin: str,
    queues: dict[str, int],
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    make_content(title="Zero-downtime migrations")
    seller = make_user("seller", name="Sam Seller")
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
            now=utcnow() - timedelta(hours=1),
        )
        s.commit()
        code = s.scalars(sa.select(TrackedLink.code)).one()
    result = api(
        "POST",
        "/api/v1/routing/dry-run",
        admin,
        json={"email": "li@nordbank.example", "utm_content": code},
    )
    assert result.status_code == 200, result.json
    assert result.json["facts"]["seller_name"] == "Sam Seller"
    assert result.json["facts"]["seller_id"] == seller.id
    assert count(app, Lead) == 0
    assert count(app, Touch) == 0
    assert count(app, OutboxMessage) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "a@b.example", "country": "Narnia"}, "country"),
        ({"email": "a@b.example", "phone": "123"}, "phone"),
    ],
)
def test_dry_run_refuses_a_bad_sample(
    api: Api, admin: str, queues: dict[str, int], body: dict[str, Any], field: str
) -> None:
    response = api("POST", "/api/v1/routing/dry-run", admin, json=body)
    assert response.status_code == 422
    assert field in response.json["fields"]


# --- the rep's queues ----------------------------------------------------------------------


def test_two_reps_claiming_next_get_different_leads_then_an_empty_queue(
    app: Flask,
    api: Api,
    queues: dict[str, int],
    make_rep: Callable[..., tuple[User, str]],
) -> None:
    rep1, token1 = make_rep(queues[DIGITAL], name="Rita Rep")
    _rep2, token2 = make_rep(queues[DIGITAL])
    first, second = route(app, "ann@gmail.com", "bob@yahoo.com")

    mine = api("GET", "/api/v1/queues", token1).json["items"]
    assert [(q["name"], q["waiting"], q["open"], q["overdue"]) for q in mine] == [
        (DIGITAL, 2, 2, 0)
    ]
    listed = api("GET", "/api/v1/queues/{queue_id}/leads", token1, queue_id=queues[DIGITAL]).json
    assert [row["id"] for row in listed["items"]] == [first, second]
    assert listed["items"][0]["status"] == "new"
    assert listed["items"][0]["assignee"] is None
    assert listed["items"][0]["overdue"] is False

    path = "/api/v1/queues/{queue_id}/claim-next"
    taken1 = api("POST", path, token1, queue_id=queues[DIGITAL]).json["lead"]
    taken2 = api("POST", path, token2, queue_id=queues[DIGITAL]).json["lead"]
    assert {taken1["id"], taken2["id"]} == {first, second}
    assert taken1["id"] == first  # the most urgent first
    assert taken1["status"] == "claimed"
    assert taken1["assignee"] == {"id": rep1.id, "name": "Rita Rep"}
    assert taken1["queue"] == {"id": queues[DIGITAL], "name": DIGITAL}
    assert taken1["claimed_at"] is not None
    assert taken1["routing_trace"]["queue"]["name"] == DIGITAL

    empty = api("POST", path, token1, queue_id=queues[DIGITAL])
    assert empty.status_code == 200
    assert empty.json == {"lead": None}
    after = api("GET", "/api/v1/queues/{queue_id}/leads", token1, queue_id=queues[DIGITAL]).json
    assert after["queue"]["waiting"] == 0
    assert after["queue"]["open"] == 2
    assert after["items"][0]["assignee"]["name"] == "Rita Rep"


def test_overdue_leads_are_counted_and_flagged(
    app: Flask, api: Api, queues: dict[str, int], make_rep: Callable[..., tuple[User, str]]
) -> None:
    _rep, token = make_rep(queues[DIGITAL])
    (lead_id,) = route(app, "late@gmail.com")
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, lead_id)
        assert lead is not None
        lead.due_at = utcnow() - timedelta(minutes=5)
        s.commit()
    summary = api("GET", "/api/v1/queues", token).json["items"][0]
    assert summary["overdue"] == 1
    rows = api("GET", "/api/v1/queues/{queue_id}/leads", token, queue_id=queues[DIGITAL]).json
    assert rows["items"][0]["overdue"] is True


def test_status_flow_to_converted_and_an_illegal_jump(
    app: Flask, api: Api, queues: dict[str, int], make_rep: Callable[..., tuple[User, str]]
) -> None:
    _rep, token = make_rep(queues[DIGITAL])
    first, second = route(app, "ann@gmail.com", "bob@gmail.com")
    path = "/api/v1/leads/{lead_id}/status"
    claimed = api("POST", path, token, lead_id=first, json={"status": "claimed"})
    assert claimed.json["status"] == "claimed"
    contacted = api(
        "POST", path, token, lead_id=first, json={"status": "contacted", "note": "Called her"}
    ).json
    assert contacted["status"] == "contacted"
    assert contacted["first_contact_at"] is not None
    assert api("POST", path, token, lead_id=first, json={"status": "qualified"}).status_code == 200
    converted = api("POST", path, token, lead_id=first, json={"status": "converted"}).json
    assert converted["status"] == "converted"
    assert converted["closed_at"] is not None
    reopen = api("POST", path, token, lead_id=first, json={"status": "contacted"})
    assert reopen.status_code == 409

    jump = api("POST", path, token, lead_id=second, json={"status": "converted"})
    assert jump.status_code == 409
    assert "can move to claimed or disqualified" in jump.json["message"]
    no_reason = api("POST", path, token, lead_id=second, json={"status": "disqualified"})
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json["fields"]
    unknown = api("POST", path, token, lead_id=second, json={"status": "won"})
    assert unknown.status_code == 422
    assert "status" in unknown.json["fields"]
    out = api(
        "POST",
        path,
        token,
        lead_id=second,
        json={"status": "disqualified", "reason": "A student project"},
    ).json
    assert out["status"] == "disqualified"
    assert out["disqualify_reason"] == "A student project"


def test_release_reassign_notes_and_history(
    app: Flask,
    api: Api,
    admin: str,
    queues: dict[str, int],
    make_rep: Callable[..., tuple[User, str]],
    make_user: Callable[..., User],
) -> None:
    rep1, token1 = make_rep(queues[DIGITAL], name="Rita Rep")
    rep2, token2 = make_rep(queues[DIGITAL], name="Rob Rep")
    (lead_id,) = route(app, "ann@gmail.com")

    claimed = api("POST", "/api/v1/leads/{lead_id}/claim", token1, lead_id=lead_id)
    assert claimed.json["assignee"]["id"] == rep1.id
    again = api("POST", "/api/v1/leads/{lead_id}/claim", token2, lead_id=lead_id)
    assert again.status_code == 409
    not_theirs = api("POST", "/api/v1/leads/{lead_id}/release", token2, lead_id=lead_id)
    assert not_theirs.status_code == 403
    released = api("POST", "/api/v1/leads/{lead_id}/release", token1, lead_id=lead_id).json
    assert released["status"] == "new"
    assert released["assignee"] is None
    assert released["claimed_at"] is None
    not_claimed = api("POST", "/api/v1/leads/{lead_id}/release", token1, lead_id=lead_id)
    assert not_claimed.status_code == 409

    seller = make_user("seller")
    to_seller = api(
        "POST",
        "/api/v1/leads/{lead_id}/reassign",
        admin,
        lead_id=lead_id,
        json={"user_id": seller.id},
    )
    assert to_seller.status_code == 422
    assert "user_id" in to_seller.json["fields"]
    handed = api(
        "POST",
        "/api/v1/leads/{lead_id}/reassign",
        admin,
        lead_id=lead_id,
        json={"user_id": rep2.id},
    ).json
    assert handed["status"] == "claimed"
    assert handed["assignee"] == {"id": rep2.id, "name": "Rob Rep"}

    note = api(
        "POST",
        "/api/v1/leads/{lead_id}/notes",
        token2,
        lead_id=lead_id,
        json={"text": "Left a voicemail"},
    )
    assert note.status_code == 201
    assert note.json["kind"] == "note"
    assert note.json["actor"] == {"id": rep2.id, "name": "Rob Rep"}
    blank = api("POST", "/api/v1/leads/{lead_id}/notes", token2, lead_id=lead_id, json={"text": ""})
    assert blank.status_code == 422

    history = api("GET", "/api/v1/leads/{lead_id}/history", token1, lead_id=lead_id).json
    assert [e["kind"] for e in history["items"]] == [
        "routed",
        "claimed",
        "released",
        "reassigned",
        "note",
    ]
    assert history["items"][0]["actor"] is None
    assert history["items"][1]["actor"]["name"] == "Rita Rep"
    assert "Reassigned to Rob Rep by Ada Admin" in history["items"][3]["text"]


def test_a_rep_outside_the_queue_finds_nothing(
    app: Flask, api: Api, queues: dict[str, int], make_rep: Callable[..., tuple[User, str]]
) -> None:
    _rep, token = make_rep(queues[CUSTOMER])
    (lead_id,) = route(app, "ann@gmail.com")
    assert [q["name"] for q in api("GET", "/api/v1/queues", token).json["items"]] == [CUSTOMER]
    queue = queues[DIGITAL]
    assert api("GET", "/api/v1/queues/{queue_id}/leads", token, queue_id=queue).status_code == 404
    claim_next = api("POST", "/api/v1/queues/{queue_id}/claim-next", token, queue_id=queue)
    assert claim_next.status_code == 404
    for action in ("claim", "release"):
        path = f"/api/v1/leads/{{lead_id}}/{action}"
        assert api("POST", path, token, lead_id=lead_id).status_code == 404
    history = api("GET", "/api/v1/leads/{lead_id}/history", token, lead_id=lead_id)
    assert history.status_code == 404
    missing = api("POST", "/api/v1/leads/{lead_id}/claim", token, lead_id=lead_id + 100)
    assert missing.status_code == 404


@pytest.mark.parametrize("role", ["seller", "marketer"])
def test_sellers_and_marketers_are_refused_the_queues(
    app: Flask,
    api: Api,
    queues: dict[str, int],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    role: str,
) -> None:
    token = make_token(make_user(role), *WRITE)
    (lead_id,) = route(app, "ann@gmail.com")
    queue = queues[DIGITAL]
    answers = [
        api("GET", "/api/v1/queues", token),
        api("GET", "/api/v1/queues/{queue_id}/leads", token, queue_id=queue),
        api("POST", "/api/v1/queues/{queue_id}/claim-next", token, queue_id=queue),
        api("POST", "/api/v1/leads/{lead_id}/claim", token, lead_id=lead_id),
        api("POST", "/api/v1/leads/{lead_id}/status", token, lead_id=lead_id, json={}),
        api("GET", "/api/v1/leads/{lead_id}/history", token, lead_id=lead_id),
        api("GET", "/api/v1/routing/rules", token),
    ]
    assert [a.status_code for a in answers] == [403] * len(answers)


def test_a_read_only_token_cannot_claim(
    api: Api, queues: dict[str, int], make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    token = make_token(make_user("rep"), "read")
    response = api("POST", "/api/v1/queues/{queue_id}/claim-next", token, queue_id=queues[DIGITAL])
    assert response.status_code == 403
    assert "routing:write" in response.json["message"]


# --- customer accounts ---------------------------------------------------------------------


def test_accounts_create_search_change_delete(
    api: Api, admin: str, make_team: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    team = make_team("Customer development")
    owner = make_user("rep", name="Olga Owner")
    created = api(
        "POST",
        "/api/v1/accounts",
        admin,
        json={
            "name": "Acme Widgets",
            "domains": ["ACME.example", "https://www.acme.de/"],
            "crm_id": "0015g00000ABC",
            "owner_team_id": team.id,
            "owner_id": owner.id,
        },
    )
    assert created.status_code == 201, created.json
    account = created.json
    assert account["domains"] == ["acme.de", "acme.example"]
    assert account["owner_team"] == {"id": team.id, "name": "Customer development"}
    assert account["owner"] == {"id": owner.id, "name": "Olga Owner"}
    other = api("POST", "/api/v1/accounts", admin, json={"name": "Beta", "domains": ["beta.io"]})
    assert other.status_code == 201

    by_domain = api("GET", "/api/v1/accounts", admin, query={"q": "acme.de"}).json
    assert [a["name"] for a in by_domain["items"]] == ["Acme Widgets"]
    everyone = api("GET", "/api/v1/accounts", admin).json
    assert [a["name"] for a in everyone["items"]] == ["Acme Widgets", "Beta"]

    taken = api("POST", "/api/v1/accounts", admin, json={"name": "Copy", "domains": ["acme.de"]})
    assert taken.status_code == 422
    assert "already belongs to Acme Widgets" in taken.json["fields"]["domains"]
    free = api("POST", "/api/v1/accounts", admin, json={"name": "G", "domains": ["gmail.com"]})
    assert free.status_code == 422
    assert "domains" in free.json["fields"]
    empty = api("POST", "/api/v1/accounts", admin, json={"name": "", "domains": []})
    assert set(empty.json["fields"]) == {"name", "domains"}

    path = "/api/v1/accounts/{account_id}"
    changed = api(
        "PUT",
        path,
        admin,
        account_id=account["id"],
        json={"name": "Acme", "domains": ["acme.example"]},
    ).json
    assert changed["name"] == "Acme"
    assert changed["domains"] == ["acme.example"]
    assert changed["owner"] is None
    assert api("GET", path, admin, account_id=account["id"]).json == changed
    assert api("DELETE", path, admin, account_id=account["id"]).status_code == 204
    assert api("GET", path, admin, account_id=account["id"]).status_code == 404
    assert api("DELETE", path, admin, account_id=account["id"]).status_code == 404


def _post_csv(client: FlaskClient, spec: dict[str, Any], token: str, text: str) -> Any:
    response = client.post(
        "/api/v1/accounts/import",
        data=text.encode(),
        content_type="text/csv",
        headers=bearer(token),
    )
    check_against_spec(spec, "/api/v1/accounts/import", "post", response.status_code, response.json)
    return response


def test_accounts_import_reports_each_row(
    api: Api, client: FlaskClient, admin: str, make_team: Callable[..., Any]
) -> None:
    make_team("Customer development")
    api("POST", "/api/v1/accounts", admin, json={"name": "Beta", "domains": ["beta.io"]})
    text = (
        "name,domains,owner_team,owner_email,crm_id\r\n"
        "Acme,acme.example; acme.de,Customer development,,A-1\r\n"
        "Beta,beta.io beta.dev,,,\r\n"
        "Gamma,gmail.com,,,\r\n"
    )
    response = _post_csv(client, api.spec, admin, text)
    assert response.status_code == 200, response.json
    report = response.json
    assert (report["created"], report["updated"], report["errors"]) == (1, 1, 1)
    assert [(r["line"], r["status"]) for r in report["rows"]] == [
        (2, "created"),
        (3, "updated"),
        (4, "error"),
    ]
    assert "free-mail" in report["rows"][2]["message"]
    accounts = api("GET", "/api/v1/accounts", admin).json["items"]
    assert [(a["name"], a["domains"]) for a in accounts] == [
        ("Acme", ["acme.de", "acme.example"]),
        ("Beta", ["beta.dev", "beta.io"]),
    ]
    assert accounts[0]["owner_team"]["name"] == "Customer development"


def test_accounts_import_reads_what_german_excel_saves(
    api: Api, client: FlaskClient, admin: str
) -> None:
    """Semicolons, Windows-1252 and headers as a person types them ("Name", "Domains")."""
    sheet = "Name;Domains;CRM-ID\r\nMüller Maschinenbau;mueller.example;K-1\r\n".encode("cp1252")
    response = client.post(
        "/api/v1/accounts/import", data=sheet, content_type="text/csv", headers=bearer(admin)
    )
    assert response.status_code == 200, response.json
    assert response.json["created"] == 1
    accounts = api("GET", "/api/v1/accounts", admin).json["items"]
    assert [(a["name"], a["domains"], a["crm_id"]) for a in accounts] == [
        ("Müller Maschinenbau", ["mueller.example"], "K-1")
    ]


def test_accounts_import_refuses_what_is_not_a_csv_file(
    api: Api, client: FlaskClient, admin: str
) -> None:
    no_header = _post_csv(client, api.spec, admin, "acme.example\r\n")
    assert no_header.status_code == 422
    assert "body" in no_header.json["fields"]
    empty = _post_csv(client, api.spec, admin, "")
    assert empty.status_code == 422
    as_json = api("POST", "/api/v1/accounts/import", admin, json={"name": "Acme"})
    assert as_json.status_code == 415


# --- queue settings ------------------------------------------------------------------------


def test_queue_settings_and_members(
    api: Api,
    admin: str,
    queues: dict[str, int],
    make_user: Callable[..., User],
) -> None:
    rep = make_user("rep", name="Rita Rep")
    lead = make_user("admin", name="Quinn Queue-Lead")
    queue_id = queues[DIGITAL]
    member_path = "/api/v1/routing/queues/{queue_id}/members/{member_user_id}"
    added = api(
        "PUT",
        member_path,
        admin,
        queue_id=queue_id,
        member_user_id=rep.id,
        json={"weight": 3, "capacity": 5},
    )
    assert added.status_code == 200, added.json
    assert added.json == {
        "user": {"id": rep.id, "name": "Rita Rep"},
        "weight": 3,
        "capacity": 5,
        "available": True,
        "assigned_count": 0,
    }
    seller = make_user("seller")
    refused = api("PUT", member_path, admin, queue_id=queue_id, member_user_id=seller.id, json={})
    assert refused.status_code == 422
    heavy = api(
        "PUT", member_path, admin, queue_id=queue_id, member_user_id=rep.id, json={"weight": 0}
    )
    assert "weight" in heavy.json["fields"]

    changed = api(
        "PUT",
        "/api/v1/routing/queues/{queue_id}",
        admin,
        queue_id=queue_id,
        json={
            "name": "Digital sales EMEA",
            "strategy": "round_robin",
            "sla_minutes": 120,
            "business_hours": True,
            "timezone": "Europe/Berlin",
            "workdays": [0, 1, 2, 3],
            "lead_user_id": lead.id,
        },
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["name"] == "Digital sales EMEA"
    assert changed.json["lead_user"] == {"id": lead.id, "name": "Quinn Queue-Lead"}
    assert [m["user"]["name"] for m in changed.json["members"]] == ["Rita Rep"]
    bad = api(
        "PUT",
        "/api/v1/routing/queues/{queue_id}",
        admin,
        queue_id=queue_id,
        json={"name": "X", "timezone": "Mars/Olympus"},
    )
    assert bad.status_code == 422
    assert "timezone" in bad.json["fields"]

    listed = api("GET", "/api/v1/routing/queues", admin).json["items"]
    by_name = {q["name"]: q for q in listed}
    assert by_name["Digital sales EMEA"]["workdays"] == [0, 1, 2, 3]
    assert by_name["Digital sales EMEA"]["timezone"] == "Europe/Berlin"
    assert by_name[CUSTOMER]["members"] == []

    path_args = {"queue_id": queue_id, "member_user_id": rep.id}
    assert api("DELETE", member_path, admin, **path_args).status_code == 204
    assert api("DELETE", member_path, admin, **path_args).status_code == 404
    unknown = api("PUT", "/api/v1/routing/queues/{queue_id}", admin, queue_id=9999, json={})
    assert unknown.status_code == 404


# --- the outbox ----------------------------------------------------------------------------


def test_outbox_lists_messages_and_resends_a_dead_one(
    app: Flask, api: Api, admin: str, queues: dict[str, int]
) -> None:
    route(app, "ann@gmail.com", "bob@gmail.com")
    with app.app_context():
        s = db.session()
        messages = list(s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        dead, delivered = messages[0], messages[1]
        dead.status, dead.attempts, dead.last_error = OutboxStatus.DEAD, 8, "The CRM answered 500."
        dead.next_attempt_at = None
        delivered.status, delivered.delivered_at = OutboxStatus.DELIVERED, utcnow()
        s.commit()
        dead_id, delivered_id = dead.id, delivered.id

    everything = api("GET", "/api/v1/outbox", admin).json
    assert everything["summary"] == {
        "pending": 0,
        "delivered": 1,
        "dead": 1,
        "disabled_reason": "",
    }
    assert [m["id"] for m in everything["items"]] == [delivered_id, dead_id]
    only_dead = api("GET", "/api/v1/outbox", admin, query={"status": "dead"}).json
    assert [m["id"] for m in only_dead["items"]] == [dead_id]
    assert only_dead["items"][0]["last_error"] == "The CRM answered 500."
    assert only_dead["items"][0]["event_type"] == "lead.routed"

    path = "/api/v1/outbox/{message_id}/resend"
    again = api("POST", path, admin, message_id=dead_id).json
    assert again["status"] == "pending"
    assert again["attempts"] == 0
    assert again["last_error"] == ""
    assert again["next_attempt_at"] is not None
    assert api("GET", "/api/v1/outbox", admin).json["summary"]["pending"] == 1
    assert api("POST", path, admin, message_id=delivered_id).status_code == 409
    assert api("POST", path, admin, message_id=9999).status_code == 404
    bad_filter = api("GET", "/api/v1/outbox", admin, query={"status": "lost"})
    assert bad_filter.status_code == 422
