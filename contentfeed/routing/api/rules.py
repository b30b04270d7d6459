"""Routing API: the rules, their order, and the dry run that tries them on a sample lead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, url_for
from pydantic import BaseModel, ConfigDict, Field, create_model

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.api import (
    QueueRef,
    Timestamp,
    json_response,
    operation,
    parse_json,
)
from contentfeed.db import Id
from contentfeed.errors import Invalid
from contentfeed.routing import (
    rule_conditions,
    rulebook,
    service,
)
from contentfeed.routing.api import bp
from contentfeed.routing.api.common import (
    ADMIN,
    ADMIN_TAG,
    WRITE_SCOPE,
)
from contentfeed.routing.models import (
    RoutingRule,
    Strategy,
)
from contentfeed.routing.service import SampleLead
from contentfeed.text import Input

# --- rules ---------------------------------------------------------------------------------


def _condition_field(condition: rule_conditions.Condition) -> tuple[Any, Any]:
    """The API field of a condition: its kind says the type, null leaves it unchecked."""
    kind, help_text, most = condition.kind, condition.api_help, rule_conditions.MAX_ITEMS
    if kind is rule_conditions.Kind.YES_NO:
        return bool | None, Field(default=None, description=help_text)
    if kind is rule_conditions.Kind.SCORE:
        return int | None, Field(default=None, ge=0, le=100, description=help_text)
    if kind is rule_conditions.Kind.TEAMS:
        return list[Id] | None, Field(default=None, max_length=most, description=help_text)
    return list[str] | None, Field(default=None, max_length=most, description=help_text)


class _StrictInput(Input):
    model_config = ConfigDict(extra="forbid")


CONDITIONS_DOC = """What a lead must look like for a rule to match: every condition given must hold.

    Leave a condition out (or null) not to check it; a rule without conditions matches every
    lead.
    """

if TYPE_CHECKING:

    class Conditions(_StrictInput):
        """The conditions, one optional field per declared condition."""

else:
    Conditions = create_model(
        "Conditions",
        __base__=_StrictInput,
        __doc__=CONDITIONS_DOC,
        __module__=__name__,
        **{c.key: _condition_field(c) for c in rule_conditions.CONDITIONS},
    )


class RuleIn(rulebook.RuleIn):
    """A routing rule as an admin writes it (the use case's model, with each condition a
    field of its own in the API's document)."""

    conditions: Conditions = Field(default_factory=Conditions)  # type: ignore[assignment]


class RuleOut(BaseModel):
    """A routing rule; rules are tried by position and the first match decides."""

    id: int
    position: int
    name: str
    enabled: bool
    queue: QueueRef
    strategy: Strategy | None = Field(description="null: the queue's own strategy")
    conditions: Conditions
    created_at: Timestamp
    updated_at: Timestamp


class RuleList(BaseModel):
    """Every rule in the order they are tried."""

    items: list[RuleOut]


class RuleOrderIn(Input):
    """The rules' new order."""

    model_config = ConfigDict(extra="forbid")

    rule_ids: list[Id] = Field(description="Every rule's id exactly once, first tried first")


def rule_out(rule: RoutingRule) -> RuleOut:
    """Describe a routing rule for the API."""
    return RuleOut(
        id=rule.id,
        position=rule.position,
        name=rule.name,
        enabled=rule.enabled,
        queue=QueueRef(id=rule.queue.id, name=rule.queue.name),
        strategy=rule.strategy,
        conditions=Conditions.model_validate(rule.conditions),
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _save_rule(data: RuleIn, rule: RoutingRule | None = None) -> RoutingRule:
    conditions = data.conditions.model_dump(exclude_none=True)
    try:
        rule_conditions.check_conditions(conditions)
    except Invalid as exc:  # name the fields as the body has them: conditions.<key>
        fields = {f"conditions.{key}": text for key, text in exc.fields.items()}
        raise Invalid(exc.message, fields) from None
    chosen = rulebook.RuleIn.model_validate({**dict(data), "conditions": conditions})
    return rulebook.save_rule(db.session(), chosen, rule)


@bp.get("/routing/rules")
@access.require_scope("read", *ADMIN)
@operation(summary="List routing rules", tag=ADMIN_TAG, response=RuleList)
def list_rules() -> Response:
    """List the rules in the order they are tried."""
    s = db.session()
    body = RuleList(items=[rule_out(rule) for rule in rulebook.list_rules(s)])
    return json_response(body)


@bp.post("/routing/rules")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Add a routing rule", tag=ADMIN_TAG, response=RuleOut, status=201, body=RuleIn)
def create_rule() -> Response:
    """Add a rule; it is tried after the existing ones (reorder to move it up)."""
    data = parse_json(RuleIn)
    rule = _save_rule(data)
    body = rule_out(rule)
    response = json_response(body, 201)
    response.headers["Location"] = url_for("routing_api.get_rule", rule_id=rule.id)
    return response


@bp.get("/routing/rules/<int:rule_id>")
@access.require_scope("read", *ADMIN)
@operation(summary="Get a routing rule", tag=ADMIN_TAG, response=RuleOut, errors=(404,))
def get_rule(rule_id: int) -> Response:
    """Return one rule with its conditions."""
    s = db.session()
    body = rule_out(rulebook.get_rule(s, rule_id))
    return json_response(body)


@bp.put("/routing/rules/<int:rule_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Change a routing rule", tag=ADMIN_TAG, response=RuleOut, body=RuleIn, errors=(404,)
)
def update_rule(rule_id: int) -> Response:
    """Replace a rule's name, queue, conditions, strategy and switch; it keeps its place."""
    s = db.session()
    rule = rulebook.get_rule(s, rule_id)
    data = parse_json(RuleIn)
    body = rule_out(_save_rule(data, rule))
    return json_response(body)


@bp.delete("/routing/rules/<int:rule_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Delete a routing rule", tag=ADMIN_TAG, status=204, errors=(404,))
def delete_rule(rule_id: int) -> Response:
    """Delete a rule; the others keep their order."""
    s = db.session()
    rulebook.delete_rule(s, rule_id)
    return Response(status=204)


@bp.put("/routing/rules/order")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Reorder routing rules", tag=ADMIN_TAG, response=RuleList, body=RuleOrderIn)
def reorder_rules() -> Response:
    """Put the rules in a new order; give every rule's id exactly once."""
    data = parse_json(RuleOrderIn)
    s = db.session()
    body = RuleList(items=[rule_out(rule) for rule in rulebook.reorder_rules(s, data.rule_ids)])
    return json_response(body)


# --- dry run -------------------------------------------------------------------------------


class FactsOut(BaseModel):
    """What the rules see of a lead."""

    email_domain: str
    company_domain: str
    free_mail: bool
    account_id: int | None = Field(description="The customer account of the domain, if any")
    account_name: str
    country: str
    region: str
    company: str
    job_title: str
    score: int
    seller_id: int | None = Field(description="The attributed (last-touch) seller, if any")
    seller_name: str
    seller_team_id: int | None
    seller_team_name: str


class CheckOut(BaseModel):
    """One condition of a rule, and whether it held."""

    condition: str
    ok: bool
    why: str


class RuleTried(BaseModel):
    """A rule tried in order, until one matched."""

    rule_id: int
    name: str
    matched: bool
    why: str
    checks: list[CheckOut] = Field(default=[], description="Empty for a switched-off rule")


class QueueChosen(BaseModel):
    """The queue the lead goes to, and why."""

    id: int
    name: str
    why: str


class RepConsidered(BaseModel):
    """A queue member considered for the lead."""

    user_id: int
    name: str
    eligible: bool
    why: str


class Assignment(BaseModel):
    """How a rep would be picked; reps claim leads themselves under the claim strategy."""

    strategy: Strategy
    why: str = ""
    reps: list[RepConsidered] = Field(default=[], description="Members considered, in order")
    picked: int | None = Field(default=None, description="The user id the lead would go to")


class DryRunOut(BaseModel):
    """Where a lead would go, with the trace of every decision."""

    facts: FactsOut
    rules: list[RuleTried]
    queue: QueueChosen | None = Field(description="null when no rule matched and no default")
    assignment: Assignment
    due_at: Timestamp | None = Field(description="When the SLA would run out if routed now")


@bp.post("/routing/dry-run")
@access.require_scope("read", *ADMIN)  # it changes nothing
@operation(
    summary="Try the rules on a sample lead", tag=ADMIN_TAG, response=DryRunOut, body=SampleLead
)
def dry_run() -> Response:
    """Say where a lead like this would go and why, trying the rules as they are now.

    Nothing is stored: no lead, no touches, and the reps' turn counters stay where they are.
    """
    data = parse_json(SampleLead)
    settings = config.current()
    tried = service.try_sample(
        db.session(),
        data,
        settings.routing,
        lookback_days=settings.leads.attribution_lookback_days,
    )
    return json_response(DryRunOut.model_validate(tried.trace))
