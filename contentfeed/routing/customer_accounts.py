"""Customer accounts: known companies and the email domains their people write from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Team, User
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import _
from contentfeed.routing import domains
from contentfeed.routing.models import (
    Account,
    AccountDomain,
)
from contentfeed.text import LINE_PROBLEM, control_problem

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
        problems["name"] = _("required")
    elif len(data.name.strip()) > 200:
        problems["name"] = _("at most 200 characters")
    names: list[str] = []
    for raw in data.domains:
        domain = domains.normalise_domain(raw)
        if not domain:
            continue
        if not domains.is_domain(domain):
            problems["domains"] = _("%(text)s is not a domain", text=repr(raw.strip()))
            break
        if domains.is_freemail(domain):
            problems["domains"] = _(
                "%(domain)s is a free-mail provider, not a company's domain", domain=domain
            )
            break
        if domain not in names:
            names.append(domain)
    if not names and "domains" not in problems and not _domainless(s, account_id):
        problems["domains"] = _("give at least one domain, e.g. acme.com")
    if names:
        taken = s.execute(
            sa.select(AccountDomain.domain, Account.name)
            .join(Account)
            .where(AccountDomain.domain.in_(names), AccountDomain.account_id != (account_id or 0))
        ).first()
        if taken is not None:
            problems["domains"] = _(
                "%(domain)s already belongs to %(name)s", domain=taken.domain, name=taken.name
            )
    if data.owner_team_id is not None and s.get(Team, data.owner_team_id) is None:
        problems["owner_team_id"] = _("no team has this id")
    if data.owner_id is not None and s.get(User, data.owner_id) is None:
        problems["owner_id"] = _("no user has this id")
    if problems:
        raise Invalid(_("Some fields need attention."), problems)
    return names


def _domainless(s: Session, account_id: int | None) -> bool:
    """Tell whether an existing account has no domain: a customer won through a free-mail
    lead (customers.cards), which may keep having none."""
    if account_id is None:
        return False
    has_one = sa.select(AccountDomain.id).where(AccountDomain.account_id == account_id)
    return s.scalar(has_one.limit(1)) is None


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
        raise NotFound(_("No account has this id."))
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


def count_accounts(s: Session) -> int:
    """Count every customer account."""
    return s.scalar(sa.select(sa.func.count()).select_from(Account)) or 0


def account_for_domain(s: Session, domain: str) -> Account | None:
    """Return the customer account an email domain belongs to (subdomains included)."""
    return accounts_for_domains(s, [domain]).get(domain)


def accounts_for_domains(s: Session, names: Iterable[str]) -> dict[str, Account | None]:
    """Return the customer account of each email domain, in two queries for them all.

    A domain matches an account listing it or one of its parents; the most specific wins.
    Free-mail domains belong to no account.
    """
    names = list(dict.fromkeys(names))
    candidates = {
        name: domains.candidate_domains(name)
        for name in names
        if name and not domains.is_freemail(name)
    }
    wanted = {candidate for found in candidates.values() for candidate in found}
    listed: dict[str, int] = {}
    if wanted:
        listed = dict(
            s.execute(
                sa.select(AccountDomain.domain, AccountDomain.account_id).where(
                    AccountDomain.domain.in_(wanted)
                )
            ).all()
        )
    accounts = {}
    if listed:
        chosen = sa.select(Account).where(Account.id.in_(set(listed.values())))
        accounts = {account.id: account for account in s.scalars(chosen)}
    found: dict[str, Account | None] = {name: None for name in names}
    for name, candidates_of_name in candidates.items():
        best = next((listed[c] for c in candidates_of_name if c in listed), None)
        found[name] = accounts.get(best) if best is not None else None
    return found
