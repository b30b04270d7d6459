"""The quickstart's story after the signature, in a real browser on the demo programme: a rep
marks a lead converted, customer development finds the handover card on its queue page (on a
phone too), the seller celebrates, the company's next lead goes to customer development, and
Acme's contract ending in 60 days is one renewal card however often the job runs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from contentfeed import db, demo
from contentfeed.accounts.models import User
from contentfeed.customers import jobs
from contentfeed.customers.models import CardKind, CustomerCard
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.routing.models import Account, Queue
from tests.test_queue_ui import route
from tests.test_webhook import make_secret, post_signed


def _sign_in(browser: Any, live_server: str, who: str, width: int = 1280) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(demo.demo_email(who))
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/**")
    return page


def test_converting_a_demo_lead_hands_the_customer_over(
    app: Flask, live_server: str, browser: Any
) -> None:
    with app.app_context():
        s = db.session()
        demo.seed(s, base_url=live_server)
        s.commit()
        riley = s.scalars(sa.select(User).where(User.email == demo.demo_email("rep"))).one()
        # One of Riley's qualified leads that a seller's post brought.
        lead = s.scalars(
            sa.select(Lead)
            .join(Touch, Touch.lead_id == Lead.id)
            .where(
                Lead.assignee_id == riley.id,
                Lead.status == LeadStatus.QUALIFIED,
                Touch.seller_id.is_not(None),
            )
            .order_by(Lead.id)
            .limit(1)
        ).one()
        lead_id, company, domain = lead.id, lead.company, lead.email_domain
        seller = s.get(User, lead.touches[0].seller_id)
        assert seller is not None
        seller_login = seller.email.split("@")[0]
        assert s.scalar(sa.select(Account).where(Account.name == company)) is None

    page = _sign_in(browser, live_server, "rep")
    page.goto(f"{live_server}/leads/{lead_id}")
    page.get_by_role("button", name="Mark converted").click()
    page.wait_for_load_state()
    assert "Handed over to Customer development" in page.content()
    page.context.close()

    with app.app_context():
        s = db.session()
        account = s.scalars(sa.select(Account).where(Account.name == company)).one()
        assert account.domain_names == [domain] and account.customer_since is not None
        card = s.scalars(sa.select(CustomerCard).where(CustomerCard.lead_id == lead_id)).one()
        queue = s.get(Queue, card.queue_id)
        assert queue is not None and queue.name == "Customer development"

    # Customer development sees the card, on a laptop and on a phone.
    for width in (1280, 390):
        hana = _sign_in(browser, live_server, "rep3", width)
        hana.goto(f"{live_server}/queue")
        card_view = hana.locator(f"#card-{card.id}")
        assert company in card_view.inner_text()
        assert "Accept" in card_view.inner_text()
        overflow = hana.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, width
        hana.context.close()

    # The seller whose post brought the lead celebrates in their feed.
    feed = _sign_in(browser, live_server, seller_login)
    feed.goto(f"{live_server}/feed")
    assert f"Your post led to a new customer: {company}" in feed.locator(".notices").inner_text()
    feed.context.close()

    # The company's next lead goes to customer development.
    client = app.test_client()
    sent = post_signed(
        client,
        make_secret(app, "Website"),
        {"email": f"next.person@{domain}", "first_name": "Next", "consent": True},
    )
    assert sent.status_code == 202 and sent.json is not None
    route(app)
    with app.app_context():
        s = db.session()
        colleague = s.get(Lead, sent.json["lead_id"])
        assert colleague is not None and colleague.queue_id == card.queue_id

        # Acme's platform licence ends in 60 days: one renewal card, however often it runs.
        for _run in range(3):
            jobs.raise_renewals(s)
            s.commit()
        renewals = s.scalars(
            sa.select(CustomerCard).where(CustomerCard.kind == CardKind.RENEWAL)
        ).all()
        assert [(c.account.name, c.contract.name if c.contract else "") for c in renewals] == [
            ("Acme Widgets", "Platform licence")
        ]
