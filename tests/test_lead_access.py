"""Who reads which lead, and where the lead resource says a lead is.

Leads are personal data: a rep reads the leads of the queues they work or lead and the leads
they have worked; admins and marketers read every lead. The same rule answers the lead list
and lead pages and the leads API (lists filtered, one lead 404 when it is not yours).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import jobs, queue_setup
from contentfeed.routing import service as routing
from contentfeed.routing.models import LeadActivity, Queue, QueueMember
from tests.conftest import sign_in
from tests.test_api import bearer, check_against_spec
from tests.test_webhook import spec_of


@dataclass(frozen=True)
class World:
    """Two queues, their reps and one lead per way of being allowed to read it."""

    people: dict[str, User]
    leads: dict[str, int]
    queues: dict[str, int]


@pytest.fixture
def world(app: Flask, make_user: Callable[..., User]) -> World:
    people = {
        name: make_user(Role.REP, name=name.capitalize())
        for name in ("north", "chief", "holder", "former", "nobody")
    }
    people["admin"] = make_user(Role.ADMIN)
    people["marketer"] = make_user(Role.MARKETER)
    with app.app_context():
        s = db.session()
        north = Queue(name="North", lead_user_id=people["chief"].id)
        south = Queue(name="South")
        s.add_all([north, south])
        s.flush()
        s.add(QueueMember(queue_id=north.id, user_id=people["north"].id))
        rows = {
            "north": Lead(queue_id=north.id),  # read by its member and the queue's lead
            "held": Lead(queue_id=south.id, assignee_id=people["holder"].id),  # theirs now
            "worked": Lead(queue_id=south.id),  # the former rep wrote in its history
            "south": Lead(queue_id=south.id),  # nobody above may read it
            "unrouted": Lead(),
        }
        for key, lead in rows.items():
            lead.email = f"{key}@example.com"
            lead.email_domain = "example.com"
            lead.first_name = f"Person-{key}"
            lead.status = LeadStatus.CLAIMED if key == "held" else LeadStatus.NEW
        s.add_all(rows.values())
        s.flush()
        s.add(
            LeadActivity(
                lead_id=rows["worked"].id,
                actor_id=people["former"].id,
                kind="note",
                text="Called, left a message.",
                at=utcnow(),
            )
        )
        s.commit()
        return World(
            people=people,
            leads={key: lead.id for key, lead in rows.items()},
            queues={"north": north.id, "south": south.id},
        )


# Who may read which lead of the world.
READS = {
    "north": {"north"},
    "chief": {"north"},
    "holder": {"held"},
    "former": {"worked"},
    "nobody": set(),
    "admin": {"north", "held", "worked", "south", "unrouted"},
    "marketer": {"north", "held", "worked", "south", "unrouted"},
}


@pytest.mark.parametrize("who", sorted(READS))
def test_each_reader_sees_exactly_the_leads_they_may_read(
    app: Flask, client: FlaskClient, world: World, make_token: Callable[..., str], who: str
) -> None:
    user = world.people[who]
    allowed = READS[who]
    headers = bearer(make_token(user, "read"))
    listed = client.get("/api/v1/leads", headers=headers)
    assert listed.status_code == 200
    emails = {item["email"].split("@")[0] for item in listed.json["items"]}
    assert emails == allowed and listed.json["total"] == len(allowed)
    exported = client.get("/api/v1/leads.csv", headers=headers).get_data(as_text=True)
    assert {row["email"].split("@")[0] for row in csv.DictReader(io.StringIO(exported))} == allowed

    page = sign_in(app.test_client(), user)
    listing = page.get("/leads").get_data(as_text=True)
    for key, lead_id in world.leads.items():
        api = client.get(f"/api/v1/leads/{lead_id}", headers=headers)
        detail = page.get(f"/leads/{lead_id}")
        if key in allowed:
            assert api.status_code == 200 and detail.status_code == 200, key
            assert f"Person-{key}" in listing
        else:
            # The same answer as for a lead that does not exist: its existence is not given away.
            missing = client.get("/api/v1/leads/999999", headers=headers)
            assert api.status_code == 404 and api.json == missing.json, key
            assert detail.status_code == 404, key
            assert f"Person-{key}" not in listing


def test_a_rep_who_joins_a_queue_sees_its_leads_and_not_after_a_search(
    app: Flask, client: FlaskClient, world: World, make_token: Callable[..., str]
) -> None:
    nobody = world.people["nobody"]
    headers = bearer(make_token(nobody, "read"))
    # A search must not widen what a rep reads.
    assert client.get("/api/v1/leads?q=person", headers=headers).json["total"] == 0
    with app.app_context():
        s = db.session()
        queue = s.get(Queue, world.queues["south"])
        assert queue is not None
        queue_setup.set_member(s, queue, nobody.id)
        s.commit()
    listed = client.get("/api/v1/leads?q=person", headers=headers).json
    assert {item["email"] for item in listed["items"]} == {
        "held@example.com",
        "worked@example.com",
        "south@example.com",
    }


# --- where the lead is ---------------------------------------------------------------------


def _routed_lead(app: Flask, make_user: Callable[..., User]) -> tuple[User, int, int]:
    """A lead routed by the default rules, claimed by a rep of its queue."""
    rep = make_user(Role.REP, name="Riley Rep")
    with app.app_context():
        s = db.session()
        routing.ensure_defaults(s, config.settings_of(app).routing)
        queue = s.scalars(sa.select(Queue).where(Queue.name == "Digital sales")).one()
        queue_setup.set_member(s, queue, rep.id)
        s.add(Lead(email="ada@example.com", email_domain="example.com", first_name="Ada"))
        s.add(Lead(email="bo@example.com", email_domain="example.com", first_name="Bo"))
        s.commit()
        queue_id = queue.id
    with app.app_context():
        s = db.session()
        assert jobs.route_leads(s).routed == 2
        s.commit()
        lead_id = s.scalars(sa.select(Lead.id).where(Lead.first_name == "Ada")).one()
    return rep, lead_id, queue_id


def test_the_lead_resource_says_where_the_lead_is(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    rep, lead_id, queue_id = _routed_lead(app, make_user)
    headers = bearer(make_token(rep, "read", "routing:write"))
    spec = spec_of(client)

    waiting = client.get(f"/api/v1/leads/{lead_id}", headers=headers).json["routing"]
    assert waiting["queue"] == {"id": queue_id, "name": "Digital sales"}
    assert waiting["assignee"] is None and waiting["claimed_at"] is None
    assert waiting["rule"]["name"] == "Everyone else"
    assert waiting["why"] == "rule 'Everyone else' matched"
    assert waiting["routed_at"] is not None and waiting["due_at"] is not None
    assert "claim_due_at" in waiting

    assert client.post(f"/api/v1/leads/{lead_id}/claim", headers=headers).status_code == 200
    one = client.get(f"/api/v1/leads/{lead_id}", headers=headers)
    check_against_spec(spec, "/api/v1/leads/{lead_id}", "get", 200, one.json)
    claimed = one.json["routing"]
    assert claimed["assignee"] == {"id": rep.id, "name": "Riley Rep"}
    assert claimed["claimed_at"] is not None and claimed["first_contact_at"] is None
    assert claimed["due_at"] == waiting["due_at"]  # the response SLA does not move on a claim

    listed = client.get(f"/api/v1/leads?assignee_id={rep.id}", headers=headers)
    check_against_spec(spec, "/api/v1/leads", "get", 200, listed.json)
    assert [item["id"] for item in listed.json["items"]] == [lead_id]
    assert listed.json["items"][0]["routing"] == claimed
    in_queue = client.get(f"/api/v1/leads?queue_id={queue_id}", headers=headers).json
    assert {item["first_name"] for item in in_queue["items"]} == {"Ada", "Bo"}
    assert client.get(f"/api/v1/leads?queue_id={queue_id + 1}", headers=headers).json["total"] == 0

    for bad in ("queue_id=0", "queue_id=north", "assignee_id=99999999999999999999"):
        refused = client.get(f"/api/v1/leads?{bad}", headers=headers)
        assert refused.status_code == 422, bad
        check_against_spec(spec, "/api/v1/leads", "get", 422, refused.json)
        assert set(refused.json["fields"]) == {bad.split("=")[0]}


def test_an_unrouted_lead_has_empty_routing_and_the_document_declares_it(
    client: FlaskClient,
    world: World,
    make_token: Callable[..., str],
) -> None:
    headers = bearer(make_token(world.people["admin"], "read"))
    body = client.get(f"/api/v1/leads/{world.leads['unrouted']}", headers=headers).json
    assert body["routing"] == {
        "queue": None,
        "assignee": None,
        "due_at": None,
        "claim_due_at": None,
        "routed_at": None,
        "claimed_at": None,
        "first_contact_at": None,
        "rule": None,
        "why": "",
    }
    schemas = spec_of(client)["components"]["schemas"]
    lead = schemas["LeadOut"]["properties"]["routing"]
    assert lead == {"$ref": "#/components/schemas/RoutingState"}
    state = schemas["RoutingState"]["properties"]
    for name in ("queue", "assignee", "due_at", "claim_due_at", "claimed_at", "rule"):
        assert {"type": "null"} in state[name]["anyOf"], name  # documented as nullable
    names = {p["name"] for p in spec_of(client)["paths"]["/api/v1/leads"]["get"]["parameters"]}
    assert {"queue_id", "assignee_id"} <= names


def test_a_repeat_visit_says_it_was_added_to_the_open_lead(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    rep, lead_id, _queue_id = _routed_lead(app, make_user)
    with app.app_context():
        s = db.session()
        s.add(Lead(email="ada@example.com", email_domain="example.com", first_name="Ada"))
        s.commit()
        assert jobs.route_leads(s).merged == 1
        s.commit()
        again = s.scalars(sa.select(Lead.id).where(Lead.merged_into_id == lead_id)).one()
    headers = bearer(make_token(rep, "read"))
    state: dict[str, Any] = client.get(f"/api/v1/leads/{again}", headers=headers).json["routing"]
    assert state["rule"] is None
    assert f"open lead #{lead_id}" in state["why"]
