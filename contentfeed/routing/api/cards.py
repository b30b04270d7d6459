"""Routing API: customer development's cards (handovers of new customers, renewals) in the
customer queue: list the open ones, accept one, mark one done."""

from __future__ import annotations

from datetime import date

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import QueueRef, Timestamp, UserRef, json_response, operation, parse_json
from contentfeed.customers import board, cards
from contentfeed.db import utcnow
from contentfeed.routing.api import bp
from contentfeed.routing.api.common import WORKERS, WRITE_SCOPE

CARDS_TAG = "customer development"


class CardOut(BaseModel):
    """A card of the customer queue: a new customer's handover or a contract's renewal."""

    id: int
    kind: cards.CardKind
    status: cards.CardStatus
    account: QueueRef = Field(description="The customer account, by id and name")
    domains: list[str]
    lead_id: int | None = Field(description="The lead that converted (a handover)")
    won_by: UserRef | None = Field(description="The rep who won the customer")
    seller: UserRef | None = Field(description="The seller whose post brought the first lead")
    content_title: str = Field(description="The content that brought the first lead")
    notes: list[str] = Field(description="The rep's notes on the lead, oldest first")
    contract: str = Field(description="The contract up for renewal (a renewal)")
    ends_on: date | None = Field(description="The contract's end date (a renewal)")
    signed_at: Timestamp | None
    due_at: Timestamp | None = Field(
        description="Accept by (a handover: the handover SLA); handle by (a renewal)"
    )
    overdue: bool
    assignee: UserRef | None
    accepted_at: Timestamp | None
    done_at: Timestamp | None
    outcome: str = Field(description="onboarded, renewed or ended, once done")


class CardList(BaseModel):
    """Open and accepted cards of your queues, the earliest due first."""

    items: list[CardOut]


def _ref(user_id: int | None, name: str) -> UserRef | None:
    return UserRef(id=user_id, name=name) if user_id is not None and name else None


def card_out(row: board.CardRow) -> CardOut:
    """Describe a card for the API."""
    card = row.card
    return CardOut(
        id=card.id,
        kind=card.kind,
        status=card.status,
        account=QueueRef(id=card.account_id, name=row.account_name),
        domains=row.account_domains,
        lead_id=card.lead_id,
        won_by=_ref(card.won_by_id, row.won_by_name),
        seller=_ref(card.seller_id, row.seller_name),
        content_title=row.content_title,
        notes=row.notes,
        contract=row.contract_name,
        ends_on=row.ends_on,
        signed_at=card.signed_at,
        due_at=card.due_at,
        overdue=row.overdue,
        assignee=_ref(card.assignee_id, row.assignee_name),
        accepted_at=card.accepted_at,
        done_at=card.done_at,
        outcome=card.outcome,
    )


def _one(card: cards.CustomerCard) -> CardOut:
    [row] = board.rows_of(db.session(), [card], utcnow())
    return card_out(row)


@bp.get("/cards")
@access.require_scope("read", *WORKERS)
@operation(summary="Cards of your queues", tag=CARDS_TAG, response=CardList)
def list_cards() -> Response:
    """List the handover and renewal cards of your queues still to be handled, the earliest
    due first (admins: every queue's)."""
    rows = board.open_cards(db.session(), access.signed_in_user(), utcnow())
    return json_response(CardList(items=[card_out(row) for row in rows]))


@bp.post("/cards/<int:card_id>/accept")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(summary="Accept a card", tag=CARDS_TAG, response=CardOut, errors=(404, 409))
def accept_card(card_id: int) -> Response:
    """Take a card of your queues; a handover makes you the customer account's owner. 409
    when someone has it already."""
    card = cards.accept(db.session(), access.signed_in_user(), card_id)
    return json_response(_one(card))


@bp.post("/cards/<int:card_id>/done")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Mark a card done",
    tag=CARDS_TAG,
    response=CardOut,
    body=cards.FinishIn,
    errors=(404, 409),
)
def finish_card(card_id: int) -> Response:
    """Mark a card handled: a handover `onboarded`, a renewal `renewed` or `ended` (an ended
    contract raises no more renewals). A waiting card is accepted on the way."""
    data = parse_json(cards.FinishIn)
    card = cards.finish(db.session(), access.signed_in_user(), card_id, data)
    return json_response(_one(card))
