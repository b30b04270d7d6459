"""The conditions a routing rule can set on a lead."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pycountry

from contentfeed.errors import Invalid
from contentfeed.routing import domains
from contentfeed.routing.lead_facts import Facts

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


def condition_holds(name: str, value: Any, facts: Facts) -> tuple[bool, str]:
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


def is_iso_country(code: str) -> bool:
    """Tell whether a code is an ISO 3166 alpha-2 country (what lead countries are stored as);
    "UK" or "XX" would make a rule that never matches."""
    return re.fullmatch(r"[A-Z]{2}", code) is not None and (
        pycountry.countries.get(alpha_2=code) is not None
    )
