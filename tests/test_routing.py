"""Lead routing: the default split, every rule condition, the trace, fair assignment,
capacity, dedupe, claiming (twenty reps at once on PostgreSQL), the SLA, business hours and
the notices sellers and queue leads get."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from contentfeed import config, db
from contentfeed.accounts.models import Role, Team, User
from contentfeed.api import validate
from contentfeed.content.models import Content
from contentfeed.db import Base, utcnow
from contentfeed.errors import Conflict, Forbidden, Invalid, NotFound
from contentfeed.leads import attribution
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links.models import TrackedLink
from contentfeed.routing import (
    calendar,
    customer_accounts,
    domains,
    jobs,
    lead_history,
    outbox,
    queue_setup,
    rule_conditions,
    rulebook,
    service,
    work,
)
from contentfeed.routing.models import (
    LeadActivity,
    Queue,
    RoutingRule,
    SellerNotice,
    Strategy,
)
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion
from tests import test_notifications
from tests.conftest import make_test_app

SETTINGS = service.RoutingSettings()
BERLIN = ZoneInfo("Europe/Berlin")
UserFactory = Callable[..., User]
ContentFactory = Callable[..., Content]

smtp_server = test_notifications.smtp_server  # a real SMTP server (aiosmtpd) per test


# --- helpers -----------------------------------------------------------------------------


def new_lead(s: Session, email: str, *, at: datetime | None = None, **fields: Any) -> Lead:
    """Store a lead the way the webhook does: not routed yet."""
    lead = Lead(
        email=email,
        email_domain=email.rpartition("@")[2].strip().lower(),
        submitted_at=at or utcnow(),
        **fields,
    )
    s.add(lead)
    s.flush()
    return lead


def route(s: Session, now: datetime | None = None) -> service.RouteResult:
    return service.route_pending(s, SETTINGS, now)


def make_queue(s: Session, name: str, strategy: Strategy = Strategy.CLAIM, **fields: Any) -> Queue:
    """Save a queue as the page and the API do: the input checked, then the use case."""
    data = validate(queue_setup.QueueIn, {"name": name, "strategy": strategy, **fields})
    return queue_setup.save_queue(s, data)


def add_rule(s: Session, name: str, queue: Queue, **conditions: Any) -> RoutingRule:
    return rulebook.save_rule(
        s, rulebook.RuleIn(name=name, queue_id=queue.id, conditions=conditions)
    )


def queue_name(s: Session, lead: Lead) -> str:
    queue = s.get(Queue, lead.queue_id) if lead.queue_id else None
    return queue.name if queue else ""


def kinds(s: Session, lead_id: int) -> list[str]:
    return [entry.kind for entry in lead_history.history(s, lead_id)]


def link_code(app: Flask, seller: User) -> str:
    """Suggest a post to a seller and return the code of its tracked link."""
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
        code = s.scalar(
            sa.select(TrackedLink.code)
            .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
            .where(Suggestion.seller_id == seller.id)
        )
        assert code is not None
        return code


def attributed_lead(s: Session, email: str, code: str, **fields: Any) -> Lead:
    """A lead whose form carried a seller's tracked-link code in utm_content."""
    lead = new_lead(s, email, **fields)
    touches = attribution.attribute(
        s, lead, {"utm_content": code}, lookback_days=90, now=lead.submitted_at
    )
    assert touches, "the code should attribute the lead"
    return lead


def at_berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


# --- the default split and accounts ------------------------------------------------------


def test_known_customers_go_to_customer_development_and_everyone_else_to_digital_sales(
    app: Flask,
) -> None:
    now = utcnow()
    with app.app_context():
        s = db.session()
        service.ensure_defaults(s, SETTINGS)
        acme = customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Acme", domains=["https://www.Acme.com/about"])
        )
        assert acme.domain_names == ["acme.com"]
        # An admin cannot make a free-mail provider a customer's domain.
        with pytest.raises(Invalid) as refused:
            customer_accounts.save_account(
                s, customer_accounts.AccountIn(name="Acme", domains=["acme.com", "gmail.com"]), acme
            )
        assert "gmail.com is a free-mail provider" in refused.value.fields["domains"]
        assert acme.domain_names == ["acme.com"]
        jane = new_lead(s, "jane@acme.com")
        bob = new_lead(s, "Bob@EU.Sales.Acme.com")
        other = new_lead(s, "x@other.example")
        someone = new_lead(s, "someone@gmail.com")
        assert route(s, now) == service.RouteResult(routed=4, merged=0)
        s.commit()
        assert {lead.email: queue_name(s, lead) for lead in (jane, bob, other, someone)} == {
            "jane@acme.com": "Customer development",
            "bob@eu.sales.acme.com": "Customer development",
            "x@other.example": "Digital sales",
            "someone@gmail.com": "Digital sales",
        }
        assert jane.account_id == bob.account_id == acme.id
        assert other.account_id is None and someone.account_id is None
        # Each queue's SLA comes from the settings: 4 hours for customers, 1 hour otherwise.
        assert jane.due_at == now + timedelta(minutes=SETTINGS.customer_sla_minutes)
        assert other.due_at == now + timedelta(minutes=SETTINGS.default_sla_minutes)
        assert all(lead.status is LeadStatus.NEW for lead in (jane, bob, other, someone))


def test_a_free_mail_or_taken_domain_cannot_be_given_to_an_account(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Acme", domains=["acme.com"])
        )
        for domains_given, message in [
            (["googlemail.com"], "googlemail.com is a free-mail provider"),
            (["mail.gmx.de"], "mail.gmx.de is a free-mail provider"),
            (["ACME.com"], "acme.com already belongs to Acme"),
            (["not a domain"], "'not a domain' is not a domain"),
            ([], "give at least one domain"),
        ]:
            with pytest.raises(Invalid) as refused:
                customer_accounts.check_account(
                    s, customer_accounts.AccountIn(name="Other", domains=domains_given)
                )
            assert message in refused.value.fields["domains"]


def test_an_account_listing_a_subdomain_matches_that_subdomain_only(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        service.ensure_defaults(s, SETTINGS)
        sales = customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Acme Sales", domains=["sales.acme.com"])
        )
        leads = {
            email: new_lead(s, email)
            for email in (
                "ann@sales.acme.com",
                "bob@eu.sales.acme.com",
                "cat@acme.com",
                "dan@support.acme.com",
            )
        }
        route(s)
        assert {email: lead.account_id for email, lead in leads.items()} == {
            "ann@sales.acme.com": sales.id,
            "bob@eu.sales.acme.com": sales.id,
            "cat@acme.com": None,
            "dan@support.acme.com": None,
        }
        assert queue_name(s, leads["cat@acme.com"]) == "Digital sales"


def test_the_most_specific_account_wins(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        group = customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Acme Group", domains=["acme.com"])
        )
        sales = customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Acme Sales", domains=["sales.acme.com"])
        )
        assert customer_accounts.account_for_domain(s, "eu.sales.acme.com") is sales
        assert customer_accounts.account_for_domain(s, "support.acme.com") is group
        assert customer_accounts.account_for_domain(s, "acme.com.evil.example") is None


def test_the_big_free_mail_providers_are_known() -> None:
    for domain in (
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "icloud.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "proton.me",
        "protonmail.com",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
    ):
        assert domains.is_freemail(domain), domain
    assert domains.is_freemail("Mail.GMX.de")  # a subdomain of a provider is free mail too
    assert not domains.is_freemail("acme.com")
    assert domains.company_domain("mail.eu.acme.co.uk") == "acme.co.uk"


# --- rules -------------------------------------------------------------------------------


def test_each_rule_condition_routes_to_its_queue(
    app: Flask,
    make_user: UserFactory,
    make_team: Callable[..., Team],
    make_content: ContentFactory,
) -> None:
    partners = make_team(name="Partners")
    make_content(title="Zero-downtime migrations")
    sam = make_user(Role.SELLER, name="Sam Seller", team_id=partners.id)
    code = link_code(app, sam)
    now = utcnow()
    with app.app_context():
        s = db.session()
        customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Acme", domains=["acme.com"])
        )
        rules: list[tuple[str, dict[str, Any]]] = [
            ("Customers", {"customer": True}),
            ("Free mail", {"free_mail": True}),
            ("Partner sellers", {"seller_team_ids": [partners.id]}),
            ("France", {"countries": ["fr"]}),
            ("Nordics", {"regions": ["Nordics"]}),
            ("Banks", {"companies": ["bank"]}),
            ("Executives", {"title_keywords": ["chief", "vice president"]}),
            ("Hot", {"min_score": 60}),
            ("Cold", {"max_score": 20}),
        ]
        for name, conditions in rules:
            add_rule(s, name, make_queue(s, f"{name} queue"), **conditions)
        leads = {
            "Customers": new_lead(s, "ann@acme.com", country="FR"),
            "Free mail": new_lead(s, "bob@gmail.com", country="FR"),
            "Partner sellers": attributed_lead(s, "cat@zeta.example", code, country="FR"),
            "France": new_lead(s, "dan@gamma.example", country="FR"),
            "Nordics": new_lead(s, "eva@delta.example", country="SE"),
            "Banks": new_lead(s, "fay@eps.example", company="First National Bank"),
            "Executives": new_lead(s, "gus@eta.example", job_title="Vice President Sales"),
            "Hot": new_lead(
                s,
                "hal@theta.example",
                company="Globex",
                job_title="Director",
                phone="+49 30 1234",
                consent=True,
            ),
            "Cold": new_lead(s, "ivy@iota.example"),
            "nothing": new_lead(s, "jon@kappa.example", company="Initech"),
        }
        route(s, now)
        s.commit()
        assert {rule: queue_name(s, lead) for rule, lead in leads.items()} == {
            **{name: f"{name} queue" for name, _ in rules},
            "nothing": "Digital sales",  # no rule matched: the default queue
        }
        assert leads["Hot"].score == 75 and leads["Cold"].score == 20
        assert leads["nothing"].routing_trace["queue"]["why"] == (
            "no rule matched: the default queue"
        )


def test_rule_order_decides_and_a_switched_off_rule_is_skipped(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        germany = add_rule(s, "Germany", make_queue(s, "DACH desk"), countries=["DE"])
        seniors = add_rule(
            s, "Seniors", make_queue(s, "Executive desk"), title_keywords=["director"]
        )
        first = new_lead(s, "ann@alpha.example", country="DE", job_title="Sales Director")
        route(s)
        assert queue_name(s, first) == "DACH desk"  # both match: the first wins

        rulebook.move_rule(s, seniors.id, -1)
        second = new_lead(s, "bob@beta.example", country="DE", job_title="Sales Director")
        route(s)
        assert queue_name(s, second) == "Executive desk"

        rulebook.save_rule(
            s,
            rulebook.RuleIn(
                name="Seniors",
                queue_id=seniors.queue_id,
                conditions=seniors.conditions,
                enabled=False,
            ),
            seniors,
        )
        third = new_lead(s, "cat@gamma.example", country="DE", job_title="Sales Director")
        route(s)
        assert queue_name(s, third) == "DACH desk"
        tried = third.routing_trace["rules"]
        assert [(t["name"], t["matched"], t["why"]) for t in tried] == [
            ("Seniors", False, "switched off"),
            ("Germany", True, "all conditions hold"),
        ]
        assert [rule.id for rule in rulebook.list_rules(s)] == [seniors.id, germany.id]


def test_bad_conditions_are_refused_naming_each_field(app: Flask) -> None:
    with pytest.raises(Invalid) as refused:
        rule_conditions.check_conditions(
            {
                "colour": "red",
                "customer": "yes",
                "countries": ["Germany"],
                "regions": ["Atlantis"],
                "companies": 42,
                "min_score": 150,
                "seller_team_ids": ["partners"],
            }
        )
    fields = refused.value.fields
    assert set(fields) == {
        "colour",
        "customer",
        "countries",
        "regions",
        "companies",
        "min_score",
        "seller_team_ids",
    }
    assert "unknown condition" in fields["colour"]
    assert "'GERMANY'" in fields["countries"]
    assert "'Atlantis'" in fields["regions"]
    assert fields["min_score"] == "a whole number from 0 to 100"
    with pytest.raises(Invalid) as refused:
        rule_conditions.check_conditions({"min_score": 50, "max_score": 10})
    assert set(refused.value.fields) == {"max_score"}
    with pytest.raises(Invalid) as refused:  # two letters, but no country: never matches
        rule_conditions.check_conditions({"countries": "de, uk"})
    assert "'UK'" in refused.value.fields["countries"]
    assert "GB" in refused.value.fields["countries"]
    assert rule_conditions.check_conditions({"countries": "fr, de", "customer": False}) == {
        "countries": ["DE", "FR"],
        "customer": False,
    }
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Somewhere")
        with pytest.raises(Invalid):
            add_rule(s, "Broken", queue, colour="red")
        assert rulebook.list_rules(s) == []


# --- the trace ---------------------------------------------------------------------------


def test_the_trace_says_why_each_rule_held_or_not_and_who_got_the_lead(
    app: Flask, make_user: UserFactory
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    ben = make_user(Role.REP, name="Ben Rep")
    with app.app_context():
        s = db.session()
        service.ensure_defaults(s, SETTINGS)
        customer_accounts.save_account(
            s, customer_accounts.AccountIn(name="Acme", domains=["acme.com"])
        )
        sales = queue_setup.queue_by_name(s, "Digital sales")
        assert sales is not None
        queue_setup.save_queue(
            s, queue_setup.QueueIn(name="Digital sales", strategy=Strategy.ROUND_ROBIN), sales
        )
        queue_setup.set_member(s, sales, ann.id)
        queue_setup.set_member(s, sales, ben.id, queue_setup.MemberIn(available=False))
        lead = new_lead(s, "Jane@Acme-Widgets.example", company="Acme Widgets")
        route(s)
        s.commit()
        trace = lead.routing_trace
        assert trace["facts"]["company_domain"] == "acme-widgets.example"
        assert trace["facts"]["account_id"] is None
        not_customer = {
            "why_text": "%(domain)s is not a customer domain",
            "why_args": {"domain": "acme-widgets.example"},
        }
        assert trace["rules"] == [
            {
                "rule_id": trace["rules"][0]["rule_id"],
                "name": "Known customers",
                "matched": False,
                "why": "not matched: acme-widgets.example is not a customer domain",
                # The text and its values too, so each reader gets it in their language
                "why_text": "not matched: %(reasons)s",
                "why_args": {"reasons": [not_customer]},
                "checks": [
                    {
                        "condition": "customer",
                        "ok": False,
                        "why": "acme-widgets.example is not a customer domain",
                        **not_customer,
                    }
                ],
            },
            {
                "rule_id": trace["rules"][1]["rule_id"],
                "name": "Everyone else",
                "matched": True,
                "why": "no conditions: matches every lead",
                "why_text": "no conditions: matches every lead",
                "why_args": {},
                "checks": [],
            },
        ]
        assert trace["queue"]["name"] == "Digital sales"
        assert trace["queue"]["why"] == "rule 'Everyone else' matched"
        assignment = trace["assignment"]
        assert assignment["strategy"] == "round_robin"
        assert [(r["name"], r["eligible"], r["why"]) for r in assignment["reps"]] == [
            ("Ann Rep", True, "0 assigned so far, weight 1"),
            ("Ben Rep", False, "unavailable"),
        ]
        assert assignment["picked"] == ann.id
        assert assignment["why"] == "Ann Rep is next in turn"
        assert lead.assignee_id == ann.id and lead.status is LeadStatus.CLAIMED
        [routed] = [a for a in lead_history.history(s, lead.id) if a.kind == "routed"]
        assert routed.text == (
            "Routed to Digital sales: rule 'Everyone else' matched. Assigned to Ann Rep."
        )

        customer = new_lead(s, "joe@acme.com")
        route(s)
        [check] = customer.routing_trace["rules"][0]["checks"]
        assert check == {
            "condition": "customer",
            "ok": True,
            "why": "acme.com belongs to customer Acme",
            "why_text": "%(domain)s belongs to customer %(account)s",
            "why_args": {"domain": "acme.com", "account": "Acme"},
        }


# --- fair assignment ---------------------------------------------------------------------


def assignment_sequence(
    app: Flask, make_user: UserFactory, strategy: Strategy, weights: list[int], leads: int
) -> list[int]:
    """Route ``leads`` leads to a queue of reps with these weights; return who got each."""
    reps = [make_user(Role.REP) for _ in weights]
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Inbound", strategy)
        for rep, weight in zip(reps, weights, strict=True):
            queue_setup.set_member(s, queue, rep.id, queue_setup.MemberIn(weight=weight))
        add_rule(s, "Everyone", queue)
        start = utcnow()
        for n in range(leads):
            new_lead(s, f"person{n}@company{n}.example", at=start + timedelta(seconds=n))
        assert route(s, start + timedelta(minutes=5)).routed == leads
        s.commit()
        position = {rep.id: i for i, rep in enumerate(reps)}
        return [
            position[assignee]
            for assignee in s.scalars(sa.select(Lead.assignee_id).order_by(Lead.id))
            if assignee is not None
        ]


def wipe(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(table.delete())
        s.commit()


def within_one_of_the_share(sequence: list[int], weights: list[int]) -> None:
    """After every lead, each rep's count is within one of their share so far."""
    counts = [0] * len(weights)
    for n, rep in enumerate(sequence, start=1):
        counts[rep] += 1
        for i, weight in enumerate(weights):
            share = n * weight / sum(weights)
            assert abs(counts[i] - share) <= 1, (n, counts)


def test_weighted_assignment_follows_the_weights_and_repeats_exactly(
    app: Flask, make_user: UserFactory
) -> None:
    weights = [1, 2, 3]
    first = assignment_sequence(app, make_user, Strategy.WEIGHTED, weights, 60)
    assert len(first) == 60
    assert Counter(first) == {0: 10, 1: 20, 2: 30}
    within_one_of_the_share(first, weights)
    wipe(app)  # a fresh database: the same leads go to the same reps in the same order
    assert assignment_sequence(app, make_user, Strategy.WEIGHTED, weights, 60) == first


def test_round_robin_takes_turns_and_repeats_exactly(app: Flask, make_user: UserFactory) -> None:
    first = assignment_sequence(app, make_user, Strategy.ROUND_ROBIN, [1, 1, 1], 61)
    assert Counter(first) == {0: 21, 1: 20, 2: 20}
    within_one_of_the_share(first, [1, 1, 1])
    assert first[:6] == [0, 1, 2, 0, 1, 2]
    wipe(app)
    assert assignment_sequence(app, make_user, Strategy.ROUND_ROBIN, [1, 1, 1], 61) == first


def test_unavailable_reps_and_reps_at_capacity_are_skipped(
    app: Flask, make_user: UserFactory
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    ben = make_user(Role.REP, name="Ben Rep")
    cat = make_user(Role.REP, name="Cat Rep")
    now = utcnow()
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Inbound", Strategy.ROUND_ROBIN)
        queue_setup.set_member(s, queue, ann.id, queue_setup.MemberIn(capacity=2))
        queue_setup.set_member(s, queue, ben.id, queue_setup.MemberIn(available=False))
        queue_setup.set_member(s, queue, cat.id, queue_setup.MemberIn(capacity=1))
        add_rule(s, "Everyone", queue)
        leads = [new_lead(s, f"p{n}@c{n}.example") for n in range(4)]
        route(s, now)
        s.commit()
        assert [lead.assignee_id for lead in leads] == [ann.id, cat.id, ann.id, None]
        waiting = leads[3]
        assert waiting.status is LeadStatus.NEW  # nobody can take it: it waits to be claimed
        assignment = waiting.routing_trace["assignment"]
        assert "picked" not in assignment
        assert assignment["why"] == (
            "no rep can take it now; it waits in the queue for anyone to claim"
        )
        assert [(r["name"], r["why"]) for r in assignment["reps"]] == [
            ("Ann Rep", "at capacity (2 of 2 open)"),
            ("Ben Rep", "unavailable"),
            ("Cat Rep", "at capacity (1 of 1 open)"),
        ]

        # A contacted lead still counts against the capacity; a closed one does not.
        rep_ann = s.get(User, ann.id)
        assert rep_ann is not None
        work.set_status(s, rep_ann, leads[0].id, LeadStatus.CONTACTED, now=now)
        more = new_lead(s, "p5@c5.example")
        route(s, now)
        assert more.assignee_id is None
        work.set_status(s, rep_ann, leads[0].id, LeadStatus.DISQUALIFIED, reason="student", now=now)
        last = new_lead(s, "p6@c6.example")
        route(s, now)
        assert last.assignee_id == ann.id


# --- dedupe ------------------------------------------------------------------------------


def test_a_returning_person_is_added_to_their_open_lead(
    app: Flask, make_user: UserFactory, make_content: ContentFactory
) -> None:
    make_content(title="Zero-downtime migrations")
    sam = make_user(Role.SELLER, name="Sam Seller")
    sue = make_user(Role.SELLER, name="Sue Seller")
    sam_code, sue_code = link_code(app, sam), link_code(app, sue)
    rep = make_user(Role.ADMIN, name="Ada Admin")
    with app.app_context():
        s = db.session()
        first = attributed_lead(s, "jane@acme.example", sam_code, first_name="Jane")
        route(s, utcnow())
        s.commit()
        second = attributed_lead(s, "JANE@Acme.Example", sue_code, first_name="Jane")
        assert route(s, utcnow()) == service.RouteResult(routed=0, merged=1)
        s.commit()
        assert second.merged_into_id == first.id
        assert second.routed_at is not None
        assert second.assignee_id is None
        queue = s.get(Queue, first.queue_id)
        assert queue is not None
        view = work.queue_view(s, queue, utcnow())
        assert [row.lead.id for row in view.rows] == [first.id]  # one item, not two
        s.refresh(first)
        assert {t.code for t in first.touches} == {sam_code, sue_code}
        for model in attribution.MODELS:
            assert sum(t.credits[model] for t in first.touches) == pytest.approx(1.0)
        came_back = [a for a in lead_history.history(s, first.id) if a.kind == "came_back"]
        assert len(came_back) == 1
        assert came_back[0].text.startswith(f"Jane came back via {sue_code}")

        # Once the first lead is closed, the next form is a new lead in the queue.
        admin = s.get(User, rep.id)
        assert admin is not None
        work.set_status(s, admin, first.id, LeadStatus.DISQUALIFIED, reason="no budget")
        third = new_lead(s, "jane@acme.example")
        assert route(s, utcnow()) == service.RouteResult(routed=1, merged=0)
        s.commit()
        assert third.merged_into_id is None and third.queue_id == first.queue_id
        assert [row.lead.id for row in work.queue_view(s, queue, utcnow()).rows] == [third.id]


def test_a_person_sending_twice_before_routing_gets_one_lead_crediting_both_sellers(
    app: Flask, make_user: UserFactory, make_content: ContentFactory
) -> None:
    # Both forms arrive before the router runs, so one run routes them together: the second
    # folds into the first as if they had come a minute apart, and each seller is credited.
    make_content(title="Zero-downtime migrations")
    sam = make_user(Role.SELLER, name="Sam Seller")
    sue = make_user(Role.SELLER, name="Sue Seller")
    sam_code, sue_code = link_code(app, sam), link_code(app, sue)
    with app.app_context():
        s = db.session()
        first = attributed_lead(s, "jane@acme.example", sam_code, first_name="Jane")
        other = new_lead(s, "max@other.example", first_name="Max")
        second = attributed_lead(s, "jane@acme.example", sue_code, first_name="Jane")
        assert route(s, utcnow()) == service.RouteResult(routed=2, merged=1)
        s.commit()
        assert second.merged_into_id == first.id
        assert other.merged_into_id is None and first.merged_into_id is None
        s.refresh(first)
        assert {t.code for t in first.touches} == {sam_code, sue_code}
        assert kinds(s, first.id) == ["routed", "came_back"]
        assert kinds(s, second.id) == ["merged"]
        told = s.scalars(sa.select(SellerNotice.user_id).where(SellerNotice.kind == "lead"))
        assert sorted(told) == [sam.id]  # the lead was new once: its first seller heard


def test_a_form_sent_after_the_dedupe_window_is_a_new_lead(app: Flask) -> None:
    start = utcnow() - timedelta(days=SETTINGS.dedupe_days + 1)
    with app.app_context():
        s = db.session()
        old = new_lead(s, "jane@acme.example", at=start)
        route(s, start)
        inside = new_lead(s, "jane@acme.example", at=start + timedelta(days=SETTINGS.dedupe_days))
        outside = new_lead(s, "jane@acme.example", at=utcnow())
        assert route(s) == service.RouteResult(routed=1, merged=1)
        assert inside.merged_into_id == old.id
        assert outside.merged_into_id is None and outside.queue_id == old.queue_id
        assert old.is_open


# --- claiming ----------------------------------------------------------------------------


def test_claiming_gives_the_most_urgent_lead_and_statuses_move_as_allowed(
    app: Flask, make_user: UserFactory
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    ben = make_user(Role.REP, name="Ben Rep")
    outsider = make_user(Role.REP, name="Olga Outsider")
    t0 = utcnow().replace(microsecond=0)
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Inbound", sla_minutes=60)
        queue_setup.set_member(s, queue, ann.id)
        queue_setup.set_member(s, queue, ben.id)
        add_rule(s, "Everyone", queue)
        later = new_lead(s, "later@alpha.example", at=t0)
        route(s, t0)
        urgent = new_lead(s, "urgent@beta.example", at=t0 - timedelta(minutes=10))
        route(s, t0 - timedelta(minutes=10))  # routed earlier, so due earlier
        s.commit()
        rep_ann, rep_ben, rep_olga = (s.get(User, u.id) for u in (ann, ben, outsider))
        assert rep_ann is not None and rep_ben is not None and rep_olga is not None

        with pytest.raises(NotFound):  # not her queue
            work.claim_next(s, rep_olga, queue.id)
        claimed_at = t0 + timedelta(minutes=5)
        got = work.claim_next(s, rep_ann, queue.id, now=claimed_at)
        assert got is not None and got.id == urgent.id
        assert (got.status, got.assignee_id, got.claimed_at) == (
            LeadStatus.CLAIMED,
            ann.id,
            claimed_at,
        )
        assert got.claimed_at - got.routed_at == timedelta(minutes=15)  # time to claim
        other = work.claim_next(s, rep_ben, queue.id, now=claimed_at)
        assert other is not None and other.id == later.id
        assert work.claim_next(s, rep_ann, queue.id) is None
        with pytest.raises(Conflict):
            work.claim(s, rep_ann, later.id)

        # Ann works her lead through to the end; skipping a step is refused.
        with pytest.raises(Conflict) as skipped:
            work.set_status(s, rep_ann, urgent.id, LeadStatus.CONVERTED)
        assert "A claimed lead can move to contacted or disqualified, not to converted" in str(
            skipped.value
        )
        contacted_at = t0 + timedelta(minutes=20)
        work.set_status(s, rep_ann, urgent.id, LeadStatus.CONTACTED, now=contacted_at)
        assert urgent.first_contact_at == contacted_at
        work.set_status(s, rep_ann, urgent.id, LeadStatus.QUALIFIED)
        work.set_status(s, rep_ann, urgent.id, LeadStatus.CONVERTED, now=t0 + timedelta(1))
        assert urgent.closed_at == t0 + timedelta(1)
        assert urgent.first_contact_at == contacted_at  # the first contact stays the first
        assert not urgent.is_open
        with pytest.raises(Conflict) as closed:
            work.set_status(s, rep_ann, urgent.id, LeadStatus.CONTACTED)
        assert "is closed; it can't become" in str(closed.value)

        # Ben gives his lead back: it keeps its place (due time) in the queue.
        with pytest.raises(Forbidden):
            work.release(s, rep_ann, later.id)
        due = later.due_at
        work.release(s, rep_ben, later.id, now=t0 + timedelta(minutes=25))
        assert (later.status, later.assignee_id, later.claimed_at, later.due_at) == (
            LeadStatus.NEW,
            None,
            None,
            due,
        )
        work.reassign(s, rep_ann, later.id, ben.id, now=t0 + timedelta(minutes=30))
        assert (later.status, later.assignee_id) == (LeadStatus.CLAIMED, ben.id)
        with pytest.raises(Invalid) as no_reason:
            work.set_status(s, rep_ben, later.id, LeadStatus.DISQUALIFIED, reason="  ")
        assert no_reason.value.fields == {"reason": "required"}
        work.set_status(
            s,
            rep_ben,
            later.id,
            LeadStatus.DISQUALIFIED,
            reason="competitor",
            now=t0 + timedelta(minutes=40),
        )
        assert later.disqualify_reason == "competitor"
        assert kinds(s, later.id) == [
            "routed",
            "claimed",
            "released",
            "reassigned",
            "status",
        ]
        assert work.TRANSITIONS[LeadStatus.DISQUALIFIED] == frozenset()


def test_two_reps_claiming_the_same_lead_at_once_get_different_leads(
    app: Flask, make_user: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rival commits its claim between our pick and our update: on SQLite the
    compare-and-set update misses and we take the next lead; on PostgreSQL our row lock
    makes the rival skip to the next lead. Either way nobody gets a lead twice."""
    ann = make_user(Role.REP, name="Ann Rep")
    ben = make_user(Role.REP, name="Ben Rep")
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Inbound")
        queue_setup.set_member(s, queue, ann.id)
        queue_setup.set_member(s, queue, ben.id)
        add_rule(s, "Everyone", queue)
        for n in range(3):
            new_lead(s, f"p{n}@c{n}.example")
        route(s)
        s.commit()
        queue_id = queue.id

    rival: list[int] = []

    def ben_claims() -> None:
        with app.app_context():
            s2 = db.session()
            rep = s2.get(User, ben.id)
            assert rep is not None
            lead = work.claim_next(s2, rep, queue_id)
            assert lead is not None
            rival.append(lead.id)
            s2.commit()

    with app.app_context():
        s = db.session()
        rep_ann = s.get(User, ann.id)
        assert rep_ann is not None
        scalar = s.scalar
        picks: list[int] = []

        def scalar_then_rival(*args: Any, **kwargs: Any) -> Any:
            found = scalar(*args, **kwargs)
            picks.append(found)
            if not rival:
                ben_claims()  # Ben claims right after Ann's pick
            return found

        monkeypatch.setattr(s, "scalar", scalar_then_rival)
        mine = work.claim_next(s, rep_ann, queue_id)
        s.commit()
        assert mine is not None and rival
        assert mine.id != rival[0]
        if s.get_bind().dialect.name == "sqlite":
            assert picks[:2] == [rival[0], mine.id]  # Ben took Ann's pick; she got the next
        else:
            assert picks == [mine.id]  # Ann's row lock made Ben skip to the next lead
        rows = s.execute(sa.select(Lead.id, Lead.assignee_id, Lead.status).order_by(Lead.id))
        claimed = {row.id: row.assignee_id for row in rows if row.status is LeadStatus.CLAIMED}
        assert claimed == {mine.id: ann.id, rival[0]: ben.id}
        claims = Counter(
            s.scalars(sa.select(LeadActivity.lead_id).where(LeadActivity.kind == "claimed"))
        )
        assert claims == {mine.id: 1, rival[0]: 1}


def test_twenty_reps_claiming_from_one_queue_never_share_or_lose_a_lead(
    pg_app: Flask, make_user: UserFactory
) -> None:
    app = pg_app
    reps = [make_user(Role.REP) for _ in range(20)]
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Inbound")
        for rep in reps:
            queue_setup.set_member(s, queue, rep.id)
        add_rule(s, "Everyone", queue)
        for n in range(15):
            new_lead(s, f"p{n}@c{n}.example")
        route(s)
        s.commit()
        queue_id = queue.id

    barrier = threading.Barrier(len(reps))
    lock = threading.Lock()
    got: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def take_all(rep_id: int) -> None:
        try:
            with app.app_context():
                s = db.session()
                rep = s.get(User, rep_id)
                assert rep is not None
                s.commit()
                barrier.wait(timeout=30)
                mine = []
                while (lead := work.claim_next(s, rep, queue_id)) is not None:
                    mine.append(lead.id)
                    s.commit()
                s.rollback()
                with lock:
                    got[rep_id] = mine
        except BaseException as exc:  # reported below, not lost in the thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=take_all, args=(rep.id,)) for rep in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(got) == 20
    claimed = [lead_id for mine in got.values() for lead_id in mine]
    with app.app_context():
        s = db.session()
        all_ids = list(s.scalars(sa.select(Lead.id)))
        assert sorted(claimed) == sorted(all_ids)  # each lead exactly once, none lost
        owners = {lead_id: rep_id for rep_id, mine in got.items() for lead_id in mine}
        rows = s.execute(sa.select(Lead.id, Lead.status, Lead.assignee_id))
        assert {row.id: (row.status, row.assignee_id) for row in rows} == {
            lead_id: (LeadStatus.CLAIMED, owners[lead_id]) for lead_id in all_ids
        }
        claims = Counter(
            s.scalars(sa.select(LeadActivity.lead_id).where(LeadActivity.kind == "claimed"))
        )
        assert set(claims.values()) == {1}


# --- the SLA -----------------------------------------------------------------------------


def test_a_claim_not_worked_in_time_goes_back_keeping_its_age(
    app: Flask, make_user: UserFactory
) -> None:
    ann = make_user(Role.REP, name="Ann Rep")
    lena = make_user(Role.REP, name="Lena Lead")
    t0 = utcnow().replace(microsecond=0)
    with app.app_context():
        s = db.session()
        queue = make_queue(s, "Inbound", sla_minutes=60, claim_minutes=55, lead_user_id=lena.id)
        queue_setup.set_member(s, queue, ann.id)
        add_rule(s, "Everyone", queue)
        old = new_lead(s, "old@alpha.example", first_name="Olga", company="Alpha")
        route(s, t0)
        young = new_lead(s, "young@beta.example")
        route(s, t0 + timedelta(minutes=30))
        worked = new_lead(s, "worked@gamma.example")
        route(s, t0)
        rep = s.get(User, ann.id)
        assert rep is not None
        work.claim(s, rep, old.id, now=t0 + timedelta(minutes=5))
        work.claim(s, rep, worked.id, now=t0 + timedelta(minutes=5))
        work.set_status(s, rep, worked.id, LeadStatus.CONTACTED, now=t0 + timedelta(minutes=50))
        s.commit()

        assert work.sla_sweep(s, t0 + timedelta(minutes=59)) == work.SlaResult(0, 0)
        result = work.sla_sweep(s, t0 + timedelta(minutes=61))
        s.commit()
        assert result.returned == 1
        assert (old.status, old.assignee_id, old.claimed_at, old.returned_count) == (
            LeadStatus.NEW,
            None,
            None,
            1,
        )
        assert old.routed_at == t0 and old.due_at == t0 + timedelta(minutes=60)
        assert worked.status is LeadStatus.CONTACTED  # contacted in time: stays
        view = work.queue_view(s, queue, t0 + timedelta(minutes=61))
        assert [row.lead.id for row in view.rows] == [old.id, worked.id, young.id]
        assert view.rows[0].overdue
        [returned] = [a for a in lead_history.history(s, old.id) if a.kind == "returned"]
        assert "Ann Rep did not contact them within 55 minutes of claiming" in returned.text
        notices = list(s.scalars(sa.select(SellerNotice).where(SellerNotice.lead_id == old.id)))
        assert [(n.user_id, n.kind) for n in notices] == [(lena.id, "queue_alert")]
        assert notices[0].subject == f"Inbound: lead #{old.id} needs attention"
        assert notices[0].text.startswith("Olga (Alpha): Returned to the queue")

        # An unclaimed lead past its due time is flagged once, however often the job runs.
        flagged = work.sla_sweep(s, t0 + timedelta(minutes=91))
        again = work.sla_sweep(s, t0 + timedelta(minutes=120))
        s.commit()
        assert young.overdue_at == t0 + timedelta(minutes=91)
        assert flagged.flagged == 1 and again == work.SlaResult(0, 0)
        assert kinds(s, young.id).count("overdue") == 1
        young_notices = s.scalars(
            sa.select(SellerNotice.kind).where(SellerNotice.lead_id == young.id)
        ).all()
        assert young_notices == ["queue_alert"]


# --- business hours ----------------------------------------------------------------------


def test_business_hours_pause_the_sla_clock_outside_working_time() -> None:
    cal = calendar.Calendar.of("Europe/Berlin", [0, 1, 2, 3, 4], "09:00", "17:00")

    def due(start: datetime, minutes: int) -> datetime:
        return calendar.due_at(start.astimezone(UTC), minutes, cal)

    # Friday 16:30 with one hour: half an hour on Friday, half on Monday morning.
    assert due(at_berlin(2025, 3, 7, 16, 30), 60) == at_berlin(2025, 3, 10, 9, 30)
    # Saturday: nothing counts until Monday 09:00.
    assert due(at_berlin(2025, 3, 8, 11, 0), 60) == at_berlin(2025, 3, 10, 10, 0)
    # Before the day starts and after it ends.
    assert due(at_berlin(2025, 3, 11, 7, 0), 30) == at_berlin(2025, 3, 11, 9, 30)
    assert due(at_berlin(2025, 3, 11, 18, 0), 30) == at_berlin(2025, 3, 12, 9, 30)
    # Two working days and an hour.
    assert due(at_berlin(2025, 3, 10, 9, 0), 17 * 60) == at_berlin(2025, 3, 12, 10, 0)
    # Across the switch to summer time (30 March) and back (26 October).
    spring = due(at_berlin(2025, 3, 28, 16, 30), 60)
    assert spring == at_berlin(2025, 3, 31, 9, 30)
    assert spring == datetime(2025, 3, 31, 7, 30, tzinfo=UTC)
    autumn = due(at_berlin(2025, 10, 24, 16, 0), 120)
    assert autumn == datetime(2025, 10, 27, 9, 0, tzinfo=UTC)  # 10:00 in winter time
    # Without business hours the clock runs around the clock.
    start = at_berlin(2025, 3, 7, 16, 30)
    assert calendar.due_at(start, 60) == start + timedelta(hours=1)


def test_a_business_hours_queue_sets_the_due_time_when_routing(app: Flask) -> None:
    friday = at_berlin(2025, 3, 7, 16, 30).astimezone(UTC)
    with app.app_context():
        s = db.session()
        with pytest.raises(Invalid) as refused:
            make_queue(s, "Berlin desk", business_hours=True, timezone="Mars/Olympus")
        assert "timezone" in refused.value.fields
        queue = make_queue(
            s, "Berlin desk", sla_minutes=60, business_hours=True, timezone="Europe/Berlin"
        )
        add_rule(s, "Everyone", queue)
        lead = new_lead(s, "jane@acme.example", at=friday)
        route(s, friday)
        s.commit()
        assert lead.due_at == at_berlin(2025, 3, 10, 9, 30)
        # Monday 09:15 it is not overdue yet, at 09:31 it is.
        assert work.sla_sweep(s, at_berlin(2025, 3, 10, 9, 15)).flagged == 0
        assert work.sla_sweep(s, at_berlin(2025, 3, 10, 9, 31)).flagged == 1


# --- telling sellers ---------------------------------------------------------------------


def test_sellers_hear_about_their_leads_by_email_or_only_in_the_app(
    database_url: str,
    tmp_path: Path,
    app: Flask,
    make_user: UserFactory,
    make_content: ContentFactory,
    smtp_server: tuple[test_notifications.Inbox, int],
) -> None:
    inbox, port = smtp_server
    mail_app = make_test_app(
        database_url,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_username="mailer",
        smtp_password="s3cret",
        public_base_url="https://cf.example.com",
    )
    make_content(title="Zero-downtime migrations")
    sam = make_user(Role.SELLER, name="Sam Seller", notification_channel="email")
    quinn = make_user(Role.SELLER, name="Quinn Quiet", notification_channel="none")
    admin = make_user(Role.ADMIN, name="Ada Admin")
    sam_code, quinn_code = link_code(app, sam), link_code(app, quinn)
    with mail_app.app_context():
        s = db.session()
        from_sam = attributed_lead(
            s, "jane@acme.example", sam_code, first_name="Jane", company="Acme"
        )
        attributed_lead(s, "joe@globex.example", quinn_code, company="Globex")
        route(s)
        s.commit()
        notices = s.scalars(sa.select(SellerNotice).order_by(SellerNotice.id)).all()
        assert [(n.user_id, n.kind, n.subject) for n in notices] == [
            (sam.id, "lead", "Your post brought a lead from Acme"),
            (quinn.id, "lead", "Your post brought a lead from Globex"),
        ]
        assert "Zero-downtime migrations" in notices[0].text

        assert jobs.send_notices(s) == jobs.NoticeResult(sent=1, failed=0)
        s.commit()
        assert all(n.sent_at is not None for n in notices)  # Quinn's: shown in the app only
        [mail] = inbox.messages
        assert mail.rcpt_tos == [sam.email]
        text = mail.content.decode()
        assert "Subject: Your post brought a lead from Acme" in text
        assert "https://cf.example.com/feed" in text

        ada = s.get(User, admin.id)
        assert ada is not None
        for status in (LeadStatus.CLAIMED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED):
            work.set_status(s, ada, from_sam.id, status)
        s.commit()
        assert jobs.send_notices(s).sent == 1
        work.set_status(s, ada, from_sam.id, LeadStatus.CONVERTED)
        s.commit()
        outcome = s.scalars(
            sa.select(SellerNotice).where(SellerNotice.kind == "outcome").order_by(SellerNotice.id)
        ).all()
        assert [n.subject for n in outcome] == ["The lead from Acme was qualified"]
        # The conversion is celebrated as the handover to customer development.
        won = s.scalars(sa.select(SellerNotice).where(SellerNotice.kind == "customer")).all()
        assert [(n.user_id, n.subject) for n in won] == [
            (sam.id, "Your post led to a new customer: Acme")
        ]
        assert jobs.send_notices(s).sent >= 1
        s.commit()
    assert "Subject: Your post led to a new customer: Acme" in "".join(
        m.content.decode() for m in inbox.messages if m.rcpt_tos == [sam.email]
    )


def test_queue_lead_is_told_only_about_their_queue(app: Flask, make_user: UserFactory) -> None:
    lena = make_user(Role.REP, name="Lena Lead")
    t0 = utcnow()
    with app.app_context():
        s = db.session()
        led = make_queue(s, "Led", lead_user_id=lena.id)
        unled = make_queue(s, "Unled")
        add_rule(s, "Alpha", led, companies=["alpha"])
        add_rule(s, "Others", unled)
        new_lead(s, "a@alpha.example", company="Alpha")
        new_lead(s, "b@beta.example", company="Beta")
        route(s, t0)
        assert work.sla_sweep(s, t0 + timedelta(hours=2)).flagged == 2
        rows = s.execute(sa.select(SellerNotice.user_id, SellerNotice.kind)).all()
        assert [tuple(row) for row in rows] == [(lena.id, "queue_alert")]


def test_queue_counts_cover_every_open_lead_not_only_the_rows_listed(app: Flask) -> None:
    """The page lists the first leads by due time; its 'new' and 'overdue' figures (and the
    Claim next button) must still see a waiting lead further down."""
    t0 = utcnow() - timedelta(days=2)
    with app.app_context():
        s = db.session()
        service.ensure_defaults(s, SETTINGS)
        queue = queue_setup.queue_by_name(s, SETTINGS.default_queue)
        assert queue is not None
        for n in range(3):  # already contacted, due earliest
            lead = new_lead(s, f"done{n}@acme.example", at=t0)
            lead.queue_id, lead.status, lead.routed_at = queue.id, LeadStatus.CONTACTED, t0
            lead.due_at, lead.first_contact_at = t0 + timedelta(minutes=n), t0
        waiting = new_lead(s, "waiting@acme.example", at=t0)
        waiting.queue_id, waiting.routed_at, waiting.due_at = queue.id, t0, t0 + timedelta(hours=1)
        s.flush()
        view = work.queue_view(s, queue, utcnow(), limit=3)
        assert waiting.id not in [row.lead.id for row in view.rows]
        assert view.counts == work.QueueCounts(waiting=1, overdue=1, open=4)


def test_routing_names_the_seller_credited_under_last_touch_even_on_a_tie(
    app: Flask, make_user: Callable[..., User]
) -> None:
    """Two codes clicked in the same second: the CRM message, the queue and the seller notice
    name the seller attribution credited, as the lead page does."""
    credited, other = make_user("seller", name="Credited"), make_user("seller", name="Other")
    when = utcnow() - timedelta(hours=1)
    with app.app_context():
        s = db.session()
        lead = new_lead(s, "tie@acme.example")
        lead.touches = [  # the credited touch is stored first, so it has the lower id
            Touch(
                code="aaa",
                found_in="ref",
                seller_id=credited.id,
                touched_at=when,
                credits={"first_touch": 1.0, "last_touch": 1.0, "linear": 0.5},
            ),
            Touch(
                code="bbb",
                found_in="ref",
                seller_id=other.id,
                touched_at=when,
                credits={"first_touch": 0.0, "last_touch": 0.0, "linear": 0.5},
            ),
        ]
        s.flush()
        payload = outbox.lead_payload(lead, "lead.created", utcnow())
        assert payload["data"]["attributed_seller_id"] == credited.id


def test_a_notice_that_cannot_be_delivered_is_retried_later_then_given_up(
    app: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from contentfeed.suggestions import notify

    sam = make_user(Role.SELLER, name="Sam Seller", notification_channel="email")
    failures = [
        notify.DeliveryFailed("mail server busy"),
        notify.DeliveryFailed("no such mailbox", permanent=True),
    ]

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise failures.pop(0)

    monkeypatch.setattr(notify, "send_message", refuse)
    with app.app_context():
        s = db.session()
        notice = SellerNotice(
            user_id=sam.id, kind="lead", subject="A lead", text="…", next_attempt_at=utcnow()
        )
        s.add(notice)
        s.commit()
        assert jobs.send_notices(s) == jobs.NoticeResult(sent=0, failed=1)
        s.commit()
        assert notice.sent_at is None and notice.attempts == 1
        assert notice.last_error == "mail server busy"
        assert notice.next_attempt_at is not None and notice.next_attempt_at > utcnow()
        assert jobs.send_notices(s) == jobs.NoticeResult(sent=0, failed=0)  # not due yet
        notice.next_attempt_at = utcnow()
        s.commit()
        assert jobs.send_notices(s) == jobs.NoticeResult(sent=0, failed=1)
        s.commit()
        assert (notice.attempts, notice.next_attempt_at) == (2, None)  # permanent: given up
        assert notice.sent_at is None and notice.last_error == "no such mailbox"
