"""Routing decisions: accounts, queues, rules, where each lead goes and who works it.

A new lead is routed by the ``routing.route_leads`` job (every few seconds), so the lead
webhook stays a two-statement affair. Routing a lead, in one transaction: if the same person
has an open lead, the new one is folded into it (the rep sees the person came back);
otherwise the rules are tried in order, the first match names a queue and a strategy, a rep is
picked where the strategy says so, the SLA clock starts, the trace of every decision is kept
on the lead, a message for the CRM goes to the outbox and the attributed seller is told.
Working a routed lead (claims, statuses, notes, the queue page, the SLA sweep) is work.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, Team, User
from contentfeed.db import utcnow
from contentfeed.errors import Invalid, NotFound
from contentfeed.leads import attribution
from contentfeed.leads.models import (
    OPEN_STATUSES,
    Lead,
    LeadStatus,
    Touch,
)
from contentfeed.leads.service import last_touch
from contentfeed.routing import calendar, domains
from contentfeed.routing.models import (
    Account,
    AccountDomain,
    LeadActivity,
    OutboxMessage,
    OutboxStatus,
    Queue,
    QueueMember,
    RoutingRule,
    SellerNotice,
    Strategy,
)
from contentfeed.text import LINE_PROBLEM, checked_text, control_problem, name_key

ROUTE_BATCH = 200
DEFAULT_CLAIM_MINUTES = 30  # a new queue's claim window (Queue.claim_minutes)
MAX_CLAIM_MINUTES = 60 * 24 * 7  # a claim window longer than a week is a forgotten lead
CONDITION_KEYS = (
    "customer",
    "free_mail",
    "countries",
    "regions",
    "companies",
    "title_keywords",
    "min_score",
    "max_score",
    "seller_team_ids",
)
SENIOR_TITLE = re.compile(
    r"\b(chief|ceo|cto|cio|cfo|coo|cmo|ciso|founder|owner|president|vp|vice president|head|"
    r"director|partner|geschäftsführer|leiter|directeur)\b",
    re.IGNORECASE,
)
MANAGER_TITLE = re.compile(r"\b(manager|lead|principal|architect)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RoutingSettings:
    """The routing settings, read once from the app's config."""

    default_queue: str = "Digital sales"
    customer_queue: str = "Customer development"
    default_sla_minutes: int = 60
    customer_sla_minutes: int = 240
    dedupe_days: int = 30

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RoutingSettings:
        """Read the routing settings from app.config."""
        return cls(
            default_queue=str(config["ROUTING_DEFAULT_QUEUE"]),
            customer_queue=str(config["ROUTING_CUSTOMER_QUEUE"]),
            default_sla_minutes=int(config["ROUTING_DEFAULT_SLA_MINUTES"]),
            customer_sla_minutes=int(config["ROUTING_CUSTOMER_SLA_MINUTES"]),
            dedupe_days=int(config["ROUTING_DEDUPE_DAYS"]),
        )


# --- defaults ----------------------------------------------------------------------------


def ensure_defaults(s: Session, settings: RoutingSettings, *, force: bool = False) -> None:
    """Create the two default queues and rules from config on first use.

    Known customers go to customer development ("hunters after the signature"), everyone else
    to digital sales. Reps of a team of the matching kind become the queues' members. Only
    while no queue exists (a fresh install), unless ``force`` (an admin asked for them): an
    admin who deleted every rule does not get them back behind their back.
    """
    if s.scalar(sa.select(sa.func.count()).select_from(RoutingRule)):
        return
    if not force and s.scalar(sa.select(sa.func.count()).select_from(Queue)):
        return
    customer = queue_by_name(s, settings.customer_queue) or _new_queue(
        s, settings.customer_queue, settings.customer_sla_minutes, "customer_development"
    )
    default = queue_by_name(s, settings.default_queue) or _new_queue(
        s, settings.default_queue, settings.default_sla_minutes, "digital_sales"
    )
    s.add_all(
        [
            RoutingRule(
                position=1,
                name="Known customers",
                conditions={"customer": True},
                queue=customer,
            ),
            RoutingRule(position=2, name="Everyone else", conditions={}, queue=default),
        ]
    )
    s.flush()


def _new_queue(s: Session, name: str, sla_minutes: int, team_kind: str) -> Queue:
    queue = Queue(name=name, sla_minutes=sla_minutes, strategy=Strategy.CLAIM)
    reps = s.scalars(
        sa.select(User)
        .join(Team, Team.id == User.team_id)
        .where(User.role == Role.REP, User.is_active.is_(True), Team.kind == team_kind)
        .order_by(User.id)
    )
    queue.members = [QueueMember(user=rep) for rep in reps]
    s.add(queue)
    s.flush()
    return queue


def queue_by_name(s: Session, name: str) -> Queue | None:
    """Return the queue of this name, if any, ignoring case ("Équipe" is "équipe")."""
    exact = s.scalar(sa.select(Queue).where(Queue.name == name))
    if exact is not None:
        return exact
    # Compared in Python: SQLite's lower() folds ASCII only. Queues are few.
    key = name_key(name)
    return next((q for q in s.scalars(sa.select(Queue)) if name_key(q.name) == key), None)


# --- accounts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountIn:
    """An account as an admin or the CRM import gives it."""

    name: str
    domains: list[str]
    crm_id: str = ""
    owner_team_id: int | None = None
    owner_id: int | None = None


def check_account(s: Session, data: AccountIn, account_id: int | None = None) -> list[str]:
    """Check an account's fields and return its normalised domains, or raise Invalid."""
    problems: dict[str, str] = {}
    if control_problem(data.crm_id):
        problems["crm_id"] = LINE_PROBLEM
    if control_problem(data.name):
        problems["name"] = LINE_PROBLEM
    elif not data.name.strip():
        problems["name"] = "required"
    elif len(data.name.strip()) > 200:
        problems["name"] = "at most 200 characters"
    names: list[str] = []
    for raw in data.domains:
        domain = domains.normalise_domain(raw)
        if not domain:
            continue
        if "." not in domain or not re.fullmatch(r"[a-z0-9.-]+", domain) or len(domain) > 253:
            problems["domains"] = f"{raw.strip()!r} is not a domain"
            break
        if domains.is_freemail(domain):
            problems["domains"] = f"{domain} is a free-mail provider, not a company's domain"
            break
        if domain not in names:
            names.append(domain)
    if not names and "domains" not in problems:
        problems["domains"] = "give at least one domain, e.g. acme.com"
    if names:
        taken = s.execute(
            sa.select(AccountDomain.domain, Account.name)
            .join(Account)
            .where(AccountDomain.domain.in_(names), AccountDomain.account_id != (account_id or 0))
        ).first()
        if taken is not None:
            problems["domains"] = f"{taken.domain} already belongs to {taken.name}"
    if data.owner_team_id is not None and s.get(Team, data.owner_team_id) is None:
        problems["owner_team_id"] = "no team has this id"
    if data.owner_id is not None and s.get(User, data.owner_id) is None:
        problems["owner_id"] = "no user has this id"
    if problems:
        raise Invalid("Some fields need attention.", problems)
    return names


def save_account(s: Session, data: AccountIn, account: Account | None = None) -> Account:
    """Create an account, or update one, with its domains."""
    names = check_account(s, data, account.id if account else None)
    account = account or Account()
    account.name = data.name.strip()
    account.crm_id = data.crm_id.strip()[:120]
    account.owner_team_id = data.owner_team_id
    account.owner_id = data.owner_id
    kept = {d.domain: d for d in account.domains}
    account.domains = [kept.get(name) or AccountDomain(domain=name) for name in names]
    s.add(account)
    s.flush()
    return account


def get_account(s: Session, account_id: int) -> Account:
    """Return an account or raise NotFound."""
    account = s.get(Account, account_id)
    if account is None:
        raise NotFound("No account has this id.")
    return account


def delete_account(s: Session, account_id: int) -> None:
    """Forget a customer account; its leads keep their routing (their account link clears)."""
    s.delete(get_account(s, account_id))
    s.flush()


def list_accounts(s: Session, q: str = "") -> list[Account]:
    """Return the accounts, by name, optionally searched by name or domain."""
    query = sa.select(Account).options(selectinload(Account.domains)).order_by(Account.name)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Account.name).like(like),
                Account.id.in_(
                    sa.select(AccountDomain.account_id).where(AccountDomain.domain.like(like))
                ),
            )
        )
    return list(s.scalars(query))


def account_for_domain(s: Session, domain: str) -> Account | None:
    """Return the customer account an email domain belongs to (subdomains included)."""
    if not domain or domains.is_freemail(domain):
        return None
    candidates = domains.candidate_domains(domain)
    rows = s.execute(
        sa.select(AccountDomain.domain, AccountDomain.account_id).where(
            AccountDomain.domain.in_(candidates)
        )
    ).all()
    if not rows:
        return None
    best = min(rows, key=lambda row: candidates.index(row.domain))  # the most specific
    return s.get(Account, best.account_id)


# --- queues and rules ----------------------------------------------------------------------


def list_queues(s: Session) -> list[Queue]:
    """Return every queue with its members, by name."""
    return list(
        s.scalars(
            sa.select(Queue)
            .options(selectinload(Queue.members).selectinload(QueueMember.user))
            .order_by(Queue.name)
        )
    )


def get_queue(s: Session, queue_id: int) -> Queue:
    """Return a queue or raise NotFound."""
    queue = s.get(Queue, queue_id)
    if queue is None:
        raise NotFound("No queue has this id.")
    return queue


@dataclass(frozen=True)
class QueueIn:
    """A queue's settings as an admin edits them."""

    name: str
    description: str = ""
    strategy: Strategy = Strategy.CLAIM
    sla_minutes: int = 60
    business_hours: bool = False
    claim_minutes: int = DEFAULT_CLAIM_MINUTES
    timezone: str = "UTC"
    workdays: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    day_start: str = "09:00"
    day_end: str = "17:00"
    lead_user_id: int | None = None


def save_queue(s: Session, data: QueueIn, queue: Queue | None = None) -> Queue:
    """Create or update a queue, checking its SLA and calendar."""
    problems: dict[str, str] = {}
    name = data.name.strip()
    for field_name, text, multiline in (
        ("name", data.name, False),
        ("description", data.description, True),
        ("timezone", data.timezone, False),
        ("day_start", data.day_start, False),
        ("day_end", data.day_end, False),
    ):
        problem = control_problem(text, multiline=multiline)
        if problem:
            problems[field_name] = problem
    if problems:
        raise Invalid("Some fields need attention.", problems)
    if not name or len(name) > 120:
        problems["name"] = "required, at most 120 characters"
    else:
        other = queue_by_name(s, name)
        if other is not None and (queue is None or other.id != queue.id):
            problems["name"] = "another queue has this name"
    if not 1 <= data.sla_minutes <= 60 * 24 * 30:
        problems["sla_minutes"] = "between 1 minute and 30 days"
    if not 1 <= data.claim_minutes <= MAX_CLAIM_MINUTES:
        problems["claim_minutes"] = f"between 1 and {MAX_CLAIM_MINUTES} minutes (a week)"
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems["timezone"] = f"unknown time zone {data.timezone!r}"
    try:
        start, end = calendar.parse_clock(data.day_start), calendar.parse_clock(data.day_end)
        if data.business_hours and end <= start:
            problems["day_end"] = "must be after the start of the day"
    except ValueError:
        problems["day_start"] = "use HH:MM, e.g. 09:00"
    if data.business_hours and not [d for d in data.workdays if 0 <= d <= 6]:
        problems["workdays"] = "pick at least one working day"
    if data.lead_user_id is not None and s.get(User, data.lead_user_id) is None:
        problems["lead_user_id"] = "no user has this id"
    if problems:
        raise Invalid("Some fields need attention.", problems)
    queue = queue or Queue()
    queue.name = name
    queue.description = data.description.strip()
    queue.strategy = data.strategy
    queue.sla_minutes = data.sla_minutes
    queue.claim_minutes = data.claim_minutes
    queue.business_hours = data.business_hours
    queue.timezone = data.timezone
    queue.workdays = sorted({d for d in data.workdays if 0 <= d <= 6})
    queue.day_start = data.day_start.strip()
    queue.day_end = data.day_end.strip()
    queue.lead_user_id = data.lead_user_id
    s.add(queue)
    s.flush()
    return queue


def set_member(
    s: Session,
    queue: Queue,
    user_id: int,
    *,
    weight: int = 1,
    capacity: int = 0,
    available: bool = True,
) -> QueueMember:
    """Add a rep to a queue or change their weight, capacity and availability."""
    user = s.get(User, user_id)
    if user is None or user.role not in (Role.REP, Role.ADMIN):
        raise Invalid("Only reps (and admins) work queues.", {"user_id": "not a rep"})
    if not 1 <= weight <= 100:
        raise Invalid("The weight is between 1 and 100.", {"weight": "between 1 and 100"})
    if not 0 <= capacity <= 10_000:
        raise Invalid("The capacity is 0 (no limit) or more.", {"capacity": "0 or more"})
    member = next((m for m in queue.members if m.user_id == user_id), None)
    if member is None:
        member = QueueMember(queue=queue, user=user, assigned_count=_fair_start(queue))
        s.add(member)
    member.weight, member.capacity, member.available = weight, capacity, available
    s.flush()
    return member


def _fair_start(queue: Queue) -> int:
    # A rep joining late starts level with the least-served rep, so round-robin does not
    # hand them every lead until they catch up.
    return min((m.assigned_count for m in queue.members), default=0)


def remove_member(s: Session, queue: Queue, user_id: int) -> None:
    """Take a rep out of a queue (their leads stay theirs)."""
    member = next((m for m in queue.members if m.user_id == user_id), None)
    if member is None:
        raise NotFound("This rep is not in the queue.")
    queue.members.remove(member)
    s.flush()


def list_rules(s: Session) -> list[RoutingRule]:
    """Return the rules in the order they are tried."""
    return list(
        s.scalars(
            sa.select(RoutingRule)
            .options(selectinload(RoutingRule.queue))
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    )


def get_rule(s: Session, rule_id: int) -> RoutingRule:
    """Return a rule or raise NotFound."""
    rule = s.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("No routing rule has this id.")
    return rule


@dataclass(frozen=True)
class RuleIn:
    """A rule as an admin writes it."""

    name: str
    queue_id: int
    conditions: dict[str, Any] = field(default_factory=dict)
    strategy: Strategy | None = None
    enabled: bool = True


def check_conditions(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return a rule's conditions cleaned up, or raise Invalid naming the bad ones."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in CONDITION_KEYS:
            problems[key] = f"unknown condition; use {', '.join(CONDITION_KEYS)}"
            continue
        if value is None or value == "" or value == []:
            continue
        if key in ("customer", "free_mail"):
            if not isinstance(value, bool):
                problems[key] = "true or false"
            else:
                clean[key] = value
        elif key in ("min_score", "max_score"):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
                problems[key] = "a whole number from 0 to 100"
            else:
                clean[key] = value
        elif key == "seller_team_ids":
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            ):
                problems[key] = "a list of team ids"
            else:
                clean[key] = sorted(set(value))
        else:
            items = _text_list(value)
            if items is None:
                problems[key] = "a list of words"
                continue
            if key == "countries":
                codes = [v.upper() for v in items]
                bad = [c for c in codes if not is_iso_country(c)]
                if bad:
                    problems[key] = f"ISO country codes (two letters), not {bad[0]!r}"
                    if bad[0] == "UK":
                        problems[key] += " (the United Kingdom is GB)"
                    continue
                items = sorted(set(codes))
            elif key == "regions":
                unknown = [v for v in items if v not in domains.REGIONS]
                if unknown:
                    problems[key] = f"unknown region {unknown[0]!r}; known: " + ", ".join(
                        domains.REGIONS
                    )
                    continue
            clean[key] = items
    if "min_score" in clean and "max_score" in clean and clean["min_score"] > clean["max_score"]:
        problems["max_score"] = "at least the minimum score"
    if problems:
        raise Invalid("Some conditions need attention.", problems)
    return clean


def _text_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\n]", value)]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return [v.strip() for v in value if v.strip()][:100]


def save_rule(s: Session, data: RuleIn, rule: RoutingRule | None = None) -> RoutingRule:
    """Create a rule (tried last) or update one."""
    problems: dict[str, str] = {}
    checked_text("name", data.name)
    if not data.name.strip() or len(data.name.strip()) > 120:
        problems["name"] = "required, at most 120 characters"
    if s.get(Queue, data.queue_id) is None:
        problems["queue_id"] = "no queue has this id"
    if problems:
        raise Invalid("Some fields need attention.", problems)
    conditions = check_conditions(data.conditions)
    if rule is None:
        last = s.scalar(sa.select(sa.func.max(RoutingRule.position))) or 0
        rule = RoutingRule(position=last + 1)
        s.add(rule)
    rule.name = data.name.strip()
    rule.queue_id = data.queue_id
    rule.conditions = conditions
    rule.strategy = data.strategy
    rule.enabled = data.enabled
    s.flush()
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
            "Give every rule's id exactly once, in the new order.",
            {"rule_ids": f"expected the ids {sorted(rules)}"},
        )
    for position, rule_id in enumerate(rule_ids, start=1):
        rules[rule_id].position = position
    s.flush()
    return [rules[rule_id] for rule_id in rule_ids]


def move_rule(s: Session, rule_id: int, step: int) -> None:
    """Move a rule one place up (step -1) or down (step 1)."""
    ids = [rule.id for rule in list_rules(s)]
    if rule_id not in ids:
        raise NotFound("No routing rule has this id.")
    at = ids.index(rule_id)
    to = min(max(at + step, 0), len(ids) - 1)
    ids.insert(to, ids.pop(at))
    reorder_rules(s, ids)


# --- the facts routing looks at ----------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the rules can see of a lead."""

    email_domain: str
    company_domain: str
    free_mail: bool
    account_id: int | None
    account_name: str
    country: str
    region: str
    company: str
    job_title: str
    score: int
    seller_id: int | None
    seller_name: str
    seller_team_id: int | None
    seller_team_name: str

    def as_dict(self) -> dict[str, Any]:
        """Return the facts for the trace."""
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def score_lead(lead: Lead, *, free_mail: bool, customer: bool, attributed: bool) -> int:
    """Score a lead from 0 to 100 by how promising it looks (documented in README)."""
    score = 0
    score += 20 if not free_mail else 0
    if SENIOR_TITLE.search(lead.job_title or ""):
        score += 25
    elif MANAGER_TITLE.search(lead.job_title or ""):
        score += 10
    score += 10 if lead.company.strip() else 0
    score += 10 if lead.phone.strip() else 0
    score += 10 if lead.consent else 0
    score += 15 if attributed else 0
    score += 10 if customer else 0
    return min(score, 100)


def facts_of(s: Session, lead: Lead) -> Facts:
    """Gather what the rules look at: domain, account, region, score, attributed seller."""
    domain = lead.email_domain or lead.email.rpartition("@")[2]
    free_mail = domains.is_freemail(domain)
    account = account_for_domain(s, domain)
    last = last_touch(lead)
    seller = s.get(User, last.seller_id) if last and last.seller_id else None
    team = seller.team if seller else None
    return Facts(
        email_domain=domain,
        company_domain=domains.company_domain(domain) if domain else "",
        free_mail=free_mail,
        account_id=account.id if account else None,
        account_name=account.name if account else "",
        country=lead.country,
        region=domains.region_of(lead.country),
        company=lead.company,
        job_title=lead.job_title,
        score=score_lead(
            lead, free_mail=free_mail, customer=account is not None, attributed=last is not None
        ),
        seller_id=seller.id if seller else None,
        seller_name=seller.name if seller else "",
        seller_team_id=team.id if team else None,
        seller_team_name=team.name if team else "",
    )


def _check(name: str, value: Any, facts: Facts) -> tuple[bool, str]:
    """Say whether one condition holds for these facts, and why (for the trace)."""
    domain = facts.email_domain or "(no domain)"
    if name == "customer":
        if facts.account_id is not None:
            return value, f"{domain} belongs to customer {facts.account_name}"
        why = "a free-mail address" if facts.free_mail else "not a customer domain"
        return not value, f"{domain} is {why}"
    if name == "free_mail":
        return facts.free_mail == value, (
            f"{domain} is a free-mail provider" if facts.free_mail else f"{domain} is a work domain"
        )
    if name == "countries":
        ok = facts.country in value
        return (
            ok,
            f"country {facts.country or '(none)'} {'is' if ok else 'is not'} in "
            + ", ".join(value),
        )
    if name == "regions":
        ok = facts.region in value
        verb = "is" if ok else "is not"
        return ok, f"region {facts.region or '(none)'} {verb} in {', '.join(value)}"
    if name == "companies":
        hit = next((v for v in value if v.lower() in facts.company.lower()), None)
        if hit:
            return True, f"company {facts.company!r} contains {hit!r}"
        return False, f"company {facts.company or '(none)'!r} contains none of " + ", ".join(value)
    if name == "title_keywords":
        words = set(re.findall(r"\w+", facts.job_title.lower()))
        hit = next((v for v in value if set(re.findall(r"\w+", v.lower())) <= words), None)
        if hit:
            return True, f"job title {facts.job_title!r} has {hit!r}"
        return False, f"job title {facts.job_title or '(none)'!r} has none of " + ", ".join(value)
    if name == "min_score":
        return (
            facts.score >= value,
            f"score {facts.score} {'≥' if facts.score >= value else '<'} {value}",
        )
    if name == "max_score":
        return (
            facts.score <= value,
            f"score {facts.score} {'≤' if facts.score <= value else '>'} {value}",
        )
    if name == "seller_team_ids":
        if facts.seller_team_id is None:
            return False, "no attributed seller with a team"
        ok = facts.seller_team_id in value
        return ok, f"seller's team {facts.seller_team_name} {'is' if ok else 'is not'} listed"
    return False, f"unknown condition {name}"  # pragma: no cover - conditions are checked


def evaluate(
    rules: Sequence[RoutingRule], facts: Facts
) -> tuple[RoutingRule | None, list[dict[str, Any]]]:
    """Try the rules in order; return the first that matches and the trace of each tried."""
    tried: list[dict[str, Any]] = []
    for rule in rules:
        if not rule.enabled:
            tried.append(
                {"rule_id": rule.id, "name": rule.name, "matched": False, "why": "switched off"}
            )
            continue
        checks = []
        for name, value in rule.conditions.items():
            ok, why = _check(name, value, facts)
            checks.append({"condition": name, "ok": ok, "why": why})
        matched = all(check["ok"] for check in checks)
        if not checks:
            why = "no conditions: matches every lead"
        elif matched:
            why = "all conditions hold"
        else:
            why = "not matched: " + "; ".join(str(c["why"]) for c in checks if not c["ok"])
        tried.append(
            {
                "rule_id": rule.id,
                "name": rule.name,
                "matched": matched,
                "why": why,
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


@dataclass(frozen=True)
class RoutingNames:
    """The names behind leads' queue and assignee ids."""

    queues: dict[int, str]
    users: dict[int, str]


def routing_names(s: Session, leads: Sequence[Lead]) -> RoutingNames:
    """Load the names of the queues and reps a list of leads points to, in two queries."""
    queue_ids = {lead.queue_id for lead in leads if lead.queue_id is not None}
    user_ids = {lead.assignee_id for lead in leads if lead.assignee_id is not None}
    queues: dict[int, str] = {}
    users: dict[int, str] = {}
    if queue_ids:
        queues = dict(
            s.execute(sa.select(Queue.id, Queue.name).where(Queue.id.in_(queue_ids))).all()
        )
    if user_ids:
        users = dict(s.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids))).all())
    return RoutingNames(queues=queues, users=users)


# --- picking a rep -------------------------------------------------------------------------


def _open_load(s: Session, user_ids: Sequence[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = s.execute(
        sa.select(Lead.assignee_id, sa.func.count())
        .where(
            Lead.assignee_id.in_(user_ids),
            Lead.status.in_([LeadStatus.CLAIMED, LeadStatus.CONTACTED]),
            Lead.merged_into_id.is_(None),
        )
        .group_by(Lead.assignee_id)
    ).all()
    return {int(user_id or 0): int(n) for user_id, n in rows}


def pick_rep(
    s: Session, queue: Queue, strategy: Strategy, now: datetime
) -> tuple[QueueMember | None, dict[str, Any]]:
    """Pick the rep a lead goes to (None when reps claim, or nobody can take it).

    Round-robin gives the lead to the eligible rep with the fewest leads so far; weighted
    to the one furthest below their share (fewest leads per unit of weight). Counters are
    stored, so the order survives restarts and is the same on every run: no randomness.
    """
    if strategy is Strategy.CLAIM:
        return None, {"strategy": strategy.value, "why": "reps claim leads from this queue"}
    members = list(queue.members)
    load = _open_load(s, [m.user_id for m in members])
    considered = []
    eligible: list[QueueMember] = []
    for member in members:
        why = ""
        if not member.user.is_active:
            why = "account deactivated"
        elif not member.available:
            why = "unavailable"
        elif member.capacity and load.get(member.user_id, 0) >= member.capacity:
            why = f"at capacity ({load.get(member.user_id, 0)} of {member.capacity} open)"
        considered.append(
            {
                "user_id": member.user_id,
                "name": member.user.name,
                "eligible": not why,
                "why": why or f"{member.assigned_count} assigned so far, weight {member.weight}",
            }
        )
        if not why:
            eligible.append(member)
    if not eligible:
        return None, {
            "strategy": strategy.value,
            "reps": considered,
            "why": "no rep can take it now; it waits in the queue for anyone to claim",
        }
    if strategy is Strategy.WEIGHTED:
        chosen = min(eligible, key=lambda m: (m.assigned_count / m.weight, -m.weight, m.id))
        why = f"{chosen.user.name} is furthest below their share (weight {chosen.weight})"
    else:
        chosen = min(eligible, key=lambda m: (m.assigned_count, m.id))
        why = f"{chosen.user.name} is next in turn"
    chosen.assigned_count += 1
    chosen.last_assigned_at = now
    return chosen, {
        "strategy": strategy.value,
        "reps": considered,
        "picked": chosen.user_id,
        "why": why,
    }


# --- routing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteResult:
    """What one run of the routing job did."""

    routed: int = 0
    merged: int = 0


def open_lead_of(s: Session, lead: Lead, *, window_days: int) -> Lead | None:
    """Return the same person's open lead from inside the window, if any."""
    since = lead.submitted_at - timedelta(days=window_days)
    return s.scalar(
        sa.select(Lead)
        .where(
            Lead.email == lead.email,
            Lead.id != lead.id,
            Lead.merged_into_id.is_(None),
            Lead.routed_at.is_not(None),
            Lead.erased_at.is_(None),
            Lead.status.in_(list(OPEN_STATUSES)),
            Lead.submitted_at >= since,
        )
        .order_by(Lead.submitted_at.desc(), Lead.id.desc())
        .limit(1)
    )


def route_pending(
    s: Session, settings: RoutingSettings, now: datetime | None = None
) -> RouteResult:
    """Route every lead not routed yet (oldest first), each in its own savepoint."""
    now = now or utcnow()
    ensure_defaults(s, settings)
    query = (
        sa.select(Lead)
        .options(selectinload(Lead.touches))  # the facts and the seller notice read them
        .where(Lead.routed_at.is_(None), Lead.erased_at.is_(None))
        .order_by(Lead.id)
        .limit(ROUTE_BATCH)
        .with_for_update(skip_locked=True)
    )
    routed = merged = 0
    rules = list_rules(s)
    for lead in s.scalars(query).all():
        with s.begin_nested():
            if route_lead(s, lead, settings, rules, now):
                routed += 1
            else:
                merged += 1
    return RouteResult(routed, merged)


def route_lead(
    s: Session,
    lead: Lead,
    settings: RoutingSettings,
    rules: Sequence[RoutingRule],
    now: datetime,
) -> bool:
    """Route one lead; return False when it was folded into the person's open lead."""
    earlier = open_lead_of(s, lead, window_days=settings.dedupe_days)
    if earlier is not None:
        fold_into(s, lead, earlier, now)
        return False
    facts = facts_of(s, lead)
    rule, tried = evaluate(rules, facts)
    if rule is not None:
        queue, strategy = rule.queue, rule.strategy or rule.queue.strategy
        reason = f"rule {rule.name!r} matched"
    else:
        queue = queue_by_name(s, settings.default_queue) or _new_queue(
            s, settings.default_queue, settings.default_sla_minutes, "digital_sales"
        )
        strategy, reason = queue.strategy, "no rule matched: the default queue"
    member, assignment = pick_rep(s, queue, strategy, now)
    lead.score = facts.score
    lead.account_id = facts.account_id
    lead.queue_id = queue.id
    lead.routed_at = now
    lead.due_at = sla_due(queue, now)
    if member is not None:
        lead.assignee_id = member.user_id
        lead.status = LeadStatus.CLAIMED
        lead.claimed_at = now
        lead.claim_due_at = claim_due(queue, now)  # handed out: the rep's window starts now
    lead.routing_trace = {
        "at": now.isoformat(),
        "facts": facts.as_dict(),
        "rules": tried,
        "queue": {"id": queue.id, "name": queue.name, "why": reason},
        "assignment": assignment,
    }
    text = f"Routed to {queue.name}: {reason}."
    if member is not None:
        text += f" Assigned to {member.user.name}."
    record(s, lead, "routed", text, detail={"queue_id": queue.id}, now=now)
    enqueue(s, lead, "lead.routed", now)
    tell_seller(s, lead, facts, now)
    return True


def _calendar(queue: Queue) -> calendar.Calendar | None:
    if not queue.business_hours:
        return None
    return calendar.Calendar.of(queue.timezone, queue.workdays, queue.day_start, queue.day_end)


def sla_due(queue: Queue, start: datetime) -> datetime:
    """When a lead routed to this queue at ``start`` must be claimed and contacted."""
    return calendar.due_at(start, queue.sla_minutes, _calendar(queue))


def claim_due(queue: Queue | None, start: datetime) -> datetime:
    """When a rep who claimed (or was given) a lead of this queue at ``start`` must have
    contacted the person, in the queue's business hours when it counts them."""
    if queue is None:  # a lead outside every queue: the default window, around the clock
        return start + timedelta(minutes=DEFAULT_CLAIM_MINUTES)
    minutes = queue.claim_minutes or DEFAULT_CLAIM_MINUTES  # an unsaved queue: the default
    return calendar.due_at(start, minutes, _calendar(queue))


def fold_into(s: Session, lead: Lead, earlier: Lead, now: datetime) -> None:
    """The person came back while their lead is open: add the new touches to it."""
    lead.merged_into_id = earlier.id
    lead.routed_at = now
    lead.queue_id = earlier.queue_id
    lead.routing_trace = {
        "at": now.isoformat(),
        "duplicate_of": earlier.id,
        "why": f"the same person has open lead #{earlier.id}; added to it",
    }
    known = {touch.code for touch in earlier.touches}
    added = []
    for touch in lead.touches:
        if touch.code in known:
            continue
        added.append(
            Touch(
                lead=earlier,
                code=touch.code,
                found_in="returned",
                link_id=touch.link_id,
                click_id=touch.click_id,
                suggestion_id=touch.suggestion_id,
                seller_id=touch.seller_id,
                content_id=touch.content_id,
                campaign_id=touch.campaign_id,
                touched_at=touch.touched_at,
            )
        )
        known.add(touch.code)
    s.add_all(added)
    s.flush()
    if added:  # the person converted again: credit over every touch, as of this visit
        touches = sorted(earlier.touches, key=lambda t: (t.touched_at, t.code))
        shares = attribution.credit_shares(
            [t.touched_at for t in touches], converted_at=lead.submitted_at
        )
        for touch, credits in zip(touches, shares, strict=True):
            touch.credits = credits
    where = f" via {added[-1].code}" if added else ""
    record(
        s,
        earlier,
        "came_back",
        f"{lead.full_name} came back{where} (form sent {lead.submitted_at:%Y-%m-%d %H:%M} UTC).",
        detail={"lead_id": lead.id, "touches_added": len(added)},
        now=now,
    )
    record(
        s,
        lead,
        "merged",
        f"Added to open lead #{earlier.id}.",
        detail={"into": earlier.id},
        now=now,
    )
    s.flush()


@dataclass(frozen=True)
class Sample:
    """A lead as an admin types it to try the rules (email already normalised)."""

    email: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    job_title: str = ""
    country: str = ""
    code: str = ""  # a tracked-link code, as utm_content would carry it


def sample_lead(s: Session, sample: Sample, *, lookback_days: int, now: datetime) -> Lead:
    """Build an unsaved lead for a dry run, with the touches its code would give it.

    Nothing is added to the session; callers roll back after the dry run all the same.
    """
    lead = Lead(
        email=sample.email,
        email_domain=sample.email.rpartition("@")[2],
        first_name=sample.first_name.strip(),
        last_name=sample.last_name.strip(),
        company=sample.company.strip(),
        job_title=sample.job_title.strip(),
        country=sample.country.strip().upper(),
        utm_content=sample.code.strip(),
        phone="",
        consent=False,
        submitted_at=now,
    )
    if lead.utm_content:
        found = attribution.find_touches(
            s.connection(),
            {"utm_content": lead.utm_content},
            email=lead.email,
            converted_at=now,
            lookback_days=lookback_days,
        )
        lead.touches = [Touch(**asdict(item.touch), credits=item.credits) for item in found]
    return lead


def dry_run(s: Session, sample: Lead, settings: RoutingSettings) -> dict[str, Any]:
    """Say where a lead would go, with the trace, changing nothing."""
    facts = facts_of(s, sample)
    rule, tried = evaluate(list_rules(s), facts)
    if rule is not None:
        queue, strategy = rule.queue, rule.strategy or rule.queue.strategy
        reason = f"rule {rule.name!r} matched"
    else:
        queue = queue_by_name(s, settings.default_queue)  # type: ignore[assignment]
        strategy = queue.strategy if queue else Strategy.CLAIM
        reason = "no rule matched: the default queue"
    assignment: dict[str, Any] = {"strategy": strategy.value}
    if queue is not None:
        with s.begin_nested() as savepoint:  # counters move while picking: undo them
            _member, assignment = pick_rep(s, queue, strategy, utcnow())
            savepoint.rollback()
    return {
        "facts": facts.as_dict(),
        "rules": tried,
        "queue": {"id": queue.id, "name": queue.name, "why": reason} if queue else None,
        "assignment": assignment,
        "due_at": sla_due(queue, utcnow()).isoformat() if queue else None,
    }


@dataclass(frozen=True)
class TryResult:
    """A dry run of a typed-in lead: the routing trace, who the sample was, and whether the
    tracked-link code given matched no link."""

    trace: dict[str, Any]
    name: str
    email: str
    unknown_code: bool


def try_sample(
    s: Session, sample: Sample, settings: RoutingSettings, *, lookback_days: int
) -> TryResult:
    """Say where a lead like the sample would go; the sample and its touches are built in the
    session only for the run and rolled back after it (the admin page and the API both)."""
    try:
        with s.no_autoflush:
            lead = sample_lead(s, sample, lookback_days=lookback_days, now=utcnow())
            code = lead.utm_content
            return TryResult(
                trace=dry_run(s, lead, settings),
                name=lead.full_name,
                email=lead.email,
                unknown_code=bool(code) and not any(t.code == code for t in lead.touches),
            )
    finally:
        s.rollback()  # a dry run changes nothing


def is_iso_country(code: str) -> bool:
    """Tell whether a code is an ISO 3166 alpha-2 country (what lead countries are stored as);
    "UK" or "XX" would make a rule that never matches."""
    return re.fullmatch(r"[A-Z]{2}", code) is not None and (
        pycountry.countries.get(alpha_2=code) is not None
    )


# --- a lead's history ----------------------------------------------------------------------


def record(
    s: Session,
    lead: Lead,
    kind: str,
    text: str,
    *,
    actor: User | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> LeadActivity:
    """Add a line to a lead's history."""
    entry = LeadActivity(
        lead_id=lead.id,
        actor_id=actor.id if actor else None,
        kind=kind,
        text=text,
        detail=detail or {},
        at=now or utcnow(),
    )
    s.add(entry)
    return entry


def history(s: Session, lead_id: int) -> list[LeadActivity]:
    """Return a lead's history, oldest first."""
    return list(
        s.scalars(
            sa.select(LeadActivity)
            .options(selectinload(LeadActivity.actor))
            .where(LeadActivity.lead_id == lead_id)
            .order_by(LeadActivity.at, LeadActivity.id)
        )
    )


# --- telling the seller --------------------------------------------------------------------


def tell_seller(s: Session, lead: Lead, facts: Facts, now: datetime) -> None:
    """Tell the attributed (last-touch) seller their post brought a lead."""
    last = last_touch(lead)
    if last is None or last.seller_id is None:
        return
    from contentfeed.content.models import Content

    content = s.get(Content, last.content_id) if last.content_id else None
    title = content.title if content else "your post"
    who = lead.company or facts.company_domain or "someone"
    team = "customer development" if facts.account_id else "sales"
    s.add(
        SellerNotice(
            user_id=last.seller_id,
            lead_id=lead.id,
            kind="lead",
            subject=f"Your post brought a lead from {who}",
            text=(
                f"{lead.full_name} from {who} filled in a form after your post of "
                f"“{title}”. Our {team} team has it now; we will tell you how it goes."
            ),
            created_at=now,
            next_attempt_at=now,
        )
    )


# --- the CRM outbox ------------------------------------------------------------------------


def lead_payload(lead: Lead, event_type: str, now: datetime) -> dict[str, Any]:
    """The JSON the CRM receives about a lead (personal fields; erased with the lead)."""
    last = last_touch(lead)
    return {
        "type": event_type,
        "timestamp": now.isoformat(),
        "data": {
            "lead_id": lead.id,
            "status": lead.status.value,
            "email": lead.email,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "company": lead.company,
            "job_title": lead.job_title,
            "country": lead.country,
            "phone": lead.phone,
            "consent": lead.consent,
            "score": lead.score,
            "queue_id": lead.queue_id,
            "assignee_id": lead.assignee_id,
            "account_id": lead.account_id,
            "submitted_at": lead.submitted_at.isoformat() if lead.submitted_at else None,
            "utm_source": lead.utm_source,
            "utm_campaign": lead.utm_campaign,
            "attributed_seller_id": last.seller_id if last else None,
            "attributed_content_id": last.content_id if last else None,
            "attributed_campaign_id": last.campaign_id if last else None,
            "disqualify_reason": lead.disqualify_reason,
        },
    }


def enqueue(s: Session, lead: Lead, event_type: str, now: datetime) -> OutboxMessage:
    """Write a message for the CRM in the caller's transaction (delivered by a job)."""
    message = OutboxMessage(
        message_id=f"msg_{uuid.uuid4().hex}",
        destination="crm",
        event_type=event_type,
        lead_id=lead.id,
        payload=lead_payload(lead, event_type, now),
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    s.add(message)
    return message
