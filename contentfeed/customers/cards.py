"""Customer development's cards: the handover of a new customer right after the signature,
and a contract coming up for renewal. Both land in the customer queue ([routing]
customer_queue) and are worked there: someone of the queue accepts a card, then marks it done.

A handover starts when a rep marks a lead converted (routing.work.set_status) or the CRM
reports a won deal (``won_deal``). The lead's company becomes a customer account (its email
domain, unless a free-mail one; an existing account is reused), so that the company's next
lead routes to customer development by the "known customers" rule; the winning rep, the
seller whose post started it and the customer queue are told.

Every card has a ``key`` unique in its table: a conversion retried, a CRM event redelivered or
two schedulers raising renewals each make one card.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, time, timedelta
from typing import Literal, TypeAlias

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from contentfeed import config, i18n
from contentfeed.accounts.models import Role, Team, TeamKind, User

# Pages and API handlers name cards through this module (they import no domain's models).
from contentfeed.customers.models import CardKind as CardKind
from contentfeed.customers.models import CardStatus as CardStatus
from contentfeed.customers.models import Contract
from contentfeed.customers.models import CustomerCard as CustomerCard
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.i18n import _, _l
from contentfeed.leads.models import CLOSED_STATUSES, Lead, LeadStatus
from contentfeed.routing import domains
from contentfeed.routing.customer_accounts import account_for_domain
from contentfeed.routing.lead_history import record
from contentfeed.routing.models import Account, AccountDomain, Queue, QueueMember, SellerNotice
from contentfeed.routing.queue_setup import new_queue, queue_by_name
from contentfeed.routing.seller_notices import speaking_to
from contentfeed.text import Input, MultiLineText

# The session a job is handed (jobs import no sqlalchemy of their own).
JobSession: TypeAlias = Session

# Outcomes a card is done with, by kind, and their names.
OUTCOMES: dict[CardKind, tuple[str, ...]] = {
    CardKind.HANDOVER: ("onboarded",),
    CardKind.RENEWAL: ("renewed", "ended"),
}
OUTCOME_LABELS = {
    "onboarded": _l("Onboarded"),
    "renewed": _l("Renewed"),
    "ended": _l("Ended, not renewed"),
}


# --- the customer queue and account ---------------------------------------------------------


def customer_queue(s: Session, settings: config.Settings) -> Queue:
    """Return the customer development queue named in config, made on first use."""
    routing = settings.routing
    return queue_by_name(s, routing.customer_queue) or new_queue(
        s, routing.customer_queue, routing.customer_sla_minutes, TeamKind.CUSTOMER_DEVELOPMENT
    )


def _customer_team_id(s: Session) -> int | None:
    """The customer development team new customer accounts belong to (the first, if several)."""
    return s.scalar(
        sa.select(Team.id).where(Team.kind == TeamKind.CUSTOMER_DEVELOPMENT).order_by(Team.id)
    )


def company_domain(raw: str) -> str:
    """Return a company's email domain normalised, or "" when it is a free-mail one; raise
    Invalid when it is no domain at all."""
    domain = domains.normalise_domain(raw)
    if not domain:
        return ""
    if not domains.is_domain(domain):
        raise Invalid(
            _("Some fields need attention."),
            {"domain": _("%(text)s is not a domain", text=repr(raw.strip()[:80]))},
        )
    return "" if domains.is_freemail(domain) else domain


def customer_account(s: Session, *, domain: str, company: str, fallback: str) -> Account:
    """Return the customer account of a company: the one its domain belongs to, else (a
    free-mail address) the one of its name, else a new one owned by customer development.

    ``domain`` is normalised already (``company_domain``); ``fallback`` names an account whose
    company gave neither domain nor name (the person's name).
    """
    name = (company.strip() or domain or fallback.strip() or _("New customer"))[:200]
    if domain:
        found = account_for_domain(s, domain)
        if found is not None:
            return found
    else:
        key = name.casefold()
        same_name = s.scalars(
            sa.select(Account).where(sa.func.lower(Account.name) == name.lower())
        ).all()
        match = next((a for a in same_name if a.name.casefold() == key), None)
        if match is not None:
            return match
    account = Account(name=name, owner_team_id=_customer_team_id(s))
    if domain:
        account.domains = [AccountDomain(domain=domain)]
    try:
        with s.begin_nested():  # another conversion of the same company may win the race
            s.add(account)
            s.flush()
    except sa.exc.IntegrityError:
        found = account_for_domain(s, domain)
        if found is None:  # pragma: no cover - the constraint that failed was not the domain
            raise
        return found
    return account


# --- the handover ----------------------------------------------------------------------------


def hand_over_lead(
    s: Session,
    lead: Lead,
    *,
    won_by: User | None,
    now: datetime | None = None,
    settings: config.Settings | None = None,
) -> CustomerCard | None:
    """Start the handover of a lead just marked converted: its company becomes a customer and
    a handover card lands in the customer queue. Return the card (None: done before)."""
    settings = settings or config.current()
    domain = company_domain(lead.email_domain) if lead.email_domain else ""
    account = customer_account(s, domain=domain, company=lead.company, fallback=lead.full_name)
    return hand_over(
        s,
        settings,
        account=account,
        lead=lead,
        won_by_id=won_by.id if won_by else lead.assignee_id,
        key=f"handover:lead:{lead.id}",
        signed_at=now or utcnow(),
    )


def won_deal(
    s: Session,
    settings: config.Settings,
    *,
    lead_id: int | None,
    domain: str,
    company: str,
    key: str,
    now: datetime | None = None,
) -> CustomerCard | None:
    """The CRM reports a deal won: convert our lead (when we know it and it is still open,
    whatever its status) and start the handover; without a lead, the domain's company
    becomes the customer. Return the card (None: this event or this lead was handed over
    before)."""
    now = now or utcnow()
    lead: Lead | None = None
    if lead_id is not None:
        lead = s.get(Lead, lead_id, with_for_update=True)
        if lead is None:
            raise NotFound(_("No lead has this id."))
        while lead.merged_into_id is not None:  # the person's open lead carries the deal
            merged = s.get(Lead, lead.merged_into_id, with_for_update=True)
            if merged is None:
                break
            lead = merged
    checked = company_domain(domain) if domain.strip() else ""
    if lead is None and not checked:
        problem = (
            _("a free-mail domain is no company's: send the company's own domain")
            if domain.strip()
            else _("required without a lead_id")
        )
        raise Invalid(_("Some fields need attention."), {"domain": problem})
    if lead is not None:
        if lead.erased_at is None and lead.status not in CLOSED_STATUSES:
            lead.status = LeadStatus.CONVERTED
            lead.closed_at = now
            lead.claim_due_at = None
            record(
                s,
                lead,
                "status",
                "Converted: the CRM reported the deal won.",
                detail={"status": LeadStatus.CONVERTED.value, "by": "crm"},
                now=now,
            )
        checked = checked or (company_domain(lead.email_domain) if lead.email_domain else "")
        account = customer_account(
            s, domain=checked, company=company or lead.company, fallback=lead.full_name
        )
        if s.scalar(sa.select(CustomerCard.id).where(CustomerCard.key == _lead_key(lead))):
            return None  # the rep marked it converted already: that handover stands
        key = _lead_key(lead)
    else:
        account = customer_account(s, domain=checked, company=company, fallback="")
    return hand_over(
        s,
        settings,
        account=account,
        lead=lead,
        won_by_id=lead.assignee_id if lead else None,
        key=key,
        signed_at=now,
    )


def _lead_key(lead: Lead) -> str:
    return f"handover:lead:{lead.id}"


def hand_over(
    s: Session,
    settings: config.Settings,
    *,
    account: Account,
    lead: Lead | None,
    won_by_id: int | None,
    key: str,
    signed_at: datetime,
) -> CustomerCard | None:
    """Put a handover card for a new customer into the customer queue and tell the people
    involved; once per ``key`` (None when the card exists already)."""
    if s.scalar(sa.select(CustomerCard.id).where(CustomerCard.key == key)) is not None:
        return None
    queue = customer_queue(s, settings)
    first = lead.touches[0] if lead is not None and lead.touches else None  # the first touch
    card = CustomerCard(
        key=key,
        kind=CardKind.HANDOVER,
        account_id=account.id,
        queue_id=queue.id,
        lead_id=lead.id if lead else None,
        won_by_id=won_by_id,
        seller_id=first.seller_id if first else None,
        content_id=first.content_id if first else None,
        signed_at=signed_at,
        due_at=signed_at + timedelta(hours=settings.customers.handover_sla_hours),
        created_at=signed_at,
    )
    try:
        with s.begin_nested():  # the same conversion retried at the same moment
            s.add(card)
            s.flush()
    except sa.exc.IntegrityError:
        return None
    account.customer_since = account.customer_since or signed_at
    if lead is not None:
        lead.account_id = account.id
        record(
            s,
            lead,
            "handover",
            f"Handed over to {queue.name}: {account.name} is a customer now.",
            detail={"queue": queue.name, "account": account.name, "account_id": account.id},
            now=signed_at,
        )
    sellers = [t.seller_id for t in (lead.touches if lead else []) if t.seller_id is not None]
    # The seller whose post started it and the one credited with the lead (the last touch).
    _tell_handover(s, card, account, queue, lead, list(dict.fromkeys(sellers[:1] + sellers[-1:])))
    s.flush()
    return card


def _tell_handover(
    s: Session,
    card: CustomerCard,
    account: Account,
    queue: Queue,
    lead: Lead | None,
    sellers: list[int],
) -> None:
    """Tell the seller whose post started it (a celebration in their feed), the winning rep
    and the customer queue, each in their own language."""
    name = account.name
    now = card.created_at
    lead_id = lead.id if lead else None
    won_by = s.get(User, card.won_by_id) if card.won_by_id else None
    for seller_id in sellers:
        _tell(
            s,
            seller_id,
            "customer",
            lambda: (
                _("Your post led to a new customer: %(name)s", name=name),
                _(
                    "The lead your post brought became a customer: %(name)s. Customer "
                    "development takes it from here. Thank you for sharing!",
                    name=name,
                ),
            ),
            lead_id=lead_id,
            now=now,
        )
    if won_by is not None and won_by.id not in sellers:
        _tell(
            s,
            won_by.id,
            "handover",
            lambda: (
                _("%(name)s is handed to customer development", name=name),
                _(
                    "Congratulations on winning %(name)s! The handover card is in %(queue)s; "
                    "your notes on the lead go with it.",
                    name=name,
                    queue=queue.name,
                ),
            ),
            lead_id=lead_id,
            now=now,
        )
    team = set(
        s.scalars(
            sa.select(QueueMember.user_id)
            .join(User, User.id == QueueMember.user_id)
            .where(QueueMember.queue_id == queue.id, User.is_active.is_(True))
        )
    )
    if queue.lead_user_id is not None:
        team.add(queue.lead_user_id)
    team.discard(won_by.id if won_by else 0)
    due = card.due_at or now
    for user_id in sorted(team):
        _tell(
            s,
            user_id,
            "handover",
            lambda: (
                _("New customer to take over: %(name)s", name=name),
                _(
                    "%(name)s just signed%(by)s. Accept the handover card in %(queue)s by %(due)s.",
                    name=name,
                    by=_(" with %(rep)s", rep=won_by.name) if won_by else "",
                    queue=queue.name,
                    due=i18n.datetime_text(due),
                ),
            ),
            lead_id=lead_id,
            now=now,
        )


def _tell(
    s: Session,
    user_id: int,
    kind: str,
    words: Callable[[], tuple[str, str]],
    *,
    lead_id: int | None,
    now: datetime,
) -> None:
    """Write one notice in its reader's language (the feed shows it, the channels send it)."""
    with speaking_to(s, user_id):
        subject, text = words()
    s.add(
        SellerNotice(
            user_id=user_id,
            lead_id=lead_id,
            kind=kind,
            subject=subject[:300],
            text=text,
            created_at=now,
            next_attempt_at=now,
        )
    )


# --- renewals --------------------------------------------------------------------------------


def raise_renewals(
    s: Session,
    settings: config.Settings,
    now: datetime | None = None,
    *,
    contract_ids: Collection[int] | None = None,
) -> int:
    """Put a renewal card into the customer queue for each contract ending within the
    renewal window, once per contract and end date; return how many were raised.

    A contract renewed to a later date gets a new card when that date comes into the window;
    an ended contract gets none.
    """
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    until = today + timedelta(days=settings.customers.renewal_window_days)
    query = sa.select(Contract).where(
        Contract.ended.is_(False), Contract.ends_on >= today, Contract.ends_on <= until
    )
    if contract_ids is not None:
        query = query.where(Contract.id.in_(list(contract_ids)))
    contracts = {renewal_key(c): c for c in s.scalars(query.order_by(Contract.ends_on))}
    if not contracts:
        return 0
    known = set(s.scalars(sa.select(CustomerCard.key).where(CustomerCard.key.in_(contracts))))
    queue = customer_queue(s, settings)
    raised = 0
    for key, contract in contracts.items():
        if key in known:
            continue
        card = CustomerCard(
            key=key,
            kind=CardKind.RENEWAL,
            account_id=contract.account_id,
            queue_id=queue.id,
            contract_id=contract.id,
            due_at=datetime.combine(contract.ends_on, time.min, UTC),
            created_at=now,
        )
        try:
            with s.begin_nested():  # another scheduler raised it a moment ago
                s.add(card)
                s.flush()
        except sa.exc.IntegrityError:
            continue
        raised += 1
    s.flush()
    return raised


def renewal_key(contract: Contract) -> str:
    """Return the key of a contract's renewal card for its current end date."""
    return f"renewal:{contract.id}:{contract.ends_on.isoformat()}"


def finish_renewal(
    s: Session, contract: Contract, outcome: str, now: datetime | None = None
) -> None:
    """Close a contract's open renewal cards: it was renewed or it ended."""
    if outcome not in OUTCOMES[CardKind.RENEWAL]:
        raise ValueError(outcome)
    now = now or utcnow()
    for card in s.scalars(
        sa.select(CustomerCard).where(
            CustomerCard.contract_id == contract.id, CustomerCard.status != CardStatus.DONE
        )
    ):
        card.status, card.outcome, card.done_at = CardStatus.DONE, outcome, now
    if outcome == "ended":
        contract.ended = True
    s.flush()


# --- working a card --------------------------------------------------------------------------


def _may_work(s: Session, user: User, card: CustomerCard) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.REP or card.queue_id is None:
        return False
    member = sa.select(QueueMember.id).where(
        QueueMember.queue_id == card.queue_id, QueueMember.user_id == user.id
    )
    return s.scalar(member) is not None


def _workable(s: Session, user: User, card_id: int) -> CustomerCard:
    card = s.get(CustomerCard, card_id, with_for_update=True)
    if card is None or not _may_work(s, user, card):
        raise NotFound(_("No card in your queues has this id."))
    return card


def accept(s: Session, user: User, card_id: int, now: datetime | None = None) -> CustomerCard:
    """Take a card: the customer (or the renewal) is the rep's now; a handover's account gets
    the rep as its owner. Two reps accepting at once: the first has it."""
    now = now or utcnow()
    card = _workable(s, user, card_id)
    if card.status is not CardStatus.OPEN:
        if card.assignee_id == user.id and card.status is CardStatus.ACCEPTED:
            return card
        raise Conflict(_("Someone has this card already."))
    taken = s.execute(
        sa.update(CustomerCard)
        .where(CustomerCard.id == card.id, CustomerCard.status == CardStatus.OPEN)
        .values(status=CardStatus.ACCEPTED, assignee_id=user.id, accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise Conflict(_("Someone has this card already."))
    s.refresh(card)
    if card.kind is CardKind.HANDOVER:
        account = s.get(Account, card.account_id)
        if account is not None:
            account.owner_id = user.id
    s.flush()
    return card


class FinishIn(Input):
    """How a card was handled: its outcome and a note."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["onboarded", "renewed", "ended"] = Field(
        description="onboarded (a handover); renewed or ended (a renewal)"
    )
    note: MultiLineText = Field(default="", max_length=5000)


def finish(
    s: Session, user: User, card_id: int, done: FinishIn, now: datetime | None = None
) -> CustomerCard:
    """Mark a card done: the customer onboarded, the contract renewed or ended (a card still
    waiting is accepted on the way)."""
    now = now or utcnow()
    card = _workable(s, user, card_id)
    if done.outcome not in OUTCOMES[card.kind]:
        raise Invalid(_("Pick how it ended."), {"outcome": _("unknown outcome")})
    if card.status is CardStatus.DONE:
        raise Conflict(_("This card is done already."))
    if card.status is CardStatus.OPEN:
        accept(s, user, card.id, now)
    elif card.assignee_id != user.id and user.role != Role.ADMIN:
        raise Conflict(_("Someone else has this card."))
    card.status, card.outcome, card.done_at = CardStatus.DONE, done.outcome, now
    card.note = done.note.strip()[:5000]
    if card.kind is CardKind.RENEWAL and done.outcome == "ended" and card.contract is not None:
        card.contract.ended = True
    s.flush()
    return card
