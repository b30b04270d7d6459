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
from contentfeed.i18n import N_, _, _l
from contentfeed.routing import domains
from contentfeed.routing.lead_facts import Facts
from contentfeed.routing.reasons import Reason, reason

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

    # The texts people see are lazy (``_l``): they are said in each request's language.
    key: str
    label: Any  # as the rules list and the trace name it
    kind: Kind
    api_help: str  # for the OpenAPI document, in English
    holds: Callable[[Any, Facts], tuple[bool, Reason]]  # (does it hold, why) for the trace
    phrase: Callable[[Any, Mapping[int, str]], str]  # in words, given the team names
    form_label: Any = ""
    form_help: Any = ""
    yes_no: tuple[Any, Any, Any] = ("", "", "")  # the form's any / yes / no options
    choices: tuple[tuple[str, Any], ...] = ()  # CHOICES: (value, label)
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
        if bad[0] == "UK":
            raise ValueError(
                _(
                    "ISO country codes (two letters), not %(code)s (the United Kingdom is GB)",
                    code=repr(bad[0]),
                )
            )
        raise ValueError(_("ISO country codes (two letters), not %(code)s", code=repr(bad[0])))
    return sorted(set(codes))


def _regions(items: list[str]) -> list[str]:
    unknown = [v for v in items if v not in domains.REGIONS]
    if unknown:
        raise ValueError(
            _(
                "unknown region %(region)s; known: %(known)s",
                region=repr(unknown[0]),
                known=", ".join(domains.REGIONS),
            )
        )
    return items


def _customer(value: bool, facts: Facts) -> tuple[bool, Reason]:
    domain = facts.email_domain or reason(N_("(no domain)"))
    if facts.account_id is not None:
        return value, reason(
            N_("%(domain)s belongs to customer %(account)s"),
            domain=domain,
            account=facts.account_name,
        )
    if facts.free_mail:
        return not value, reason(N_("%(domain)s is a free-mail address"), domain=domain)
    return not value, reason(N_("%(domain)s is not a customer domain"), domain=domain)


def _free_mail(value: bool, facts: Facts) -> tuple[bool, Reason]:
    domain = facts.email_domain or reason(N_("(no domain)"))
    return facts.free_mail == value, (
        reason(N_("%(domain)s is a free-mail provider"), domain=domain)
        if facts.free_mail
        else reason(N_("%(domain)s is a work domain"), domain=domain)
    )


def _in_countries(value: list[str], facts: Facts) -> tuple[bool, Reason]:
    ok = facts.country in value
    country, listed = facts.country or reason(N_("(none)")), ", ".join(value)
    if ok:
        return ok, reason(
            N_("country %(country)s is in %(listed)s"), country=country, listed=listed
        )
    return ok, reason(
        N_("country %(country)s is not in %(listed)s"), country=country, listed=listed
    )


def _in_regions(value: list[str], facts: Facts) -> tuple[bool, Reason]:
    ok = facts.region in value
    region, listed = facts.region or reason(N_("(none)")), ", ".join(value)
    if ok:
        return ok, reason(N_("region %(region)s is in %(listed)s"), region=region, listed=listed)
    return ok, reason(N_("region %(region)s is not in %(listed)s"), region=region, listed=listed)


def _company_has(value: list[str], facts: Facts) -> tuple[bool, Reason]:
    hit = next((v for v in value if v.lower() in facts.company.lower()), None)
    if hit:
        return True, reason(
            N_("company %(company)s contains %(hit)s"),
            company=repr(facts.company),
            hit=repr(hit),
        )
    return False, reason(
        N_("company %(company)s contains none of %(listed)s"),
        company=repr(facts.company) if facts.company else reason(N_("(none)")),
        listed=", ".join(value),
    )


def _title_has(value: list[str], facts: Facts) -> tuple[bool, Reason]:
    words = set(re.findall(r"\w+", facts.job_title.lower()))
    hit = next((v for v in value if set(re.findall(r"\w+", v.lower())) <= words), None)
    if hit:
        return True, reason(
            N_("job title %(title)s has %(hit)s"), title=repr(facts.job_title), hit=repr(hit)
        )
    return False, reason(
        N_("job title %(title)s has none of %(listed)s"),
        title=repr(facts.job_title) if facts.job_title else reason(N_("(none)")),
        listed=", ".join(value),
    )


def _score_at_least(value: int, facts: Facts) -> tuple[bool, Reason]:
    ok = facts.score >= value
    return ok, reason(
        N_("score %(score)s %(sign)s %(value)s"),
        score=facts.score,
        sign="≥" if ok else "<",
        value=value,
    )


def _score_at_most(value: int, facts: Facts) -> tuple[bool, Reason]:
    ok = facts.score <= value
    return ok, reason(
        N_("score %(score)s %(sign)s %(value)s"),
        score=facts.score,
        sign="≤" if ok else ">",
        value=value,
    )


def _seller_team_in(value: list[int], facts: Facts) -> tuple[bool, Reason]:
    if facts.seller_team_id is None:
        return False, reason(N_("no attributed seller with a team"))
    ok = facts.seller_team_id in value
    team = facts.seller_team_name
    if ok:
        return ok, reason(N_("seller's team %(team)s is listed"), team=team)
    return ok, reason(N_("seller's team %(team)s is not listed"), team=team)


def _or(value: list[str]) -> str:
    return _(" or ").join(value)


def _quoted(value: list[str]) -> str:
    return _or([_("“%(word)s”", word=v) for v in value])


CONDITIONS: tuple[Condition, ...] = (
    Condition(
        key="customer",
        label=_l("Known customer"),
        kind=Kind.YES_NO,
        api_help="true: the email domain (or a parent domain) belongs to a customer account; "
        "false: it does not",
        holds=_customer,
        phrase=lambda v, _teams: _("a known customer") if v else _("not a known customer"),
        form_label=_l("Known customer"),
        yes_no=(_l("Any lead"), _l("Only known customers"), _l("Only non-customers")),
    ),
    Condition(
        key="free_mail",
        label=_l("Free-mail address"),
        kind=Kind.YES_NO,
        api_help="true: a free-mail address (gmail.com, …); false: a work domain",
        holds=_free_mail,
        phrase=lambda v, _teams: _("a free-mail address") if v else _("a work address"),
        form_label=_l("Email address"),
        yes_no=(
            _l("Any address"),
            _l("Only free-mail (gmail.com, gmx.de, …)"),
            _l("Only work addresses"),
        ),
    ),
    Condition(
        key="countries",
        label=_l("Country"),
        kind=Kind.WORDS,
        api_help="ISO 3166 two-letter codes; the lead's country is one of them",
        holds=_in_countries,
        phrase=lambda v, _teams: _("country is %(listed)s", listed=_or(v)),
        form_label=_l("Countries"),
        form_help=_l("Two-letter ISO codes separated by commas, e.g. DE, AT, CH."),
        max_chars=1000,
        normalise=_countries,
    ),
    Condition(
        key="regions",
        label=_l("Region"),
        kind=Kind.CHOICES,
        api_help="The lead's country lies in one of these regions: " + ", ".join(domains.REGIONS),
        holds=_in_regions,
        phrase=lambda v, _teams: _("region is %(listed)s", listed=_or(v)),
        form_label=_l("Regions"),
        form_help=_l("Any one of the ticked regions matches."),
        choices=tuple(
            (name, f"{name} ({', '.join(sorted(codes))})")
            for name, codes in domains.REGIONS.items()
        ),
        normalise=_regions,
    ),
    Condition(
        key="companies",
        label=_l("Company"),
        kind=Kind.WORDS,
        api_help="The company name contains one of these (ignoring case)",
        holds=_company_has,
        phrase=lambda v, _teams: _("company contains %(listed)s", listed=_quoted(v)),
        form_label=_l("Company name contains"),
        form_help=_l("Separate with commas; any one matches, ignoring case."),
    ),
    Condition(
        key="title_keywords",
        label=_l("Job title"),
        kind=Kind.WORDS,
        api_help="The job title has every word of one of these (ignoring case)",
        holds=_title_has,
        phrase=lambda v, _teams: _("job title has %(listed)s", listed=_quoted(v)),
        form_label=_l("Job title has"),
        form_help=_l("Words separated by commas, e.g. CTO, head of, director."),
    ),
    Condition(
        key="min_score",
        label=_l("Minimum score"),
        kind=Kind.SCORE,
        api_help="The lead's score is at least this",
        holds=_score_at_least,
        phrase=lambda v, _teams: _("score at least %(value)s", value=v),
        form_label=_l("Score at least"),
    ),
    Condition(
        key="max_score",
        label=_l("Maximum score"),
        kind=Kind.SCORE,
        api_help="The lead's score is at most this",
        holds=_score_at_most,
        phrase=lambda v, _teams: _("score at most %(value)s", value=v),
        form_label=_l("Score at most"),
    ),
    Condition(
        key="seller_team_ids",
        label=_l("Seller's team"),
        kind=Kind.TEAMS,
        api_help="The attributed (last-touch) seller is in one of these teams",
        holds=_seller_team_in,
        phrase=lambda v, teams: _(
            "seller's team is %(listed)s",
            listed=_or([teams.get(team_id, _("a removed team")) for team_id in v]),
        ),
        form_label=_l("Attributed seller's team"),
        form_help=_l("Leads a seller of one of these teams brought in."),
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
            raise ValueError(_("true or false"))
        return value
    if condition.kind is Kind.SCORE:
        if not _is_int(value) or not 0 <= value <= 100:
            raise ValueError(_("a whole number from 0 to 100"))
        return value
    if condition.kind is Kind.TEAMS:
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            raise ValueError(_("a list of team ids"))
        return sorted(set(value))
    items = _text_list(value)
    if items is None:
        raise ValueError(_("a list of words"))
    return condition.normalise(items) if condition.normalise else items


def check_conditions(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return a rule's conditions cleaned up, or raise Invalid naming the bad ones."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        condition = BY_KEY.get(key)
        if condition is None:
            problems[key] = _("unknown condition; use %(keys)s", keys=", ".join(CONDITION_KEYS))
            continue
        if value is None or value == "" or value == []:
            continue
        try:
            clean[key] = check_value(condition, value)
        except ValueError as exc:
            problems[key] = str(exc)
    if "min_score" in clean and "max_score" in clean and clean["min_score"] > clean["max_score"]:
        problems["max_score"] = _("at least the minimum score")
    if problems:
        raise Invalid(_("Some conditions need attention."), problems)
    return clean


def condition_holds(name: str, value: Any, facts: Facts) -> tuple[bool, Reason]:
    """Say whether one condition holds for these facts, and why (for the trace)."""
    condition = BY_KEY.get(name)
    if condition is None:  # pragma: no cover - conditions are checked when saved
        return False, reason(N_("unknown condition %(name)s"), name=name)
    return condition.holds(value, facts)


def condition_label(key: str) -> str:
    """Return the name people see for a rule condition."""
    condition = BY_KEY.get(key)
    return str(condition.label) if condition else key.replace("_", " ").capitalize()


def describe_conditions(conditions: Mapping[str, Any], teams: Mapping[int, str]) -> list[str]:
    """Say a rule's conditions in words, one phrase each."""
    phrases = []
    for key, value in conditions.items():
        condition = BY_KEY.get(key)
        if condition is None:  # pragma: no cover - conditions are checked when saved
            phrases.append(_("%(key)s is %(value)s", key=key, value=value))
        else:
            phrases.append(condition.phrase(value, teams))
    return phrases
