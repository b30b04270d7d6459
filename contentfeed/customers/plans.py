"""A customer's development plan: its contracts (with the dates they end, the renewals),
goals for more of its business, and next steps with an owner and a due date.

Who may read and change a plan: admins, the reps of the customer development queue
([routing] customer_queue), and the account's owner. Anyone else is told the account does
not exist (404), as the routing pages do for leads outside a rep's queues.

Each use case takes the session, the actor, the id it acts on and one validated input; the
page and the API call the same function, and the request boundary commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from sqlalchemy.orm import Session, selectinload

from contentfeed import config
from contentfeed.accounts.models import Role, User
from contentfeed.customers.models import Contract, Goal, GoalStatus, NextStep
from contentfeed.db import Id, utcnow
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import _
from contentfeed.routing.models import Account, Queue, QueueMember
from contentfeed.routing.queue_setup import queue_by_name
from contentfeed.text import Input

FIRST_YEAR, LAST_YEAR = 2000, 2100  # a plan's dates: a typo such as 0226 or 20266 is refused

_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_GERMAN_DAY = re.compile(r"(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4}|\d{2})")


def read_day(value: Any) -> date:
    """Read a day as the date field (2026-12-31), the API (ISO) or a German person
    (31.12.2026, 31.12.26) writes it; refuse anything else, and years outside 2000-2100."""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError(_("required"))
        iso, german = _ISO_DAY.fullmatch(text), _GERMAN_DAY.fullmatch(text)
        try:
            if iso:
                day = date(int(iso[1]), int(iso[2]), int(iso[3]))
            elif german:
                year = int(german[3])
                day = date(
                    year + 2000 if len(german[3]) == 2 else year, int(german[2]), int(german[1])
                )
            else:
                raise ValueError(text)
        except ValueError:
            raise ValueError(_("not a date: write it as 31.12.2026 or 2026-12-31")) from None
    else:
        raise ValueError(_("not a date: write it as 31.12.2026 or 2026-12-31"))
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(
            _("pick a date between %(first)s and %(last)s", first=FIRST_YEAR, last=LAST_YEAR)
        )
    return day


def _required(value: str) -> str:
    if not value.strip():
        raise ValueError(_("required"))
    return value.strip()


PlanDate = Annotated[
    date,
    BeforeValidator(read_day),
    Field(description="A day, ISO 8601 (2026-12-31); 31.12.2026 is read too"),
]
ContractName = Annotated[str, Field(max_length=200), AfterValidator(_required)]
CrmId = Annotated[str, Field(max_length=120)]
Product = Annotated[
    str,
    Field(max_length=200, description="A product or service the customer has not bought yet"),
    AfterValidator(_required),
]
StepText = Annotated[str, Field(max_length=500), AfterValidator(_required)]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContractIn(Input):
    """A contract the customer holds and the day it ends (its renewal date)."""

    model_config = _STRICT

    name: ContractName
    ends_on: PlanDate
    crm_id: CrmId = Field(default="", description="The CRM's id of the contract, if known")


class ContractChange(Input):
    """Changes to a contract: the fields given are changed, the others kept."""

    model_config = _STRICT

    name: ContractName = ""
    ends_on: PlanDate | None = None
    crm_id: CrmId = ""
    ended: bool = Field(default=False, description="The customer let it run out")


class GoalIn(Input):
    """More of the customer's business: a product or service not yet bought, by when."""

    model_config = _STRICT

    product: Product
    target_on: PlanDate | None = None
    status: GoalStatus = GoalStatus.OPEN


class GoalChange(Input):
    """Changes to a goal: the fields given are changed, the others kept."""

    model_config = _STRICT

    product: Product = ""
    target_on: PlanDate | None = None
    status: GoalStatus = GoalStatus.OPEN


class StepIn(Input):
    """A next step: what, who does it (an active user; the actor when left out), by when."""

    model_config = _STRICT

    text: StepText
    owner_id: Id | None = Field(default=None, description="Who does it; you when left out")
    due_on: PlanDate | None = None


class StepChange(Input):
    """Changes to a next step: the fields given are changed, the others kept."""

    model_config = _STRICT

    text: StepText = ""
    owner_id: Id | None = None
    due_on: PlanDate | None = None
    done: bool = Field(default=False, description="true: done now; false: open again")


@dataclass(frozen=True)
class Plan:
    """A customer's plan as its page and the API show it."""

    account: Account
    contracts: list[Contract]
    goals: list[Goal]
    steps: list[NextStep]


# --- who may ---------------------------------------------------------------------------------


def customer_queue(s: Session) -> Queue | None:
    """Return the customer development queue ([routing] customer_queue), if it exists."""
    return queue_by_name(s, config.current().routing.customer_queue)


def develops_customers(s: Session, actor: User) -> bool:
    """Tell whether the actor works every customer's plan: an admin, or a member of the
    customer development queue."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.REP:
        return False
    queue = customer_queue(s)
    if queue is None:
        return False
    member = s.scalar(
        sa.select(QueueMember.id).where(
            QueueMember.queue_id == queue.id, QueueMember.user_id == actor.id
        )
    )
    return member is not None


def may_see(s: Session, actor: User, account: Account) -> bool:
    """Tell whether the actor may read and change this account's plan."""
    return account.owner_id == actor.id or develops_customers(s, actor)


def plan_account(s: Session, actor: User, account_id: int) -> Account:
    """Return an account whose plan the actor may work, or raise NotFound (also when they
    may not: its existence is not given away)."""
    account = s.get(Account, account_id)
    if account is None or not may_see(s, actor, account):
        raise NotFound(_("No customer account has this id."))
    return account


def _of_account(
    s: Session, actor: User, model: Any, item_id: int, missing: str, account_id: int | None
) -> Any:
    """Return a plan item the actor may change (of ``account_id``, when given)."""
    item = s.get(model, item_id)
    if item is None or (account_id is not None and item.account_id != account_id):
        raise NotFound(missing)
    account = s.get(Account, item.account_id)
    if account is None or not may_see(s, actor, account):
        raise NotFound(missing)
    return item


def plan_of(s: Session, actor: User, account_id: int) -> Plan:
    """Return a customer's plan: contracts by end date (running ones first), goals (open
    ones first) and next steps (open ones first, by due date)."""
    account = plan_account(s, actor, account_id)
    contracts = s.scalars(
        sa.select(Contract)
        .where(Contract.account_id == account.id)
        .order_by(Contract.ended, Contract.ends_on, Contract.id)
    )
    goals = s.scalars(
        sa.select(Goal)
        .where(Goal.account_id == account.id)
        .order_by(Goal.status != GoalStatus.OPEN, Goal.target_on.is_(None), Goal.target_on, Goal.id)
    )
    steps = s.scalars(
        sa.select(NextStep)
        .options(selectinload(NextStep.owner))
        .where(NextStep.account_id == account.id)
        .order_by(
            NextStep.done_at.is_not(None),
            NextStep.due_on.is_(None),
            NextStep.due_on,
            NextStep.id,
        )
    )
    return Plan(account, list(contracts), list(goals), list(steps))


# --- contracts -------------------------------------------------------------------------------


def add_contract(s: Session, actor: User, account_id: int, data: ContractIn) -> Contract:
    """Add a contract, with the day it ends, to a customer's plan."""
    account = plan_account(s, actor, account_id)
    contract = Contract(
        account_id=account.id, name=data.name, ends_on=data.ends_on, crm_id=data.crm_id
    )
    s.add(contract)
    s.flush()
    return contract


def edit_contract(
    s: Session,
    actor: User,
    contract_id: int,
    data: ContractChange,
    *,
    account_id: int | None = None,
) -> Contract:
    """Change a contract's name, end date, CRM id, or whether it ended."""
    contract: Contract = _of_account(
        s, actor, Contract, contract_id, _("No contract has this id."), account_id
    )
    given = data.model_fields_set
    if "ends_on" in given and data.ends_on is None:
        raise Invalid(_("Some fields need attention."), {"ends_on": _("required")})
    if "name" in given:
        contract.name = data.name
    if data.ends_on is not None:
        contract.ends_on = data.ends_on
    if "crm_id" in given:
        contract.crm_id = data.crm_id
    if "ended" in given:
        contract.ended = data.ended
    s.flush()
    return contract


def end_contract(
    s: Session, actor: User, contract_id: int, *, account_id: int | None = None
) -> Contract:
    """Mark a contract ended: the customer let it run out, no renewal is raised for it."""
    change = ContractChange(ended=True)
    return edit_contract(s, actor, contract_id, change, account_id=account_id)


def delete_contract(
    s: Session, actor: User, contract_id: int, *, account_id: int | None = None
) -> None:
    """Remove a contract entered by mistake (its renewal cards go with it)."""
    contract = _of_account(
        s, actor, Contract, contract_id, _("No contract has this id."), account_id
    )
    s.delete(contract)
    s.flush()


# --- goals -----------------------------------------------------------------------------------


def add_goal(s: Session, actor: User, account_id: int, data: GoalIn) -> Goal:
    """Add a goal for more of the customer's business."""
    account = plan_account(s, actor, account_id)
    goal = Goal(
        account_id=account.id, product=data.product, target_on=data.target_on, status=data.status
    )
    s.add(goal)
    s.flush()
    return goal


def edit_goal(
    s: Session, actor: User, goal_id: int, data: GoalChange, *, account_id: int | None = None
) -> Goal:
    """Change a goal's product, target date or status (open, won, dropped)."""
    goal: Goal = _of_account(s, actor, Goal, goal_id, _("No goal has this id."), account_id)
    given = data.model_fields_set
    if "product" in given:
        goal.product = data.product
    if "target_on" in given:
        goal.target_on = data.target_on
    if "status" in given:
        goal.status = data.status
    s.flush()
    return goal


def delete_goal(s: Session, actor: User, goal_id: int, *, account_id: int | None = None) -> None:
    """Remove a goal from the plan."""
    s.delete(_of_account(s, actor, Goal, goal_id, _("No goal has this id."), account_id))
    s.flush()


# --- next steps ------------------------------------------------------------------------------


def _owner(s: Session, actor: User, owner_id: int | None) -> User:
    if owner_id is None:
        return actor
    owner = s.get(User, owner_id)
    if owner is None or not owner.is_active:
        raise Invalid(_("Some fields need attention."), {"owner_id": _("pick an active user")})
    return owner


def add_step(s: Session, actor: User, account_id: int, data: StepIn) -> NextStep:
    """Add a next step, with who does it and by when."""
    account = plan_account(s, actor, account_id)
    owner = _owner(s, actor, data.owner_id)
    step = NextStep(account_id=account.id, text=data.text, owner=owner, due_on=data.due_on)
    s.add(step)
    s.flush()
    return step


def edit_step(
    s: Session, actor: User, step_id: int, data: StepChange, *, account_id: int | None = None
) -> NextStep:
    """Change a next step's text, owner or due date, or mark it done (or open again)."""
    step: NextStep = _of_account(
        s, actor, NextStep, step_id, _("No next step has this id."), account_id
    )
    given = data.model_fields_set
    if "owner_id" in given:
        step.owner = _owner(s, actor, data.owner_id)
    if "text" in given:
        step.text = data.text
    if "due_on" in given:
        step.due_on = data.due_on
    if "done" in given:
        step.done_at = (step.done_at or utcnow()) if data.done else None
    s.flush()
    return step


def finish_step(
    s: Session, actor: User, step_id: int, *, account_id: int | None = None
) -> NextStep:
    """Mark a next step done."""
    return edit_step(s, actor, step_id, StepChange(done=True), account_id=account_id)


def delete_step(s: Session, actor: User, step_id: int, *, account_id: int | None = None) -> None:
    """Remove a next step from the plan."""
    missing = _("No next step has this id.")
    s.delete(_of_account(s, actor, NextStep, step_id, missing, account_id))
    s.flush()
