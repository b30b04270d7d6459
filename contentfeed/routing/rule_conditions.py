"""The conditions a routing rule can set on a lead, each declared once.

A condition says its key (as stored in ``RoutingRule.conditions``), its label, how the API
and the rule form describe it, the kind of value it takes (which decides the API field, the
form field and the basic check), how a value is normalised, how it is tried against a lead's
facts (with the reason the trace keeps) and how the rules list says it in words. The API's
``Conditions`` model, the form's fields, the admin labels and the trace are all derived from
``CONDITIONS``; adding a condition is adding an entry here (of a kind the adapters know).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pycountry

from contentfeed.errors import Invalid
from contentfeed.routing import domains
from contentfeed.routing.lead_facts import Facts

MAX_ITEMS = 100  # words, codes or team ids in one condition


class Kind(Enum):
    """The kind of value a condition takes."""

    YES_NO = "yes_no"  # true or false
    WORDS = "words"  # a list of words (a string is split at commas and line breaks)
    CHOICES = "choices"  # a list picked from the condition's choices
    SCORE = "score"  # a whole number from 0 to 100
    TEAMS = "teams"  # a list of team ids


@dataclass(frozen=True)
class Condition:
    """One condition a rule can set: what it is called, takes, checks and means."""

    key: str
    label: str  # as the rules list and the trace name it
    kind: Kind
    api_help: str
    holds: Callable[[Any, Facts], tuple[bool, str]]  # (does it hold, why) for the trace
    phrase: Callable[[Any, Mapping[int, str]], str]  # in words, given the team names
    form_label: str = ""
    form_help: str = ""
    yes_no: tuple[str, str, str] = ("", "", "")  # the form's any / yes / no options
    choices: tuple[tuple[str, str], ...] = ()  # CHOICES: (value, label)
    max_chars: int = 2000  # WORDS: how long the form's text may be
    normalise: Callable[[list[str]], list[str]] | None = None  # WORDS: clean up or ValueError


def is_iso_country(code: str) -> bool:
    """Tell whether a code is an ISO 3166 alpha-2 country (what lead countries are stored as);
    "UK" or "XX" would make a rule that never matches."""
    return re.fullmatch(r"[A-Z]{2}", code) is not None and (
        pycountry.countries.get(alpha_2=code) is not None
    )


def _countries(items: list[str]) -> list[str]:
    codes = [v.upper() for v in items]
    bad = [c for c in codes if not is_iso_country(c)]
    if bad:
        problem = f"ISO country codes (two letters), not {bad[0]!r}"
        raise ValueError(problem + (" (the United Kingdom is GB)" if bad[0] == "UK" else ""))
    return sorted(set(codes))


def _regions(items: list[str]) -> list[str]:
    unknown = [v for v in items if v not in domains.REGIONS]
    if unknown:
        raise ValueError(f"unknown region {unknown[0]!r}; known: " + ", ".join(domains.REGIONS))
    return items


def _customer(value: bool, facts: Facts) -> tuple[bool, str]:
    domain = facts.email_domain or "(no domain)"
    if facts.account_id is not None:
        return value, f"{domain} belongs to customer {facts.account_name}"
    why = "a free-mail address" if facts.free_mail else "not a customer domain"
    return not value, f"{domain} is {why}"


def _free_mail(value: bool, facts: Facts) -> tuple[bool, str]:
    domain = facts.email_domain or "(no domain)"
    return facts.free_mail == value, (
        f"{domain} is a free-mail provider" if facts.free_mail else f"{domain} is a work domain"
    )


def _in_countries(value: list[str], facts: Facts) -> tuple[bool, str]:
    ok = facts.country in value
    return (
        ok,
        f"country {facts.country or '(none)'} {'is' if ok else 'is not'} in " + ", ".join(value),
    )


def _in_regions(value: list[str], facts: Facts) -> tuple[bool, str]:
    ok = facts.region in value
    verb = "is" if ok else "is not"
    return ok, f"region {facts.region or '(none)'} {verb} in {', '.join(value)}"


def _company_has(value: list[str], facts: Facts) -> tuple[bool, str]:
    hit = next((v for v in value if v.lower() in facts.company.lower()), None)
    if hit:
        return True, f"company {facts.company!r} contains {hit!r}"
    return False, f"company {facts.company or '(none)'!r} contains none of " + ", ".join(value)


def _title_has(value: list[str], facts: Facts) -> tuple[bool, str]:
    words = set(re.findall(r"\w+", facts.job_title.lower()))
    hit = next((v for v in value if set(re.findall(r"\w+", v.lower())) <= words), None)
    if hit:
        return True, f"job title {facts.job_title!r} has {hit!r}"
    return False, f"job title {facts.job_title or '(none)'!r} has none of " + ", ".join(value)


def _score_at_least(value: int, facts: Facts) -> tuple[bool, str]:
    ok = facts.score >= value
    return ok, f"score {facts.score} {'≥' if ok else '<'} {value}"


def _score_at_most(value: int, facts: Facts) -> tuple[bool, str]:
    ok = facts.score <= value
    return ok, f"score {facts.score} {'≤' if ok else '>'} {value}"


def _seller_team_in(value: list[int], facts: Facts) -> tuple[bool, str]:
    if facts.seller_team_id is None:
        return False, "no attributed seller with a team"
    ok = facts.seller_team_id in value
    return ok, f"seller's team {facts.seller_team_name} {'is' if ok else 'is not'} listed"


def _quoted(value: list[str]) -> str:
    return " or ".join(f"“{v}”" for v in value)


CONDITIONS: tuple[Condition, ...] = (
    Condition(
        key="customer",
        label="Known customer",
        kind=Kind.YES_NO,
        api_help="true: the email domain (or a parent domain) belongs to a customer account; "
        "false: it does not",
        holds=_customer,
        phrase=lambda v, _teams: "a known customer" if v else "not a known customer",
        form_label="Known customer",
        yes_no=("Any lead", "Only known customers", "Only non-customers"),
    ),
    Condition(
        key="free_mail",
        label="Free-mail address",
        kind=Kind.YES_NO,
        api_help="true: a free-mail address (gmail.com, …); false: a work domain",
        holds=_free_mail,
        phrase=lambda v, _teams: "a free-mail address" if v else "a work address",
        form_label="Email address",
        yes_no=("Any address", "Only free-mail (gmail.com, gmx.de, …)", "Only work addresses"),
    ),
    Condition(
        key="countries",
        label="Country",
        kind=Kind.WORDS,
        api_help="ISO 3166 two-letter codes; the lead's country is one of them",
        holds=_in_countries,
        phrase=lambda v, _teams: "country is " + " or ".join(v),
        form_label="Countries",
        form_help="Two-letter ISO codes separated by commas, e.g. DE, AT, CH.",
        max_chars=1000,
        normalise=_countries,
    ),
    Condition(
        key="regions",
        label="Region",
        kind=Kind.CHOICES,
        api_help="The lead's country lies in one of these regions: " + ", ".join(domains.REGIONS),
        holds=_in_regions,
        phrase=lambda v, _teams: "region is " + " or ".join(v),
        form_label="Regions",
        form_help="Any one of the ticked regions matches.",
        choices=tuple(
            (name, f"{name} ({', '.join(sorted(codes))})")
            for name, codes in domains.REGIONS.items()
        ),
        normalise=_regions,
    ),
    Condition(
        key="companies",
        label="Company",
        kind=Kind.WORDS,
        api_help="The company name contains one of these (ignoring case)",
        holds=_company_has,
        phrase=lambda v, _teams: "company contains " + _quoted(v),
        form_label="Company name contains",
        form_help="Separate with commas; any one matches, ignoring case.",
    ),
    Condition(
        key="title_keywords",
        label="Job title",
        kind=Kind.WORDS,
        api_help="The job title has every word of one of these (ignoring case)",
        holds=_title_has,
        phrase=lambda v, _teams: "job title has " + _quoted(v),
        form_label="Job title has",
        form_help="Words separated by commas, e.g. CTO, head of, director.",
    ),
    Condition(
        key="min_score",
        label="Minimum score",
        kind=Kind.SCORE,
        api_help="The lead's score is at least this",
        holds=_score_at_least,
        phrase=lambda v, _teams: f"score at least {v}",
        form_label="Score at least",
    ),
    Condition(
        key="max_score",
        label="Maximum score",
        kind=Kind.SCORE,
        api_help="The lead's score is at most this",
        holds=_score_at_most,
        phrase=lambda v, _teams: f"score at most {v}",
        form_label="Score at most",
    ),
    Condition(
        key="seller_team_ids",
        label="Seller's team",
        kind=Kind.TEAMS,
        api_help="The attributed (last-touch) seller is in one of these teams",
        holds=_seller_team_in,
        phrase=lambda v, teams: (
            "seller's team is " + " or ".join(teams.get(team_id, "a removed team") for team_id in v)
        ),
        form_label="Attributed seller's team",
        form_help="Leads a seller of one of these teams brought in.",
    ),
)
BY_KEY: dict[str, Condition] = {condition.key: condition for condition in CONDITIONS}
CONDITION_KEYS = tuple(BY_KEY)


def _text_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\n]", value)]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return [v.strip() for v in value if v.strip()][:MAX_ITEMS]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_value(condition: Condition, value: Any) -> Any:
    """Return one condition's value normalised, or raise ValueError saying what it takes."""
    if condition.kind is Kind.YES_NO:
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value
    if condition.kind is Kind.SCORE:
        if not _is_int(value) or not 0 <= value <= 100:
            raise ValueError("a whole number from 0 to 100")
        return value
    if condition.kind is Kind.TEAMS:
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            raise ValueError("a list of team ids")
        return sorted(set(value))
    items = _text_list(value)
    if items is None:
        raise ValueError("a list of words")
    return condition.normalise(items) if condition.normalise else items


def check_conditions(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return a rule's conditions cleaned up, or raise Invalid naming the bad ones."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        condition = BY_KEY.get(key)
        if condition is None:
            problems[key] = f"unknown condition; use {', '.join(CONDITION_KEYS)}"
            continue
        if value is None or value == "" or value == []:
            continue
        try:
            clean[key] = check_value(condition, value)
        except ValueError as exc:
            problems[key] = str(exc)
    if "min_score" in clean and "max_score" in clean and clean["min_score"] > clean["max_score"]:
        problems["max_score"] = "at least the minimum score"
    if problems:
        raise Invalid("Some conditions need attention.", problems)
    return clean


def condition_holds(name: str, value: Any, facts: Facts) -> tuple[bool, str]:
    """Say whether one condition holds for these facts, and why (for the trace)."""
    condition = BY_KEY.get(name)
    if condition is None:  # pragma: no cover - conditions are checked when saved
        return False, f"unknown condition {name}"
    return condition.holds(value, facts)


def condition_label(key: str) -> str:
    """Return the name people see for a rule condition."""
    condition = BY_KEY.get(key)
    return condition.label if condition else key.replace("_", " ").capitalize()


def describe_conditions(conditions: Mapping[str, Any], teams: Mapping[int, str]) -> list[str]:
    """Say a rule's conditions in words, one phrase each."""
    phrases = []
    for key, value in conditions.items():
        condition = BY_KEY.get(key)
        if condition is None:  # pragma: no cover - conditions are checked when saved
            phrases.append(f"{key} is {value}")
        else:
            phrases.append(condition.phrase(value, teams))
    return phrases
