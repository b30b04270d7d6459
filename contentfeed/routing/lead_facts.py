"""The facts routing looks at: what the rules can see of a lead, and its score."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from contentfeed.accounts.models import User
from contentfeed.leads.models import (
    Lead,
)
from contentfeed.leads.service import last_touch
from contentfeed.routing import domains
from contentfeed.routing.customer_accounts import account_for_domain
from contentfeed.routing.models import Account

SENIOR_TITLE = re.compile(
    r"\b(chief|ceo|cto|cio|cfo|coo|cmo|ciso|founder|owner|president|vp|vice president|head|"
    r"director|partner|geschäftsführer|leiter|directeur)\b",
    re.IGNORECASE,
)
MANAGER_TITLE = re.compile(r"\b(manager|lead|principal|architect)\b", re.IGNORECASE)

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


def facts_of(s: Session, lead: Lead, accounts: Mapping[str, Account | None] | None = None) -> Facts:
    """Gather what the rules look at: domain, account, region, score, attributed seller.

    ``accounts`` holds the accounts of domains already looked up (a routing run's batch).
    """
    domain = lead.email_domain or lead.email.rpartition("@")[2]
    free_mail = domains.is_freemail(domain)
    if accounts is not None and domain in accounts:
        account = accounts[domain]
    else:
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
