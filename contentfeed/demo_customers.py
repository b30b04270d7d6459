"""The demo's customer development: the plans of the known customers (contracts, one ending
within the renewal window, goals, next steps), and the handovers of the demo's converted
leads, the older ones accepted and done by customer development as they would be by now."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed import config
from contentfeed.accounts.models import User
from contentfeed.customers import cards
from contentfeed.customers.models import CardKind, Contract, CustomerCard, Goal, NextStep
from contentfeed.routing.models import Account

# The newest handover is accepted and still being worked; the older ones are done.
HANDOVERS_IN_PROGRESS = 1


def seed_customers(s: Session, now: datetime) -> None:
    """Give the known customers their plans, work the older handover cards and raise the
    renewal cards the scheduler would raise."""
    from contentfeed.demo import demo_data, demo_email

    today = now.date()
    users = {u.email: u for u in s.scalars(sa.select(User))}
    for customer in demo_data().customers:
        account = s.scalar(sa.select(Account).where(Account.name == customer.name))
        if account is None:
            continue
        for contract in customer.contracts:
            s.add(
                Contract(
                    account_id=account.id,
                    name=contract.name,
                    ends_on=today + timedelta(days=contract.ends_in_days),
                    crm_id=contract.crm_id,
                )
            )
        for goal in customer.goals:
            s.add(
                Goal(
                    account_id=account.id,
                    product=goal.product,
                    target_on=today + timedelta(days=goal.target_in_days),
                )
            )
        for step in customer.steps:
            owner = users.get(demo_email(step.owner))
            s.add(
                NextStep(
                    account_id=account.id,
                    text=step.text,
                    owner_id=owner.id if owner else None,
                    due_on=today + timedelta(days=step.due_in_days),
                )
            )
    s.flush()
    hana = users.get(demo_email("rep3"))
    handovers = list(
        s.scalars(
            sa.select(CustomerCard)
            .where(CustomerCard.kind == CardKind.HANDOVER)
            .order_by(CustomerCard.signed_at, CustomerCard.id)
        )
    )
    in_progress = {card.id for card in handovers[-HANDOVERS_IN_PROGRESS:]}
    for card in handovers:
        if hana is None or card.signed_at is None:
            break
        accepted = min(card.signed_at + timedelta(hours=3), now)
        cards.accept(s, hana, card.id, now=accepted)
        done = card.signed_at + timedelta(days=2)
        if card.id not in in_progress and done < now:
            cards.finish(s, hana, card.id, cards.FinishIn(outcome="onboarded"), now=done)
    cards.raise_renewals(s, config.current(), now)
    s.flush()
