"""Customer development API under /api/v1/customers: the customers, one customer's plan, and
its contracts, goals and next steps, through the same use cases as the account page.

Admins and the reps of the customer development queue reach every customer; another rep
only the accounts they own. An account (or a plan item) outside the caller's reach answers
404, as for no such id.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, Response, url_for
from pydantic import BaseModel, ConfigDict, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.api import Timestamp, UserRef, json_response, operation, parse_json, parse_query
from contentfeed.customers import overview, plans
from contentfeed.customers.models import Contract, Goal, GoalStatus, NextStep
from contentfeed.db import PageNumber
from contentfeed.text import Input

bp = Blueprint("customers_api", __name__, url_prefix="/api/v1/customers")

TAG = "customer development"
# A customer's plan is work of the routing side (customer accounts, the customer queue):
# the scope reps' tokens already carry for their queues.
WRITE_SCOPE = "routing:write"
WORKERS = (Role.REP, Role.ADMIN)
MAX_PER_PAGE = 200


class CustomerQuery(Input):
    """Search and page for the customer list."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", max_length=200, description="Search in names and domains")
    page: PageNumber = 1
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


class CustomerOut(BaseModel):
    """A customer account as customer development sees it."""

    id: int
    name: str
    domains: list[str]
    owner: UserRef | None
    customer_since: Timestamp | None
    next_contract_end: date | None = Field(
        description="When the running contract that ends first ends"
    )
    open_cards: int = Field(description="Handover and renewal cards not done yet")


class CustomerList(BaseModel):
    """One page of customers, by name."""

    items: list[CustomerOut]
    page: int
    per_page: int
    total: int


class ContractOut(BaseModel):
    """A contract of the customer."""

    id: int
    name: str
    ends_on: date
    crm_id: str
    ended: bool


class GoalOut(BaseModel):
    """A goal for more of the customer's business."""

    id: int
    product: str
    target_on: date | None
    status: GoalStatus


class StepOut(BaseModel):
    """A next step of the plan."""

    id: int
    text: str
    owner: UserRef | None
    due_on: date | None
    done_at: Timestamp | None


class CustomerPlanOut(CustomerOut):
    """A customer with its plan: contracts, goals and next steps."""

    contracts: list[ContractOut]
    goals: list[GoalOut]
    steps: list[StepOut]


def _user(user: access.User | None) -> UserRef | None:
    return UserRef(id=user.id, name=user.name) if user is not None else None


def _customer(row: overview.CustomerRow) -> CustomerOut:
    a = row.account
    return CustomerOut(
        id=a.id,
        name=a.name,
        domains=a.domain_names,
        owner=_user(a.owner),
        customer_since=a.customer_since,
        next_contract_end=row.next_contract.ends_on if row.next_contract else None,
        open_cards=row.open_cards,
    )


def contract_out(c: Contract) -> ContractOut:
    """Describe a contract for the API."""
    return ContractOut(id=c.id, name=c.name, ends_on=c.ends_on, crm_id=c.crm_id, ended=c.ended)


def goal_out(g: Goal) -> GoalOut:
    """Describe a goal for the API."""
    return GoalOut(id=g.id, product=g.product, target_on=g.target_on, status=g.status)


def step_out(st: NextStep) -> StepOut:
    """Describe a next step for the API."""
    done: datetime | None = st.done_at
    return StepOut(id=st.id, text=st.text, owner=_user(st.owner), due_on=st.due_on, done_at=done)


def _user_now() -> access.User:
    return access.signed_in_user()


@bp.get("")
@access.require_scope("read", *WORKERS)
@operation(summary="List customers", tag=TAG, response=CustomerList, query=CustomerQuery)
def list_customers() -> Response:
    """List the customers the caller may see, by name: owner, customer since, the next
    contract to end and the open cards."""
    query = parse_query(CustomerQuery)
    found = overview.list_customers(
        db.session(),
        _user_now(),
        query.q,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
    )
    body = CustomerList(
        items=[_customer(row) for row in found.rows],
        page=query.page,
        per_page=query.per_page,
        total=found.total,
    )
    return json_response(body)


def _plan_body(account_id: int) -> CustomerPlanOut:
    s = db.session()
    actor = _user_now()
    plan = plans.plan_of(s, actor, account_id)
    a = plan.account
    running = [c for c in plan.contracts if not c.ended]
    return CustomerPlanOut(
        id=a.id,
        name=a.name,
        domains=a.domain_names,
        owner=_user(a.owner),
        customer_since=a.customer_since,
        next_contract_end=min((c.ends_on for c in running), default=None),
        open_cards=overview.open_cards(s, a.id),
        contracts=[contract_out(c) for c in plan.contracts],
        goals=[goal_out(g) for g in plan.goals],
        steps=[step_out(st) for st in plan.steps],
    )


@bp.get("/<int:account_id>")
@access.require_scope("read", *WORKERS)
@operation(summary="Get a customer and its plan", tag=TAG, response=CustomerPlanOut, errors=(404,))
def get_customer(account_id: int) -> Response:
    """Return a customer with its contracts, goals and next steps."""
    return json_response(_plan_body(account_id))


def _created(model: BaseModel, account_id: int) -> Response:
    response = json_response(model, 201)
    response.headers["Location"] = url_for("customers_api.get_customer", account_id=account_id)
    return response


# --- contracts -------------------------------------------------------------------------------


@bp.post("/<int:account_id>/contracts")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Add a contract",
    tag=TAG,
    response=ContractOut,
    status=201,
    body=plans.ContractIn,
    errors=(404,),
)
def create_contract(account_id: int) -> Response:
    """Add a contract with the day it ends (its renewal date) to a customer's plan."""
    s = db.session()
    plans.plan_account(s, _user_now(), account_id)
    data = parse_json(plans.ContractIn)
    return _created(contract_out(plans.add_contract(s, _user_now(), account_id, data)), account_id)


@bp.patch("/<int:account_id>/contracts/<int:contract_id>")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Change a contract",
    tag=TAG,
    response=ContractOut,
    body=plans.ContractChange,
    errors=(404,),
)
def update_contract(account_id: int, contract_id: int) -> Response:
    """Change the fields given (name, end date, CRM id, ended); the others stay."""
    data = parse_json(plans.ContractChange)
    contract = plans.edit_contract(
        db.session(), _user_now(), contract_id, data, account_id=account_id
    )
    return json_response(contract_out(contract))


@bp.delete("/<int:account_id>/contracts/<int:contract_id>")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(summary="Remove a contract", tag=TAG, status=204, errors=(404,))
def delete_contract(account_id: int, contract_id: int) -> Response:
    """Remove a contract from the plan (its renewal cards go with it)."""
    plans.delete_contract(db.session(), _user_now(), contract_id, account_id=account_id)
    return Response(status=204)


# --- goals -----------------------------------------------------------------------------------


@bp.post("/<int:account_id>/goals")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Add a goal", tag=TAG, response=GoalOut, status=201, body=plans.GoalIn, errors=(404,)
)
def create_goal(account_id: int) -> Response:
    """Add a goal: a product or service the customer has not bought yet, with a target date."""
    s = db.session()
    plans.plan_account(s, _user_now(), account_id)
    data = parse_json(plans.GoalIn)
    return _created(goal_out(plans.add_goal(s, _user_now(), account_id, data)), account_id)


@bp.patch("/<int:account_id>/goals/<int:goal_id>")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(summary="Change a goal", tag=TAG, response=GoalOut, body=plans.GoalChange, errors=(404,))
def update_goal(account_id: int, goal_id: int) -> Response:
    """Change the fields given (product, target date, status); the others stay."""
    data = parse_json(plans.GoalChange)
    goal = plans.edit_goal(db.session(), _user_now(), goal_id, data, account_id=account_id)
    return json_response(goal_out(goal))


@bp.delete("/<int:account_id>/goals/<int:goal_id>")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(summary="Remove a goal", tag=TAG, status=204, errors=(404,))
def delete_goal(account_id: int, goal_id: int) -> Response:
    """Remove a goal from the plan."""
    plans.delete_goal(db.session(), _user_now(), goal_id, account_id=account_id)
    return Response(status=204)


# --- next steps ------------------------------------------------------------------------------


@bp.post("/<int:account_id>/steps")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Add a next step",
    tag=TAG,
    response=StepOut,
    status=201,
    body=plans.StepIn,
    errors=(404,),
)
def create_step(account_id: int) -> Response:
    """Add a next step with its owner (an active user; you when left out) and due date."""
    s = db.session()
    plans.plan_account(s, _user_now(), account_id)
    data = parse_json(plans.StepIn)
    return _created(step_out(plans.add_step(s, _user_now(), account_id, data)), account_id)


@bp.patch("/<int:account_id>/steps/<int:step_id>")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Change a next step", tag=TAG, response=StepOut, body=plans.StepChange, errors=(404,)
)
def update_step(account_id: int, step_id: int) -> Response:
    """Change the fields given (text, owner, due date); `"done": true` marks it done."""
    data = parse_json(plans.StepChange)
    step = plans.edit_step(db.session(), _user_now(), step_id, data, account_id=account_id)
    return json_response(step_out(step))


@bp.delete("/<int:account_id>/steps/<int:step_id>")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(summary="Remove a next step", tag=TAG, status=204, errors=(404,))
def delete_step(account_id: int, step_id: int) -> Response:
    """Remove a next step from the plan."""
    plans.delete_step(db.session(), _user_now(), step_id, account_id=account_id)
    return Response(status=204)
