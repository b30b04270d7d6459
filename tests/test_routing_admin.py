"""Routing admin pages: rules and their order, the dry run, queues and reps, customer
accounts with CSV import and export, and the CRM outbox."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import Team, TeamKind, User
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead
from contentfeed.routing import customer_accounts, outbox, queue_setup
from contentfeed.routing import service as routing
from contentfeed.routing.models import (
    Account,
    Destination,
    OutboxMessage,
    OutboxStatus,
    Queue,
    QueueMember,
    RoutingRule,
)


def _text(response: Any, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.location)
    return html.unescape(str(response.get_data(as_text=True)))


def _after(client: FlaskClient, response: Any) -> str:
    """The page a POST redirected to, with its flash message."""
    assert response.status_code in (302, 303), (
        response.status_code,
        response.get_data(as_text=True)[:2000],
    )
    return _text(client.get(response.location))


@pytest.fixture
def admin(client_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return client_as("admin")


@pytest.fixture
def defaults(app: Flask) -> dict[str, int]:
    """The default queues and rules: known customers, then everyone else."""
    with app.app_context():
        s = db.session()
        routing.ensure_defaults(s, routing.RoutingSettings())
        s.commit()
        queues = {q.name: q.id for q in s.scalars(sa.select(Queue))}
    return queues


def _rule_order(admin: FlaskClient) -> list[str]:
    page = _text(admin.get("/admin/routing"))
    table = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<td><a href="/admin/routing/rules/\d+">([^<]+)</a></td>', table)


def _rule_id(app: Flask, name: str) -> int:
    with app.app_context():
        rule_id = db.session().scalar(sa.select(RoutingRule.id).where(RoutingRule.name == name))
        assert rule_id is not None
        return int(rule_id)


def _dry_run(admin: FlaskClient, email: str, **fields: str) -> str:
    page = _text(admin.post("/admin/routing/dry-run", data={"email": email, **fields}))
    return page.split('id="result-title"', 1)[1]


def _rules_tried(result: str) -> list[str]:
    tried = result.split('class="routing-trace__rules"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<strong>([^<]+)</strong>", tried)


def _destination_of(result: str) -> str:
    found = re.search(r'class="routing-trace__queue">([^<]+)<', result)
    assert found, result[:2000]
    return found.group(1)


# --- rules -------------------------------------------------------------------------------


def test_rules_page_explains_the_order_and_the_default_queue(
    admin: FlaskClient, defaults: dict[str, int]
) -> None:
    page = _text(admin.get("/admin/routing"))
    assert "The first rule that matches wins" in page
    assert "default_queue" in page and "[routing]" in page and "Digital sales" in page
    assert _rule_order(admin) == ["Known customers", "Everyone else"]
    assert "a known customer" in page  # conditions in words
    assert "any lead (no conditions)" in page
    assert "Queue's (reps claim)" in page
    assert 'href="/admin/routing/dry-run"' in page and 'href="/admin/routing/rules/new"' in page


def test_empty_rules_page_offers_the_defaults(app: Flask, admin: FlaskClient) -> None:
    page = _text(admin.get("/admin/routing"))
    assert "No routing rules yet" in page and "Create the default rules" in page
    page = _after(admin, admin.post("/admin/routing/defaults"))
    assert "default queues and rules are created" in page
    assert _rule_order(admin) == ["Known customers", "Everyone else"]


def test_writing_moving_editing_and_deleting_a_rule_changes_where_leads_go(
    app: Flask, admin: FlaskClient, defaults: dict[str, int]
) -> None:
    created = admin.post(
        "/admin/queues/new",
        data={"name": "DACH sales", "strategy": "claim", "sla_minutes": "30", "timezone": "UTC"},
    )
    assert created.status_code == 302
    with app.app_context():
        dach = queue_setup.queue_by_name(db.session(), "DACH sales")
        assert dach is not None
        dach_id = dach.id

    response = admin.post(
        "/admin/routing/rules/new",
        data={"name": "DACH", "queue_id": dach_id, "countries": "de, at", "enabled": "y"},
    )
    assert response.status_code == 302
    assert "is tried last" in _text(admin.get("/admin/routing"))
    assert _rule_order(admin) == ["Known customers", "Everyone else", "DACH"]
    assert "country is AT or DE" in _text(admin.get("/admin/routing"))

    # Tried last, behind a rule that takes everyone: a German lead never reaches it.
    result = _dry_run(admin, "li@bigco.example", country="DE")
    assert _destination_of(result) == "Digital sales"
    assert _rules_tried(result) == ["Known customers", "Everyone else"]

    rule_id = _rule_id(app, "DACH")
    admin.post(f"/admin/routing/rules/{rule_id}/move", data={"direction": "up"})
    assert _rule_order(admin) == ["Known customers", "DACH", "Everyone else"]
    result = _dry_run(admin, "li@bigco.example", country="DE")
    assert _destination_of(result) == "DACH sales"
    assert _rules_tried(result) == ["Known customers", "DACH"]
    assert "country DE is in AT, DE" in result

    edited = admin.post(
        f"/admin/routing/rules/{rule_id}",
        data={"name": "Switzerland", "queue_id": dach_id, "countries": "CH", "enabled": "y"},
    )
    assert edited.status_code == 302
    assert _rule_order(admin) == ["Known customers", "Switzerland", "Everyone else"]
    result = _dry_run(admin, "li@bigco.example", country="DE")
    assert _destination_of(result) == "Digital sales"
    assert "country DE is not in CH" in result

    admin.post(f"/admin/routing/rules/{rule_id}/move", data={"direction": "up"})
    assert _rule_order(admin) == ["Switzerland", "Known customers", "Everyone else"]
    admin.post(f"/admin/routing/rules/{rule_id}/move", data={"direction": "down"})
    assert _rule_order(admin) == ["Known customers", "Switzerland", "Everyone else"]

    deleted = admin.post(f"/admin/routing/rules/{rule_id}/delete")
    assert "Rule “Switzerland” is deleted." in _after(admin, deleted)
    assert _rule_order(admin) == ["Known customers", "Everyone else"]
    result = _dry_run(admin, "li@bigco.example", country="CH")
    assert _destination_of(result) == "Digital sales"


def test_a_rule_that_is_off_is_skipped(
    app: Flask, admin: FlaskClient, defaults: dict[str, int]
) -> None:
    rule_id = _rule_id(app, "Everyone else")
    admin.post(
        f"/admin/routing/rules/{rule_id}",
        data={"name": "Everyone else", "queue_id": defaults["Digital sales"]},  # not enabled
    )
    page = _text(admin.get("/admin/routing"))
    assert "Off" in page
    result = _dry_run(admin, "li@bigco.example")
    assert "skipped: the rule is off" in result
    assert "No rule matched: the default queue" in result


def test_rule_form_keeps_the_input_and_names_bad_conditions(
    admin: FlaskClient, defaults: dict[str, int]
) -> None:
    page = _text(
        admin.post(
            "/admin/routing/rules/new",
            data={
                "name": "Germany",
                "queue_id": defaults["Digital sales"],
                "countries": "Germany",
                "min_score": "80",
                "max_score": "20",
            },
        ),
        422,
    )
    assert "ISO country codes (two letters)" in page
    assert 'value="Germany"' in page  # the input is shown again
    page = _text(
        admin.post(
            "/admin/routing/rules/new",
            data={"name": "", "queue_id": defaults["Digital sales"], "max_score": "200"},
        ),
        422,
    )
    assert "Give the rule a name." in page and "A whole number from 0 to 100." in page
    page = _text(
        admin.post(
            "/admin/routing/rules/new",
            data={
                "name": "Scores",
                "queue_id": defaults["Digital sales"],
                "min_score": "80",
                "max_score": "20",
            },
        ),
        422,
    )
    assert "At least the minimum score" in page
    with admin.application.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(RoutingRule)) == 2


def test_rule_form_shows_the_conditions_it_has(
    app: Flask,
    admin: FlaskClient,
    defaults: dict[str, int],
    make_team: Callable[..., Team],
) -> None:
    team = make_team("Enterprise sellers")
    response = admin.post(
        "/admin/routing/rules/new",
        data={
            "name": "Senior Nordics",
            "queue_id": defaults["Digital sales"],
            "enabled": "y",
            "strategy": "round_robin",
            "free_mail": "no",
            "regions": ["Nordics"],
            "title_keywords": "CTO, head of",
            "min_score": "40",
            "seller_team_ids": [str(team.id)],
        },
    )
    assert response.status_code == 302
    page = _text(admin.get("/admin/routing"))
    for phrase in (
        "a work address",
        "region is Nordics",
        "job title has “CTO” or “head of”",
        "score at least 40",
        "seller's team is Enterprise sellers",
        "Round-robin",
    ):
        assert phrase in page, phrase
    form = _text(admin.get(f"/admin/routing/rules/{_rule_id(app, 'Senior Nordics')}"))
    assert 'value="CTO, head of"' in form
    assert re.search(r'value="Nordics" checked', form) or re.search(
        r'checked[^>]*value="Nordics"', form
    )


# --- dry run -----------------------------------------------------------------------------


def test_dry_run_names_the_customer_queue_and_says_why(
    app: Flask, admin: FlaskClient, defaults: dict[str, int]
) -> None:
    saved = admin.post(
        "/admin/accounts/new",
        data={
            "name": "Acme Widgets",
            "domains": "acme-widgets.example",
            "owner_team_id": "0",
            "owner_id": "0",
        },
    )
    assert saved.status_code == 302

    result = _dry_run(
        admin,
        "Jane.Doe@Acme-Widgets.example",
        first_name="Jane",
        last_name="Doe",
        job_title="Head of Platform",
        company="Acme Widgets",
        country="de",
    )
    assert "Where Jane Doe would go" in result
    assert _destination_of(result) == "Customer development"
    assert "Rule 'Known customers' matched" in result
    assert "acme-widgets.example belongs to customer Acme Widgets" in result
    assert "✓" in result and "Yes:" in result  # verdicts in words, not colour alone
    assert "DACH" in result  # the region routing saw
    assert "SLA: claimed and contacted by" in result

    gmail = _dry_run(admin, "jane.doe@gmail.com", country="DE")
    assert _destination_of(gmail) == "Digital sales"
    assert "gmail.com is a free-mail address" in gmail
    assert "✗" in gmail and "No:" in gmail

    with app.app_context():  # a dry run saves nothing
        s = db.session()
        assert s.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_dry_run_shows_who_would_be_picked_without_counting_it(
    app: Flask,
    admin: FlaskClient,
    defaults: dict[str, int],
    make_user: Callable[..., User],
) -> None:
    rita = make_user("rep", name="Rita Rep")
    omar = make_user("rep", name="Omar Rep")
    queue_id = defaults["Digital sales"]
    admin.post(
        f"/admin/queues/{queue_id}",
        data={
            "name": "Digital sales",
            "strategy": "round_robin",
            "sla_minutes": "60",
            "timezone": "UTC",
            "lead_user_id": "0",
        },
    )
    for rep in (rita, omar):
        admin.post(f"/admin/queues/{queue_id}/members", data={"user_id": rep.id, "available": "1"})
    admin.post(
        f"/admin/queues/{queue_id}/members",
        data={"user_id": omar.id, "weight": "1", "capacity": "0"},  # unavailable
    )
    result = _dry_run(admin, "li@bigco.example")
    assert "Round-robin" in result
    assert "Rita Rep is next in turn" in result
    assert "unavailable" in result
    with app.app_context():
        counts = db.session().scalars(sa.select(QueueMember.assigned_count)).all()
        assert set(counts) == {0}


def test_dry_run_refuses_a_bad_address(admin: FlaskClient, defaults: dict[str, int]) -> None:
    page = _text(admin.post("/admin/routing/dry-run", data={"email": "not an address"}), 422)
    assert "field-error" in page and 'value="not an address"' in page
    page = _text(
        admin.post("/admin/routing/dry-run", data={"email": "a@b.example", "country": "D1"}), 422
    )
    assert "nknown country 'D1'; send an ISO code or the country" in page
    # "UK" is what people write for the United Kingdom: read as GB, as forms send it.
    page = _text(
        admin.post("/admin/routing/dry-run", data={"email": "a@b.example", "country": "uk"}), 200
    )
    assert "GB" in page


def test_dry_run_reads_a_country_name_as_the_api_does(
    admin: FlaskClient, defaults: dict[str, int]
) -> None:
    # The page and the API read the sample through one model: "Germany" is DE on both.
    def untimed(page: str) -> str:
        return re.sub(r'datetime="[^"]*"|\d{2}:\d{2}(:\d{2})?', "", page)

    result = _dry_run(admin, "li@bigco.example", country="Germany")
    assert "DE" in result
    assert untimed(result) == untimed(_dry_run(admin, "li@bigco.example", country="DE"))


def test_dry_run_with_an_unknown_link_code_says_so(
    admin: FlaskClient, defaults: dict[str, int]
) -> None:
    result = _dry_run(admin, "li@bigco.example", code="nosuchcode")
    assert "No tracked link has the code “nosuchcode”" in result
    assert "No seller's link" in result


# --- queues ------------------------------------------------------------------------------


def test_queue_page_shows_sla_lead_and_members(
    app: Flask, admin: FlaskClient, defaults: dict[str, int], make_user: Callable[..., User]
) -> None:
    boss = make_user("rep", name="Queue Boss")
    queue_id = defaults["Customer development"]
    response = admin.post(
        f"/admin/queues/{queue_id}",
        data={
            "name": "Customer development",
            "description": "Hunters after the signature.",
            "strategy": "weighted",
            "sla_minutes": "240",
            "business_hours": "y",
            "timezone": "Europe/Berlin",
            "workdays": ["0", "1", "2", "3", "4"],
            "day_start": "08:00",
            "day_end": "18:00",
            "lead_user_id": str(boss.id),
        },
    )
    assert response.status_code == 302
    page = _text(admin.get("/admin/queues"))
    assert "Hunters after the signature." in page
    assert "Weighted by capacity" in page
    assert "4 h" in page and "in business hours" in page
    assert "Mon\u2013Fri 08:00\u201318:00 (Europe/Berlin)" in page  # en dashes
    assert "<dt>Queue lead</dt><dd>Queue Boss</dd>" in page  # saved, not the add-a-rep list
    assert "Default queue" in page  # Digital sales is marked


def test_queue_form_shows_errors_beside_the_fields(
    admin: FlaskClient, defaults: dict[str, int]
) -> None:
    queue_id = defaults["Digital sales"]
    page = _text(
        admin.post(
            f"/admin/queues/{queue_id}",
            data={
                "name": "Customer development",
                "strategy": "claim",
                "sla_minutes": "0",
                "business_hours": "y",
                "timezone": "Mars/Olympus",
                "day_start": "17:00",
                "day_end": "09:00",
                "lead_user_id": "0",
            },
        ),
        422,
    )
    for message in (
        "Between 1 minute and 30 days",
        "Unknown time zone 'Mars/Olympus'",
        "Must be after the start of the day",
    ):
        assert message in page, message
    assert 'value="Mars/Olympus"' in page
    page = _text(
        admin.post(
            f"/admin/queues/{queue_id}",
            data={"name": "customer DEVELOPMENT", "strategy": "claim", "sla_minutes": "60"},
        ),
        422,
    )
    assert "Another queue has this name" in page
    page = _text(
        admin.post(
            f"/admin/queues/{queue_id}",
            data={
                "name": "Digital sales",
                "strategy": "claim",
                "sla_minutes": "60",
                "business_hours": "y",
                "timezone": "UTC",
                "workdays": ["0"],
                "day_start": "17:00",
                "day_end": "09:00",
                "lead_user_id": "0",
            },
        ),
        422,
    )
    assert "Must be after the start of the day" in page
    page = _text(
        admin.post(
            f"/admin/queues/{queue_id}",
            data={"name": "Digital sales", "strategy": "claim", "sla_minutes": "soon"},
        ),
        422,
    )
    assert "Give the SLA in minutes" in page or "Not a valid integer value" in page


def test_new_queue_appears_on_the_queues_page(admin: FlaskClient) -> None:
    assert "No queues yet" in _text(admin.get("/admin/queues"))
    form = _text(admin.get("/admin/queues/new"))
    assert '<label for="name">' in form and 'list="timezones"' in form
    response = admin.post(
        "/admin/queues/new",
        data={
            "name": "Key accounts",
            "strategy": "claim",
            "sla_minutes": "15",
            "timezone": "UTC",
            "lead_user_id": "0",
        },
    )
    assert "Queue “Key accounts” is created." in _after(admin, response)
    page = _text(admin.get("/admin/queues"))
    assert "Key accounts" in page and "15 min" in page and "around the clock" in page


def test_members_are_added_changed_and_removed(
    app: Flask, admin: FlaskClient, defaults: dict[str, int], make_user: Callable[..., User]
) -> None:
    rita = make_user("rep", name="Rita Rep")
    seller = make_user("seller", name="Sam Seller")
    queue_id = defaults["Digital sales"]
    page = _text(admin.get("/admin/queues"))
    assert f'<option value="{rita.id}">Rita Rep</option>' in page
    assert "Sam Seller" not in page

    added = admin.post(
        f"/admin/queues/{queue_id}/members",
        data={"user_id": rita.id, "weight": "3", "capacity": "5", "available": "1"},
    )
    assert "Rita Rep now works Digital sales." in _text(admin.get(added.location))
    page = _text(admin.get("/admin/queues"))
    member = f"member-{queue_id}-{rita.id}"
    assert re.search(rf'id="{member}-weight" name="weight" value="3"', page)
    assert re.search(rf'id="{member}-capacity" name="capacity" value="5"', page)

    changed = admin.post(
        f"/admin/queues/{queue_id}/members",
        data={"user_id": rita.id, "weight": "2", "capacity": "0"},
    )
    assert "Rita Rep's settings in Digital sales are saved." in _text(admin.get(changed.location))
    with app.app_context():
        row = db.session().scalar(sa.select(QueueMember).where(QueueMember.user_id == rita.id))
        assert row is not None and (row.weight, row.capacity, row.available) == (2, 0, False)

    refused = admin.post(
        f"/admin/queues/{queue_id}/members", data={"user_id": rita.id, "weight": "500"}
    )
    assert "Weight: Input should be less than or equal to 100" in _text(admin.get(refused.location))
    not_a_rep = admin.post(f"/admin/queues/{queue_id}/members", data={"user_id": seller.id})
    assert "Only reps (and admins) work queues." in _text(admin.get(not_a_rep.location))
    nobody = admin.post(f"/admin/queues/{queue_id}/members", data={})
    assert "Pick the rep to add." in _text(admin.get(nobody.location))

    removed = admin.post(f"/admin/queues/{queue_id}/members/{rita.id}/remove")
    assert "Rita Rep no longer works Digital sales" in _text(admin.get(removed.location))
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(QueueMember)) == 0
    assert admin.post(f"/admin/queues/{queue_id}/members/{rita.id}/remove").status_code == 404


# --- accounts ----------------------------------------------------------------------------


def _account(admin: FlaskClient, **fields: str) -> Any:
    data = {"owner_team_id": "0", "owner_id": "0", **fields}
    return admin.post("/admin/accounts/new", data=data)


def test_accounts_are_added_searched_edited_and_removed(
    app: Flask,
    admin: FlaskClient,
    make_team: Callable[..., Team],
    make_user: Callable[..., User],
) -> None:
    assert "No customer accounts yet" in _text(admin.get("/admin/accounts"))
    team = make_team("Customer development", TeamKind.CUSTOMER_DEVELOPMENT)
    owner = make_user("rep", name="Olga Owner")
    response = _account(
        admin,
        name="Acme Widgets",
        domains="acme.com\nwww.Acme.de, https://acme.co.uk/about",
        crm_id="0017Q00001",
        owner_team_id=str(team.id),
        owner_id=str(owner.id),
    )
    assert response.status_code == 302
    _account(admin, name="Nordbank", domains="nordbank.example")
    page = _text(admin.get("/admin/accounts"))
    for fragment in ("Acme Widgets", "acme.co.uk", "acme.de", "0017Q00001", "Olga Owner"):
        assert fragment in page, fragment
    assert "Customer development" in page and "2 known customers" in page

    search = _text(admin.get("/admin/accounts?q=acme.de"))
    assert "Acme Widgets" in search and "Nordbank" not in search
    assert "No account matches “zzz”" in _text(admin.get("/admin/accounts?q=zzz"))

    taken = _text(_account(admin, name="Acme Copy", domains="sales.example, acme.com"), 422)
    assert "acme.com already belongs to Acme Widgets" in taken
    assert "Acme Copy" in taken  # the form keeps the input
    freemail = _text(_account(admin, name="Gmail", domains="gmail.com"), 422)
    assert "gmail.com is a free-mail provider" in freemail

    with app.app_context():
        acme_id = db.session().scalar(sa.select(Account.id).where(Account.name == "Acme Widgets"))
    form = _text(admin.get(f"/admin/accounts/{acme_id}"))
    assert "acme.co.uk\nacme.com\nacme.de" in form
    edited = admin.post(
        f"/admin/accounts/{acme_id}",
        data={"name": "Acme Group", "domains": "acme.com", "owner_team_id": "0", "owner_id": "0"},
    )
    assert "Acme Group is saved" in _text(admin.get(edited.location))
    page = _text(admin.get("/admin/accounts"))
    assert "Acme Group" in page and "acme.de" not in page and "Olga Owner" not in page

    removed = admin.post(f"/admin/accounts/{acme_id}/delete")
    assert "Acme Group is removed" in _text(admin.get(removed.location))
    assert "Acme Group" not in _text(admin.get("/admin/accounts"))


def test_accounts_paginate_past_fifty(app: Flask, admin: FlaskClient) -> None:
    with app.app_context():
        s = db.session()
        for n in range(52):
            customer_accounts.save_account(
                s, customer_accounts.AccountIn(name=f"Co {n:02d}", domains=[f"co{n}.example"])
            )
        s.commit()
    first = _text(admin.get("/admin/accounts"))
    assert "Co 49" in first and "Co 50" not in first and "Showing" in first
    second = _text(admin.get("/admin/accounts?page=2"))
    assert "Co 50" in second and "Co 51" in second and "Co 00" not in second


def test_accounts_sort_by_name_crm_id_and_team(
    app: Flask,
    admin: FlaskClient,
    make_team: Callable[..., Any],
    make_user: Callable[..., Any],
) -> None:
    teams = {name: make_team(name).id for name in ("Key accounts", "Growth", "Enterprise")}
    owners = {name: make_user("rep", name=name).id for name in ("Zoe", "Adam", "Mia")}
    accounts = (  # name, CRM id, owning team, owner
        ("Bravo", "C-3", "Key accounts", "Adam"),
        ("alpha", "C-9", "Growth", "Zoe"),
        ("Charlie", "C-1", "Enterprise", "Mia"),
    )
    with app.app_context():
        s = db.session()
        for name, crm, team, owner in accounts:
            data = customer_accounts.AccountIn(
                name=name,
                domains=[f"{name.lower()}.example"],
                crm_id=crm,
                owner_team_id=teams[team],
                owner_id=owners[owner],
            )
            customer_accounts.save_account(s, data)
        s.commit()

    def order(url: str) -> list[str]:
        page = admin.get(url).get_data(as_text=True)
        return re.findall(r'href="/admin/accounts/\d+">(\w+)</a>', page)

    assert order("/admin/accounts") == ["alpha", "Bravo", "Charlie"]  # by name, case ignored
    assert order("/admin/accounts?sort=name&dir=desc") == ["Charlie", "Bravo", "alpha"]
    assert order("/admin/accounts?sort=crm") == ["Charlie", "Bravo", "alpha"]
    assert order("/admin/accounts?sort=team") == ["Charlie", "alpha", "Bravo"]
    assert order("/admin/accounts?sort=team&dir=desc") == ["Bravo", "alpha", "Charlie"]
    assert order("/admin/accounts?sort=owner") == ["Bravo", "Charlie", "alpha"]


IMPORT_CSV = (
    "name,domains,owner_team,owner_email,crm_id\r\n"
    "'@Home Labs,athome.example,,,\r\n"
    "Acme Widgets,acme.com; acme.de,Customer development,owner@example.com,0017Q00001\r\n"
    "Nordbank,nordbank.example; nordbank.se,,,NB-1\r\n"
)


def test_csv_import_reports_each_row_and_export_gives_the_same_file(
    app: Flask,
    admin: FlaskClient,
    make_team: Callable[..., Team],
    make_user: Callable[..., User],
) -> None:
    make_team("Customer development", TeamKind.CUSTOMER_DEVELOPMENT)
    make_user("rep", email="owner@example.com", name="Olga Owner")
    with app.app_context():
        s = db.session()
        customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Nordbank", domains=["nordbank.example"])
        )
        s.commit()
    upload = IMPORT_CSV + "Freemail Inc,gmail.com,,,\r\nLost,lost.example,No such team,,\r\n"
    page = _text(
        admin.post(
            "/admin/accounts/import",
            data={"file": (io.BytesIO(upload.encode()), "accounts.csv")},
            content_type="multipart/form-data",
        )
    )
    report = page.split('id="report-title"', 1)[1].split('id="upload-title"', 1)[0]
    rows = re.findall(
        r'<td class="num">(\d+)</td>\s*<td>([^<]+)</td>\s*<td>\s*<span class="badge[^"]*">([^<]+)'
        r"</span>(?:\s*<span[^>]*>([^<]*)</span>)?",
        report,
    )
    assert rows == [
        ("2", "@Home Labs", "✓ Created", ""),
        ("3", "Acme Widgets", "✓ Created", ""),
        ("4", "Nordbank", "✓ Updated", ""),
        (
            "5",
            "Freemail Inc",
            "✗ Refused",
            "domains: gmail.com is a free-mail provider, not a company's domain",
        ),
        ("6", "Lost", "✗ Refused", "owner_team: no team is called “No such team”"),
    ]
    with app.app_context():
        s = db.session()
        names = s.scalars(sa.select(Account.name).order_by(Account.name)).all()
        assert names == ["@Home Labs", "Acme Widgets", "Nordbank"]

    export = admin.get("/admin/accounts.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    assert export.get_data().decode("utf-8-sig") == IMPORT_CSV

    again = _text(
        admin.post(
            "/admin/accounts/import",
            data={"file": (io.BytesIO(export.get_data()), "export.csv")},
            content_type="multipart/form-data",
        )
    )
    assert "✓ Updated" in again and "✓ Created" not in again and "Refused" in again
    assert admin.get("/admin/accounts.csv").get_data().decode("utf-8-sig") == IMPORT_CSV


def test_import_refuses_files_it_cannot_read(admin: FlaskClient) -> None:
    def upload(body: bytes) -> str:
        return _text(
            admin.post(
                "/admin/accounts/import",
                data={"file": (io.BytesIO(body), "accounts.csv")},
                content_type="multipart/form-data",
            ),
            422,
        )

    assert "with at least name and domains" in upload(b"company,website\r\nAcme,acme.com\r\n")
    assert "The file is empty." in upload(b"")
    assert "workbook" in upload(b"PK\x03\x04rest-of-a-zip")
    assert "Choose a CSV file to import." in _text(admin.post("/admin/accounts/import"), 422)


# --- outbox ------------------------------------------------------------------------------


@pytest.fixture
def dead_message(app: Flask) -> int:
    with app.app_context():
        s = db.session()
        lead = Lead(email="jane@acme.example", email_domain="acme.example", first_name="Jane")
        s.add(lead)
        s.flush()
        message = outbox.enqueue(s, lead, "lead.routed", utcnow())
        message.status = OutboxStatus.DEAD
        message.attempts = 8
        message.next_attempt_at = None
        message.last_error = "The CRM answered 502."
        s.commit()
        return message.id


def test_outbox_lists_a_dead_message_and_sends_it_again(
    app: Flask, admin: FlaskClient, dead_message: int
) -> None:
    page = _text(admin.get("/admin/outbox"))
    assert "lead.routed" in page and "The CRM answered 502." in page and "✗ Dead" in page
    assert re.search(r'href="/leads/\d+">Lead #\d+</a>', page)
    assert "Send again" in page
    words = re.sub(r"<[^>]+>", "", page)
    assert "messages wait until webhook_url is set under [crm] in config.toml" in words
    assert "Send again" not in _text(admin.get("/admin/outbox?status=pending"))

    sent = admin.post(f"/admin/outbox/{dead_message}/resend", data={"status": "dead"})
    assert sent.location.endswith("/admin/outbox?status=dead")
    assert "is pending again" in _text(admin.get(sent.location))
    pending = _text(admin.get("/admin/outbox?status=pending"))
    assert "lead.routed" in pending and "Pending" in pending and "Send again" not in pending
    with app.app_context():
        message = db.session().get(OutboxMessage, dead_message)
        assert message is not None
        assert (message.status, message.attempts, message.last_error) == (
            OutboxStatus.PENDING,
            0,
            "",
        )


def test_outbox_sending_a_delivered_message_again_is_refused(
    app: Flask, admin: FlaskClient, dead_message: int
) -> None:
    with app.app_context():
        s = db.session()
        message = s.get(OutboxMessage, dead_message)
        assert message is not None
        message.status = OutboxStatus.DELIVERED
        s.commit()
    refused = admin.post(f"/admin/outbox/{dead_message}/resend")
    assert "This message was delivered already." in _text(admin.get(refused.location))


def test_outbox_banner_when_the_crm_is_switched_off_and_turning_it_back_on(
    app: Flask, admin: FlaskClient
) -> None:
    config.override(app, crm_webhook_url="https://crm.example/hooks/leads")
    with app.app_context():
        s = db.session()
        target = outbox.destination(s)
        target.disabled_at = utcnow()
        target.disabled_reason = "https://crm.example/hooks/leads answered 410 Gone."
        s.commit()
    page = _text(admin.get("/admin/outbox"))
    assert "Sending to the CRM is switched off" in page
    assert "answered 410 Gone" in page and "Turn back on" in page
    assert "webhook_url is set" not in page
    assert "The outbox is empty" in page

    enabled = admin.post("/admin/outbox/enable")
    page = _text(admin.get(enabled.location))
    assert "The CRM destination is on again" in page
    assert "Sending to the CRM is switched off" not in page
    with app.app_context():
        target = db.session().scalar(sa.select(Destination))
        assert target is not None and target.disabled_at is None


def test_routing_admin_pages_are_for_admins_only(
    client_as: Callable[[str], FlaskClient], defaults: dict[str, int]
) -> None:
    rep = client_as("rep")
    for path in ("/admin/routing", "/admin/queues", "/admin/accounts", "/admin/outbox"):
        assert rep.get(path).status_code == 403, path
    admin = client_as("admin")
    assert 'href="/admin/routing"' in _text(admin.get("/admin/queues"))  # in the navigation


def test_the_rule_and_queue_pages_keep_the_limits_the_api_keeps(
    app: Flask,
    admin: FlaskClient,
    client: FlaskClient,
    defaults: dict[str, int],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    """One input model per shape: a rule name of 121 characters and a queue description of
    5,000 are judged alike on the page and through the API (the page once refused any
    description over 2,000 that the API took)."""
    queue_id = defaults["Digital sales"]
    token = make_token(make_user("admin", name="Api Admin"), "read", "routing:write")
    headers = {"Authorization": f"Bearer {token}"}
    long_name = "R" * 121
    page = admin.post(
        "/admin/routing/rules/new",
        data={"name": long_name, "queue_id": str(queue_id), "strategy": "", "enabled": "y"},
    )
    assert page.status_code == 422
    assert "at most 120 characters" in _text(page, 422)
    api = client.post(
        "/api/v1/routing/rules",
        json={"name": long_name, "queue_id": queue_id},
        headers=headers,
    )
    assert api.status_code == 422 and "name" in api.get_json()["fields"]

    description = "Leads from the website. " * 200  # 4,800 characters
    saved = admin.post(
        f"/admin/queues/{queue_id}",
        data={
            "name": "Digital sales",
            "strategy": "claim",
            "sla_minutes": "60",
            "timezone": "UTC",
            "description": description,
            "lead_user_id": "0",
        },
    )
    assert saved.status_code in (302, 303)
    api = client.get("/api/v1/routing/queues", headers=headers)
    queue = next(q for q in api.get_json()["items"] if q["id"] == queue_id)
    assert queue["description"] == description.strip()
