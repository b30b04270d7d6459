"""Customer plans and the account page (issue #18, item 2): a customer development rep keeps a
customer's contracts, goals and next steps on the account page and through the API, with the
same refusals on both; the page shows the account's leads, cards and the content its people
engaged with; a rep outside customer development is told the account does not exist."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Content
from contentfeed.customers import engagement, plans
from contentfeed.customers.models import CardKind, CardStatus, Contract, CustomerCard, NextStep
from contentfeed.leads.models import InboundEvent, Lead
from contentfeed.routing import customer_accounts
from tests.conftest import PASSWORD, sign_in
from tests.test_api import bearer, check_against_spec
from tests.test_leads_ui import seller_lead
from tests.test_queue_ui import rep_in

__all__ = ["seller_lead"]


def _text(response: Any) -> str:
    """The page's words as a person reads them: tags removed, whitespace collapsed."""
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


def _account(app: Flask, name: str = "Acme Widgets", domain: str = "acme-widgets.example") -> int:
    with app.app_context():
        s = db.session()
        account = customer_accounts.save_account(
            s, customer_accounts.AccountIn(name=name, domains=[domain])
        )
        s.commit()
        return account.id


@pytest.fixture
def developer(app: Flask, make_user: Callable[..., User]) -> User:
    """A rep of the customer development queue."""
    return rep_in(app, make_user, "Customer development", name="Casey Developer")


def test_a_customer_development_rep_keeps_the_plan_on_the_account_page(
    app: Flask, developer: User, make_user: Callable[..., User]
) -> None:
    account_id = _account(app)
    helper = make_user(Role.REP, name="Hana Helper")
    client = sign_in(app.test_client(), developer)
    listing = _text(client.get("/customers"))
    assert "Acme Widgets" in listing and "acme-widgets.example" in listing
    page = f"/customers/{account_id}"

    # A German date is read as well as the date picker's ISO one.
    added = client.post(
        f"{page}/contracts",
        data={"contract-name": "Enterprise licence", "contract-ends_on": "31.12.2027"},
    )
    assert added.status_code == 302 and added.headers["Location"].endswith(f"{page}#contract")
    added = client.post(
        f"{page}/goals",
        data={"goal-product": "Managed backups", "goal-target_on": "2027-06-30"},
    )
    assert added.status_code == 302
    added = client.post(
        f"{page}/steps",
        data={
            "step-text": "Call about the backup trial",
            "step-owner_id": str(helper.id),
            "step-due_on": "15.01.2027",
        },
    )
    assert added.status_code == 302

    shown = _text(client.get(page))
    assert "Enterprise licence" in shown and "Dec 31, 2027" in shown
    assert "Managed backups" in shown and "Jun 30, 2027" in shown
    assert "Call about the backup trial" in shown and "Hana Helper" in shown
    listing = _text(client.get("/customers"))
    assert "Dec 31, 2027" in listing  # the next contract end

    with app.app_context():
        s = db.session()
        contract_id = s.scalars(sa.select(Contract.id)).one()
        step_id = s.scalars(sa.select(NextStep.id)).one()
    done = client.post(f"{page}/steps/{step_id}/done", follow_redirects=True)
    assert "The next step is done." in _text(done)
    ended = client.post(f"{page}/contracts/{contract_id}/end", follow_redirects=True)
    assert "Enterprise licence is marked ended." in _text(ended)
    edited = client.post(
        f"{page}/contracts/{contract_id}",
        data={
            f"contract-{contract_id}-name": "Enterprise licence 2",
            f"contract-{contract_id}-ends_on": "2028-03-31",
            f"contract-{contract_id}-crm_id": "C-77",
        },
        follow_redirects=True,
    )
    shown = _text(edited)
    assert "Enterprise licence 2" in shown and "Mar 31, 2028" in shown and "C-77" in shown
    with app.app_context():
        s = db.session()
        step = s.get(NextStep, step_id)
        assert step is not None and step.done_at is not None and step.due_on == date(2027, 1, 15)
    removed = client.post(f"{page}/contracts/{contract_id}/delete", follow_redirects=True)
    assert "Enterprise licence 2" not in _text(removed)


def test_a_rep_outside_customer_development_is_told_there_is_no_such_account(
    app: Flask,
    developer: User,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    account_id = _account(app)
    outsider = rep_in(app, make_user, "Digital sales")
    client = sign_in(app.test_client(), outsider)
    assert client.get(f"/customers/{account_id}").status_code == 404
    refused = client.post(
        f"/customers/{account_id}/contracts",
        data={"contract-name": "Sneaky", "contract-ends_on": "2027-01-01"},
    )
    assert refused.status_code == 404
    assert "Acme Widgets" not in _text(client.get("/customers"))
    token = make_token(outsider, "read", "routing:write")
    assert client.get(f"/api/v1/customers/{account_id}", headers=bearer(token)).status_code == 404
    answer = client.post(
        f"/api/v1/customers/{account_id}/goals",
        json={"product": "Sneaky"},
        headers=bearer(token),
    )
    assert answer.status_code == 404 and answer.json is not None
    assert answer.json["error"] == "not_found"
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Contract)) == 0

    # The account's owner works its plan without being in the queue.
    with app.app_context():
        s = db.session()
        account = customer_accounts.get_account(s, account_id)
        account.owner_id = outsider.id
        s.commit()
    assert client.get(f"/customers/{account_id}").status_code == 200
    assert "Acme Widgets" in _text(client.get("/customers"))
    # A seller has no customer pages at all.
    seller = sign_in(app.test_client(), make_user(Role.SELLER))
    assert seller.get("/customers").status_code == 403


@pytest.mark.parametrize(
    ("kind", "form", "body", "field", "words"),
    [
        ("contracts", {"name": "Licence", "ends_on": "31.02.2027"}, None, "ends_on", "not a date"),
        ("contracts", {"name": "Licence", "ends_on": "1999-12-31"}, None, "ends_on", "2000"),
        ("contracts", {"name": "Licence", "ends_on": "99999-01-01"}, None, "ends_on", "not a date"),
        ("contracts", {"name": "Li\x00cence", "ends_on": "2027-01-01"}, None, "name", "NUL"),
        ("contracts", {"name": " ", "ends_on": "2027-01-01"}, None, "name", "required"),
        ("goals", {"product": "x" * 201}, None, "product", "at most 200"),
        ("goals", {"product": "Backups", "status": "maybe"}, None, "status", "'won'"),
        (
            "steps",
            {"text": "Call", "owner_id": "99999999999999999999"},
            {"text": "Call", "owner_id": 99999999999999999999},
            "owner_id",
            "2147483647",
        ),
        ("steps", {"text": "Call", "owner_id": "999999"}, None, "owner_id", "active user"),
    ],
)
def test_bad_input_is_refused_with_the_same_words_on_the_page_and_in_the_api(
    app: Flask,
    developer: User,
    make_token: Callable[..., str],
    kind: str,
    form: dict[str, str],
    body: dict[str, Any] | None,
    field: str,
    words: str,
) -> None:
    account_id = _account(app)
    client = sign_in(app.test_client(), developer)
    prefix = kind.rstrip("s")
    page = client.post(
        f"/customers/{account_id}/{kind}", data={f"{prefix}-{k}": v for k, v in form.items()}
    )
    assert page.status_code == 422
    shown = _text(page)
    token = make_token(developer, "read", "routing:write")
    answer = client.post(
        f"/api/v1/customers/{account_id}/{kind}", json=body or form, headers=bearer(token)
    )
    assert answer.status_code == 422 and answer.json is not None
    assert answer.json["error"] == "validation_failed"
    problem = answer.json["fields"][field]
    assert words in problem
    assert (problem[:1].upper() + problem[1:]) in shown, (problem, shown[-2000:])
    with app.app_context():
        s = db.session()
        for table in (Contract, NextStep):
            assert s.scalar(sa.select(sa.func.count()).select_from(table)) == 0


def test_the_api_keeps_the_plan_as_documented(
    app: Flask, client: FlaskClient, developer: User, make_token: Callable[..., str]
) -> None:
    account_id = _account(app)
    other_id = _account(app, "Nordbank", "nordbank.example")
    headers = bearer(make_token(developer, "read", "routing:write"))
    spec = client.get("/api/v1/openapi.json").get_json()
    base = f"/api/v1/customers/{account_id}"

    created = client.post(
        f"{base}/contracts", json={"name": "Support", "ends_on": "2027-03-31"}, headers=headers
    )
    assert created.status_code == 201, created.json
    check_against_spec(spec, "/api/v1/customers/{account_id}/contracts", "post", 201, created.json)
    contract_id = created.json["id"]
    changed = client.patch(f"{base}/contracts/{contract_id}", json={"ended": True}, headers=headers)
    assert changed.status_code == 200 and changed.json["ended"] is True
    assert changed.json["name"] == "Support"  # what was not given stays
    goal = client.post(f"{base}/goals", json={"product": "Backups"}, headers=headers)
    assert goal.status_code == 201 and goal.json["status"] == "open"
    won = client.patch(f"{base}/goals/{goal.json['id']}", json={"status": "won"}, headers=headers)
    assert won.status_code == 200 and won.json["status"] == "won"
    step = client.post(f"{base}/steps", json={"text": "Kick-off call"}, headers=headers)
    assert step.status_code == 201
    assert step.json["owner"]["name"] == "Casey Developer"  # the caller, when left out
    finished = client.patch(f"{base}/steps/{step.json['id']}", json={"done": True}, headers=headers)
    assert finished.json["done_at"] is not None

    one = client.get(base, headers=headers)
    assert one.status_code == 200
    check_against_spec(spec, "/api/v1/customers/{account_id}", "get", 200, one.json)
    assert [c["name"] for c in one.json["contracts"]] == ["Support"]
    assert one.json["next_contract_end"] is None  # the only contract ended
    listing = client.get("/api/v1/customers?q=acme", headers=headers)
    check_against_spec(spec, "/api/v1/customers", "get", 200, listing.json)
    assert [c["name"] for c in listing.json["items"]] == ["Acme Widgets"]

    # An item is reached through its own account only.
    wrong = client.patch(
        f"/api/v1/customers/{other_id}/contracts/{contract_id}",
        json={"name": "Moved"},
        headers=headers,
    )
    assert wrong.status_code == 404
    gone = client.delete(f"{base}/steps/{step.json['id']}", headers=headers)
    assert gone.status_code == 204
    assert client.get(base, headers=headers).json["steps"] == []
    assert client.delete(f"{base}/contracts/{contract_id}", headers=headers).status_code == 204
    read_only = bearer(make_token(developer, "read"))
    assert client.post(f"{base}/goals", json={"product": "x"}, headers=read_only).status_code == 403


def test_the_account_page_shows_its_leads_cards_and_engaged_content(
    app: Flask, seller_lead: dict[str, Any], developer: User
) -> None:
    account_id = _account(app)  # Jane Doe of the fixture writes from acme-widgets.example
    with app.app_context():
        s = db.session()
        s.add(
            CustomerCard(
                key=f"handover:account:{account_id}:test",
                kind=CardKind.HANDOVER,
                status=CardStatus.OPEN,
                account_id=account_id,
                won_by_id=developer.id,
            )
        )
        # A colleague of Jane's downloaded the same item through its gated form.
        item_id = s.scalars(sa.select(Content.id)).one()
        colleague = Lead(email="ops@acme-widgets.example", email_domain="acme-widgets.example")
        s.add(colleague)
        s.flush()
        s.add(
            InboundEvent(
                source=f"gated:{item_id}", external_id="g-1", body="{}", lead_id=colleague.id
            )
        )
        s.commit()
        engaged = engagement.engagement_for(s, account_id)
    assert [(e.title, e.people, e.clicks, e.downloads, e.sellers) for e in engaged] == [
        ("Zero-downtime migrations", 2, 1, 1, ["Sam Seller"])
    ]
    assert engaged[0].last_engaged is not None

    client = sign_in(app.test_client(), developer)
    page = client.get(f"/customers/{account_id}")
    assert page.status_code == 200
    shown = _text(page)
    assert "Jane Doe" in shown and "li.wei" not in shown.lower()  # nordbank is not Acme's
    assert "Zero-downtime migrations" in shown and "Sam Seller" in shown
    assert "Handover" in shown and "won by Casey Developer" in shown
    body = page.get_data(as_text=True)
    assert re.search(r'href="/leads/\d+"', body)
    listing = client.get("/customers").get_data(as_text=True)
    assert '<span class="badge badge-warning">1</span>' in listing  # one open card


def test_the_account_page_speaks_german(app: Flask, developer: User) -> None:
    account_id = _account(app)
    client = sign_in(app.test_client(), developer)
    german = {"Accept-Language": "de"}
    shown = _text(client.get(f"/customers/{account_id}", headers=german))
    assert "Verträge" in shown and "Ziele" in shown and "Nächste Schritte" in shown
    refused = client.post(
        f"/customers/{account_id}/contracts",
        data={"contract-name": "Lizenz", "contract-ends_on": "32.13.2027"},
        headers=german,
    )
    assert refused.status_code == 422
    assert "Kein Datum: schreiben Sie es als 31.12.2026" in _text(refused)
    assert "Kunden" in _text(client.get("/customers", headers=german))


def test_the_account_page_fits_a_phone_in_german_and_passes_axe(
    app: Flask,
    seller_lead: dict[str, Any],
    developer: User,
    live_server: str,
    browser: Any,
    tmp_path: Path,
) -> None:
    """At 390 px, in German, with a long word in every kind of plan item: nothing scrolls
    sideways, the tables stack, and axe-core finds no accessibility problem."""
    from axe_playwright_python.sync_playwright import Axe

    account_id = _account(app)
    long_word = "Rahmenvertragsverlängerungsvereinbarung" * 5
    with app.app_context():
        s = db.session()
        actor = s.get(User, developer.id)
        assert actor is not None
        plans.add_contract(
            s, actor, account_id, plans.ContractIn(name=long_word, ends_on=date(2027, 3, 31))
        )
        plans.add_goal(s, actor, account_id, plans.GoalIn(product=long_word))
        plans.add_step(s, actor, account_id, plans.StepIn(text=f"Anrufen: {long_word}"))
        s.commit()
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", developer.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("button[type=submit]").last.click()
    for path in ("/customers", f"/customers/{account_id}"):
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, path
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390, path
        violations = Axe().run(page).response["violations"]
        assert [v["id"] for v in violations] == [], (path, violations)
    text = page.inner_text("main")
    assert "Verträge" in text and "Zero-downtime migrations" in text
    page.screenshot(path=str(tmp_path / "account-390.png"), full_page=True)
    context.close()
