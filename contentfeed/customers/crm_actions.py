"""What each CRM event does: a won deal starts the handover, a lost one closes our lead, a
contract ending raises its renewal card, a renewed one closes it and moves the end date.

Each function takes the session and the checked event and never commits; the intake
(crm_events) runs it in a savepoint and keeps what it changed on the stored event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.config import Settings
from contentfeed.customers import cards
from contentfeed.customers.crm_schema import ContractIn, CrmEventData, CrmEventIn, CrmEventType
from contentfeed.customers.models import Contract
from contentfeed.errors import Invalid
from contentfeed.leads.models import OPEN_STATUSES, Lead, LeadStatus
from contentfeed.routing import customer_accounts
from contentfeed.routing.lead_history import record
from contentfeed.routing.models import Account
from contentfeed.routing.seller_notices import tell_seller_outcome

# The reason a lead lost in the CRM is closed with, as reports and the CRM read it.
LOST_REASON = "lost in the CRM"


@dataclass
class Applied:
    """What an event changed: the account and lead it was about, and a few facts for the
    admin page (kept as the event's result)."""

    account_id: int | None = None
    lead_id: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def apply_event(
    s: Session, settings: Settings, event: CrmEventIn, *, key: str, now: datetime
) -> Applied:
    """Do what a checked event asks (no commit); a DomainError means the event is at fault."""
    match event.type:
        case CrmEventType.DEAL_WON:
            return won(s, settings, event.data, key=key, now=now)
        case CrmEventType.DEAL_LOST:
            return lost(s, event.data, now=now)
        case CrmEventType.CONTRACT_ENDING:
            return ending(s, settings, event.data, now=now)
        case CrmEventType.CONTRACT_RENEWED:
            return renewed(s, settings, event.data, now=now)


def won(s: Session, settings: Settings, data: CrmEventData, *, key: str, now: datetime) -> Applied:
    """Convert our lead (or make the customer account) and start the handover; keep the
    contract the deal came with."""
    card = cards.won_deal(
        s,
        settings,
        lead_id=data.lead_id,
        domain=data.domain,
        company=data.company,
        key=key,
        now=now,
    )
    if card is not None:
        applied = Applied(card.account_id, card.lead_id, {"handover_card": card.id})
    else:  # this lead was handed over before: the account it went to
        lead = s.get(Lead, data.lead_id) if data.lead_id is not None else None
        account = _account_of(s, data.domain) if data.domain else None
        account_id = lead.account_id if lead is not None and lead.account_id else None
        applied = Applied(
            account_id or (account.id if account else None),
            data.lead_id,
            {"handover_card": None},
        )
    if data.contract is not None and applied.account_id is not None:
        target = s.get(Account, applied.account_id)
        if target is not None:
            contract = _upsert_contract(s, target, data.contract)
            applied.facts["contract"] = contract.id
            applied.facts["renewal_cards"] = cards.raise_renewals(
                s, settings, now, contract_ids=[contract.id]
            )
    return applied


def lost(s: Session, data: CrmEventData, *, now: datetime) -> Applied:
    """Close our lead as disqualified, "lost in the CRM", and tell its seller as a rep's
    disqualification would; the CRM is not told back (it told us)."""
    lead = _lead_of(s, data)
    account = _account_of(s, data.domain) if data.domain else None
    applied = Applied(account_id=account.id if account else None)
    if lead is None:
        applied.facts["closed"] = False
        return applied
    applied.lead_id = lead.id
    applied.account_id = applied.account_id or lead.account_id
    if lead.status not in OPEN_STATUSES:
        applied.facts["closed"] = False  # already closed: it keeps how it ended
        return applied
    lead.status = LeadStatus.DISQUALIFIED
    lead.disqualify_reason = LOST_REASON
    lead.closed_at = now
    lead.claim_due_at = None
    record(
        s,
        lead,
        "crm_lost",
        "Disqualified: the deal was lost in the CRM.",  # stored in English: see describe
        detail={"status": LeadStatus.DISQUALIFIED.value, "reason": LOST_REASON},
        now=now,
    )
    tell_seller_outcome(s, lead, LeadStatus.DISQUALIFIED, now)
    applied.facts["closed"] = True
    s.flush()
    return applied


def ending(s: Session, settings: Settings, data: CrmEventData, *, now: datetime) -> Applied:
    """Keep the contract's end date and raise its renewal card when it ends within the
    window (once per contract and end date, however often the CRM says so)."""
    assert data.contract is not None  # the schema requires it for contract events
    account = _customer_account(s, data, now)
    contract = _upsert_contract(s, account, data.contract)
    raised = cards.raise_renewals(s, settings, now, contract_ids=[contract.id])
    return Applied(account.id, None, {"contract": contract.id, "renewal_cards": raised})


def renewed(s: Session, settings: Settings, data: CrmEventData, *, now: datetime) -> Applied:
    """Move the contract's end date to the new one and close its open renewal card as
    renewed; a new end date already inside the window raises the next card."""
    assert data.contract is not None
    account = _customer_account(s, data, now)
    contract = _upsert_contract(s, account, data.contract)
    cards.finish_renewal(s, contract, "renewed", now)
    raised = cards.raise_renewals(s, settings, now, contract_ids=[contract.id])
    return Applied(account.id, None, {"contract": contract.id, "renewal_cards": raised})


# --- the pieces ----------------------------------------------------------------------------


def _account_of(s: Session, domain: str) -> Account | None:
    return customer_accounts.account_for_domain(s, domain)


def _customer_account(s: Session, data: CrmEventData, now: datetime) -> Account:
    """Return the domain's customer account, made when the CRM knows a customer we don't."""
    account = cards.customer_account(s, domain=data.domain, company=data.company, fallback="")
    account.customer_since = account.customer_since or now
    return account


def _upsert_contract(s: Session, account: Account, data: ContractIn) -> Contract:
    """Add the contract by its CRM id, or bring the one we have up to date.

    The account's row is locked first, so that two events about the same customer's
    contracts take turns: the second finds the contract the first added (the table has no
    unique constraint on the CRM id to lean on).
    """
    s.execute(sa.select(Account.id).where(Account.id == account.id).with_for_update())
    contract = s.scalars(
        sa.select(Contract)
        .where(Contract.crm_id == data.id)
        .order_by(Contract.account_id != account.id, Contract.id)
        .limit(1)
    ).first()
    if contract is None:
        contract = Contract(account_id=account.id, crm_id=data.id, name=data.name or data.id)
        s.add(contract)
    elif data.name:
        contract.name = data.name
    contract.ends_on = data.ends_on
    contract.ended = False
    s.flush()
    return contract


def _lead_of(s: Session, data: CrmEventData) -> Lead | None:
    """Return the lead an event names, else the domain's newest open lead."""
    if data.lead_id is not None:
        lead = s.get(Lead, data.lead_id, with_for_update=True)
        if lead is None:
            raise Invalid("No lead has this id.", {"data.lead_id": "no lead has this id"})
        while lead.merged_into_id is not None:  # the person's open lead carries the deal
            merged = s.get(Lead, lead.merged_into_id, with_for_update=True)
            if merged is None:
                break
            lead = merged
        return lead
    domain = data.domain
    return s.scalars(
        sa.select(Lead)
        .where(
            sa.or_(Lead.email_domain == domain, Lead.email_domain.endswith("." + domain)),
            Lead.status.in_(OPEN_STATUSES),
            Lead.merged_into_id.is_(None),
        )
        .order_by(Lead.submitted_at.desc(), Lead.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
