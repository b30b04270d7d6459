"""After the signature no hole opens: a converted lead's company becomes a customer account,
customer development gets a handover card at once, the seller celebrates, and the company's
next lead goes to customer development. Contracts coming up for renewal raise a card once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from contentfeed import config, db
from contentfeed.accounts.models import Role, User
from contentfeed.customers import cards, jobs
from contentfeed.customers.models import CardKind, CardStatus, Contract, CustomerCard
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead
from contentfeed.routing import customer_accounts, work
from contentfeed.routing.models import Account, Queue, SellerNotice
from tests.conftest import sign_in
from tests.test_queue_ui import _text, rep_in, route, seller_lead
from tests.test_webhook import make_secret, post_signed

__all__ = ["seller_lead"]


def _convert_on_the_page(app: Flask, rep: User, lead_id: int, note: str = "") -> Any:
    client = sign_in(app.test_client(), rep)
    assert client.post(f"/leads/{lead_id}/claim").status_code == 302
    client.post(f"/leads/{lead_id}/status", data={"status": "contacted"})
    if note:
        client.post(f"/leads/{lead_id}/notes", data={"text": note})
    client.post(f"/leads/{lead_id}/status", data={"status": "qualified"})
    done = client.post(f"/leads/{lead_id}/status", data={"status": "converted"})
    assert done.status_code == 302
    return client


def test_a_converted_lead_lands_in_customer_development_at_once(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    riley = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    carla = rep_in(app, make_user, "Customer development", name="Carla Care")
    route(app)
    lead_id = seller_lead["lead_id"]
    _convert_on_the_page(app, riley, lead_id, note="Wants SSO in the first week.")

    with app.app_context():
        s = db.session()
        [account] = s.scalars(sa.select(Account)).all()
        assert account.name == "Acme Widgets"
        assert account.domain_names == ["acme-widgets.example"]
        assert account.customer_since is not None
        [card] = s.scalars(sa.select(CustomerCard)).all()
        queue = s.get(Queue, card.queue_id)
        assert queue is not None and queue.name == "Customer development"
        assert card.kind is CardKind.HANDOVER and card.status is CardStatus.OPEN
        assert card.due_at is not None and card.signed_at is not None
        assert card.due_at - card.signed_at == timedelta(hours=24)  # [customers] SLA
        notices = {
            (n.user_id, n.kind, n.subject)
            for n in s.scalars(sa.select(SellerNotice).where(SellerNotice.kind != "lead"))
        }
        assert (
            seller_lead["seller"].id,
            "customer",
            "Your post led to a new customer: Acme Widgets",
        ) in notices
        assert (riley.id, "handover", "Acme Widgets is handed to customer development") in notices
        assert (carla.id, "handover", "New customer to take over: Acme Widgets") in notices

    # Customer development sees the card with everything it needs on its queue page.
    cd = sign_in(app.test_client(), carla)
    page = _text(cd.get("/queue"))
    assert "Customers to take by the hand · 1" in page
    assert "Acme Widgets" in page and "won by Riley Rep" in page
    assert "from Sam Seller's post · Zero-downtime migrations" in page
    assert "Wants SSO in the first week." in page

    # The seller celebrates in the feed.
    feed = _text(sign_in(app.test_client(), seller_lead["seller"]).get("/feed"))
    assert "Your post led to a new customer: Acme Widgets" in feed

    # The next lead from that company goes to customer development by the existing rule.
    secret = make_secret(app, "Site")
    client = app.test_client()
    sent = post_signed(
        client, secret, {"email": "max@acme-widgets.example", "first_name": "Max", "consent": True}
    )
    assert sent.status_code == 202 and sent.json is not None
    route(app)
    with app.app_context():
        s = db.session()
        colleague = s.get(Lead, sent.json["lead_id"])
        assert colleague is not None and colleague.queue_id == card.queue_id
        assert colleague.account_id == account.id


def test_accepting_a_handover_makes_the_rep_the_customers_owner(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    riley = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    carla = rep_in(app, make_user, "Customer development", name="Carla Care")
    dana = rep_in(app, make_user, "Customer development", name="Dana Dev")
    route(app)
    _convert_on_the_page(app, riley, seller_lead["lead_id"])
    with app.app_context():
        card_id = db.session().scalars(sa.select(CustomerCard.id)).one()

    # A rep outside the customer queue cannot see or take the card.
    outsider = sign_in(app.test_client(), riley)
    assert "Customers to take by the hand" not in _text(outsider.get("/queue"))
    assert outsider.post(f"/cards/{card_id}/accept").status_code == 404

    carla_client = sign_in(app.test_client(), carla)
    accepted = carla_client.post(f"/cards/{card_id}/accept", follow_redirects=True)
    assert "Acme Widgets is your customer now." in _text(accepted)
    dana_client = sign_in(app.test_client(), dana)
    late = dana_client.post(f"/cards/{card_id}/accept", follow_redirects=True)
    assert "Someone has this card already." in _text(late)
    with app.app_context():
        s = db.session()
        card = s.get(CustomerCard, card_id)
        assert card is not None and card.assignee_id == carla.id and card.accepted_at
        account = s.get(Account, card.account_id)
        assert account is not None and account.owner_id == carla.id

    # A wrong outcome is refused and changes nothing; the right one closes the card.
    wrong = carla_client.post(f"/cards/{card_id}/done", data={"outcome": "renewed"})
    assert wrong.status_code == 302
    assert "Pick how it ended." in _text(carla_client.get("/queue"))
    done = carla_client.post(
        f"/cards/{card_id}/done",
        data={"outcome": "onboarded", "note": "Kick-off held."},
        follow_redirects=True,
    )
    assert "Done: Acme Widgets." in _text(done)
    assert "Customers to take by the hand" not in _text(carla_client.get("/queue"))
    with app.app_context():
        card = db.session().get(CustomerCard, card_id)
        assert card is not None and card.status is CardStatus.DONE
        assert card.outcome == "onboarded" and card.note == "Kick-off held."


def test_the_api_twin_answers_as_the_page_does(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    riley = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    carla = rep_in(app, make_user, "Customer development", name="Carla Care")
    dana = rep_in(app, make_user, "Customer development", name="Dana Dev")
    route(app)
    _convert_on_the_page(app, riley, seller_lead["lead_id"], note="Budget approved.")
    api = app.test_client()
    carla_auth = {"Authorization": f"Bearer {make_token(carla, 'read', 'routing:write')}"}
    dana_auth = {"Authorization": f"Bearer {make_token(dana, 'read', 'routing:write')}"}
    riley_auth = {"Authorization": f"Bearer {make_token(riley, 'read', 'routing:write')}"}

    listed = api.get("/api/v1/cards", headers=carla_auth)
    assert listed.status_code == 200 and listed.json is not None
    [item] = listed.json["items"]
    assert item["kind"] == "handover" and item["account"]["name"] == "Acme Widgets"
    assert item["won_by"]["name"] == "Riley Rep" and item["seller"]["name"] == "Sam Seller"
    assert item["content_title"] == "Zero-downtime migrations"
    assert item["notes"] == ["Budget approved."] and item["domains"] == ["acme-widgets.example"]
    assert api.get("/api/v1/cards", headers=riley_auth).json == {"items": []}
    card = item["id"]
    assert api.post(f"/api/v1/cards/{card}/accept", headers=riley_auth).status_code == 404
    assert api.post(f"/api/v1/cards/{card}/accept", headers=carla_auth).status_code == 200
    taken = api.post(f"/api/v1/cards/{card}/accept", headers=dana_auth)
    assert taken.status_code == 409 and taken.json is not None
    assert taken.json["message"] == "Someone has this card already."
    for body in ({"outcome": "renewed"}, {"outcome": "x" * 5000}, {"outcome": "onboarded\x00"}):
        refused = api.post(f"/api/v1/cards/{card}/done", json=body, headers=carla_auth)
        assert refused.status_code == 422, body
    huge = api.post(f"/api/v1/cards/{10**30}/done", json={"outcome": "onboarded"})
    assert huge.status_code in (401, 404)
    done = api.post(f"/api/v1/cards/{card}/done", json={"outcome": "onboarded"}, headers=carla_auth)
    assert done.status_code == 200 and done.json is not None
    assert done.json["status"] == "done" and done.json["assignee"]["name"] == "Carla Care"


def test_a_conversion_is_handed_over_once_and_free_mail_keeps_the_company_name(
    app: Flask, make_user: Callable[..., User]
) -> None:
    admin = make_user(Role.ADMIN, name="Ada Admin")
    with app.app_context():
        s = db.session()
        settings = config.settings_of(app)
        lead = Lead(email="jo@gmail.com", email_domain="gmail.com", company="Kleinbetrieb GmbH")
        s.add(lead)
        s.flush()
        ada = s.get(User, admin.id)
        first = cards.hand_over_lead(s, lead, won_by=ada, settings=settings)
        again = cards.hand_over_lead(s, lead, won_by=ada, settings=settings)
        assert first is not None and again is None
        account = s.get(Account, first.account_id)
        assert account is not None
        assert account.name == "Kleinbetrieb GmbH" and account.domain_names == []
        # A second person of the same company (free mail too) joins the same account.
        other = Lead(email="kim@gmx.de", email_domain="gmx.de", company="kleinbetrieb gmbh")
        s.add(other)
        s.flush()
        second = cards.hand_over_lead(s, other, won_by=ada, settings=settings)
        assert second is not None and second.account_id == account.id
        s.commit()
        assert s.scalar(sa.select(sa.func.count()).select_from(Account)) == 1
        # An admin can still rename it without inventing a domain for it.
        renamed = customer_accounts.AccountIn(name="Kleinbetrieb Huber GmbH", domains=[])
        customer_accounts.save_account(s, renamed, account)
        s.commit()
        assert account.name == "Kleinbetrieb Huber GmbH" and account.domain_names == []


def test_a_contract_ending_within_the_window_raises_one_renewal_card(
    app: Flask, make_user: Callable[..., User]
) -> None:
    carla = rep_in(app, make_user, "Customer development", name="Carla Care")
    today = utcnow().date()
    with app.app_context():
        s = db.session()
        account = Account(name="Globex")
        s.add(account)
        s.flush()
        soon = Contract(account_id=account.id, name="Platform", ends_on=today + timedelta(60))
        later = Contract(account_id=account.id, name="Support", ends_on=today + timedelta(120))
        gone = Contract(
            account_id=account.id, name="Old", ends_on=today + timedelta(10), ended=True
        )
        s.add_all([soon, later, gone])
        s.commit()
        assert jobs.raise_renewals(s) == 1
        s.commit()
        assert jobs.raise_renewals(s) == 0  # the scheduler runs it again: still one card
        s.commit()
        [card] = s.scalars(sa.select(CustomerCard)).all()
        assert card.kind is CardKind.RENEWAL and card.contract_id == soon.id
        soon_id = soon.id

    page = _text(sign_in(app.test_client(), carla).get("/queue"))
    assert "Renewal" in page and "Globex" in page and "Platform" in page

    with app.app_context():
        s = db.session()
        contract = s.get(Contract, soon_id)
        assert contract is not None
        # Renewed for a year: this card is done; the new date raises its own card in time.
        cards.finish_renewal(s, contract, "renewed")
        contract.ends_on = contract.ends_on + timedelta(days=365)
        s.commit()
        assert jobs.raise_renewals(s) == 0
        later_run = utcnow() + timedelta(days=365)
        assert cards.raise_renewals(s, config.settings_of(app), later_run) == 1
        s.commit()
        keys = sorted(s.scalars(sa.select(CustomerCard.key)))
        assert keys == [
            f"renewal:{soon_id}:{(today + timedelta(60)).isoformat()}",
            f"renewal:{soon_id}:{(today + timedelta(425)).isoformat()}",
        ]


def test_the_seller_celebrates_in_their_own_language(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    riley = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    route(app)
    with app.app_context():
        s = db.session()
        seller = s.get(User, seller_lead["seller"].id)
        assert seller is not None
        seller.locale = "de"
        s.commit()
    _convert_on_the_page(app, riley, seller_lead["lead_id"])
    with app.app_context():
        notice = (
            db.session()
            .scalars(sa.select(SellerNotice).where(SellerNotice.kind == "customer"))
            .one()
        )
        assert notice.subject == "Ihr Beitrag hat einen neuen Kunden gebracht: Acme Widgets"


def test_work_marks_converted_through_the_handover(
    app: Flask, make_user: Callable[..., User]
) -> None:
    """The use case, not only the page: set_status(converted) makes the card."""
    admin = make_user(Role.ADMIN)
    with app.app_context():
        s = db.session()
        lead = Lead(email="a@initech.example", email_domain="initech.example", company="Initech")
        s.add(lead)
        s.flush()
        ada = s.get(User, admin.id)
        assert ada is not None
        for status in ("claimed", "contacted", "qualified", "converted"):
            work.set_status(s, ada, lead.id, work.LeadStatus(status))
        s.commit()
        card = s.scalars(sa.select(CustomerCard)).one()
        assert card.lead_id == lead.id and card.won_by_id == ada.id
        assert card.signed_at is not None and utcnow() - card.signed_at < timedelta(hours=1)
