"""Routing rules: saving and ordering them, and trying them on a lead's facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session, selectinload

from contentfeed.db import Id
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import N_, _
from contentfeed.routing.lead_facts import Facts
from contentfeed.routing.models import (
    Queue,
    RoutingRule,
    Strategy,
)
from contentfeed.routing.reasons import Reason, reason
from contentfeed.routing.rule_conditions import (
    check_conditions,
    condition_holds,
)
from contentfeed.text import Input


def list_rules(s: Session) -> list[RoutingRule]:
    """Return the rules in the order they are tried."""
    return list(
        s.scalars(
            sa.select(RoutingRule)
            .options(selectinload(RoutingRule.queue))
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    )


def has_rules(s: Session) -> bool:
    """Tell whether any routing rule exists."""
    return bool(s.scalar(sa.select(sa.func.count()).select_from(RoutingRule)))


def get_rule(s: Session, rule_id: int) -> RoutingRule:
    """Return a rule or raise NotFound."""
    rule = s.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(_("No routing rule has this id."))
    return rule


class RuleIn(Input):
    """A routing rule as an admin writes it on the page or through the API; the conditions are
    checked by ``rule_conditions.check_conditions`` when the rule is saved."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    queue_id: Id = Field(description="Where matching leads go")
    conditions: dict[str, Any] = Field(default_factory=dict)
    strategy: Strategy | None = Field(
        default=None, description="How a matching lead reaches a rep; null: the queue's own"
    )
    enabled: bool = Field(default=True, description="A switched-off rule is skipped")


def save_rule(s: Session, data: RuleIn, rule: RoutingRule | None = None) -> RoutingRule:
    """Create a rule (tried last) or update one."""
    if s.get(Queue, data.queue_id) is None:
        message = _("no queue has this id")
        raise Invalid(_("Some fields need attention."), {"queue_id": message})
    conditions = check_conditions(data.conditions)
    if rule is None:
        last = s.scalar(sa.select(sa.func.max(RoutingRule.position))) or 0
        rule = RoutingRule(position=last + 1)
        s.add(rule)
    rule.name = data.name
    rule.queue_id = data.queue_id
    rule.conditions = conditions
    rule.strategy = data.strategy
    rule.enabled = data.enabled
    s.flush()
    s.refresh(rule, ["queue"])  # the queue's id may have changed: load which it is now
    return rule


def delete_rule(s: Session, rule_id: int) -> None:
    """Delete a rule; the others keep their order."""
    s.delete(get_rule(s, rule_id))
    s.flush()


def reorder_rules(s: Session, rule_ids: Sequence[int]) -> list[RoutingRule]:
    """Put the rules in the given order (every rule exactly once)."""
    rules = {rule.id: rule for rule in list_rules(s)}
    if sorted(rule_ids) != sorted(rules):
        raise Invalid(
            _("Give every rule's id exactly once, in the new order."),
            {"rule_ids": _("expected the ids %(ids)s", ids=sorted(rules))},
        )
    for position, rule_id in enumerate(rule_ids, start=1):
        rules[rule_id].position = position
    s.flush()
    return [rules[rule_id] for rule_id in rule_ids]


def move_rule(s: Session, rule_id: int, step: int) -> None:
    """Move a rule one place up (step -1) or down (step 1)."""
    ids = [rule.id for rule in list_rules(s)]
    if rule_id not in ids:
        raise NotFound(_("No routing rule has this id."))
    at = ids.index(rule_id)
    to = min(max(at + step, 0), len(ids) - 1)
    ids.insert(to, ids.pop(at))
    reorder_rules(s, ids)


def _reason_of(check: Mapping[str, Any]) -> Reason:
    return {"why_text": check["why_text"], "why_args": check["why_args"]}


def evaluate(
    rules: Sequence[RoutingRule], facts: Facts
) -> tuple[RoutingRule | None, list[dict[str, Any]]]:
    """Try the rules in order; return the first that matches and the trace of each tried."""
    tried: list[dict[str, Any]] = []
    for rule in rules:
        if not rule.enabled:
            tried.append(
                {
                    "rule_id": rule.id,
                    "name": rule.name,
                    "matched": False,
                    **reason(N_("switched off")),
                }
            )
            continue
        checks = []
        for name, value in rule.conditions.items():
            ok, why = condition_holds(name, value, facts)
            checks.append({"condition": name, "ok": ok, **why})
        matched = all(check["ok"] for check in checks)
        if not checks:
            verdict = reason(N_("no conditions: matches every lead"))
        elif matched:
            verdict = reason(N_("all conditions hold"))
        else:
            verdict = reason(
                N_("not matched: %(reasons)s"),
                reasons=[_reason_of(c) for c in checks if not c["ok"]],
            )
        tried.append(
            {
                "rule_id": rule.id,
                "name": rule.name,
                "matched": matched,
                **verdict,
                "checks": checks,
            }
        )
        if matched:
            return rule, tried
    return None, tried


@dataclass(frozen=True)
class RoutingReason:
    """Why a lead is in its queue, as its routing trace recorded it when it was routed."""

    rule_id: int | None  # None: no rule matched (the default queue), or a repeat visit
    rule_name: str
    why: str


def routing_reason(trace: Mapping[str, Any] | None) -> RoutingReason | None:
    """Read the matched rule and the reason from a lead's routing trace (None: not routed)."""
    if not trace:
        return None
    if "duplicate_of" in trace:  # a repeat visit, folded into the person's open lead
        return RoutingReason(None, "", str(trace.get("why", "")))
    queue = trace.get("queue") or {}
    why = str(queue.get("why", "")) if isinstance(queue, Mapping) else ""
    # The rule that matched is the last one tried, and only when it matched.
    tried = [entry for entry in trace.get("rules") or [] if isinstance(entry, Mapping)]
    if tried and tried[-1].get("matched"):
        rule_id = tried[-1].get("rule_id")
        return RoutingReason(
            int(rule_id) if isinstance(rule_id, int) else None, str(tried[-1].get("name", "")), why
        )
    return RoutingReason(None, "", why)
