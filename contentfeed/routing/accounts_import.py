"""Customer accounts in and out of CSV: an admin's bulk import (one outcome per row) and the
export it round-trips with."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Team, User
from contentfeed.errors import DomainError
from contentfeed.i18n import _, _l, number_text
from contentfeed.routing import customer_accounts
from contentfeed.routing.models import Account
from contentfeed.sheets import read_sheet, read_text, refuse_file
from contentfeed.text import control_problem

COLUMNS = ("name", "domains", "owner_team", "owner_email", "crm_id")
COLUMN_HELP = {
    "name": _l("the company's name (required); an account of this name is updated"),
    "domains": _l("its email domains, separated by ; or spaces (required), e.g. acme.com; acme.de"),
    "owner_team": _l("the owning team's name (optional)"),
    "owner_email": _l("the account owner's email address (optional)"),
    "crm_id": _l("the CRM's id (optional); when given, the account with this id is updated"),
}
# The German headers a spreadsheet exported in German may carry (normalised like the columns).
COLUMN_ALIASES = {
    "Firma": "name",
    "Firmenname": "name",
    "Unternehmen": "name",
    "Kunde": "name",
    "Kundenkonto": "name",
    "Domänen": "domains",
    "Domain": "domains",
    "E-Mail-Domains": "domains",
    "Team": "owner_team",
    "Zuständiges Team": "owner_team",
    "Verantwortlich": "owner_email",
    "Verantwortliche E-Mail": "owner_email",
    "E-Mail Verantwortliche": "owner_email",
    "CRM-ID": "crm_id",
    "CRM-Nummer": "crm_id",
}
EMPTY_HINT = _l("Export the accounts to see the format.")
IMPORT_MAX_ROWS = 10_000


@dataclass(frozen=True)
class ImportRow:
    """What happened to one row of the file."""

    number: int  # the row number a spreadsheet shows (the header is row 1)
    name: str
    outcome: Literal["created", "updated", "error"]
    message: str = ""


@dataclass(frozen=True)
class ImportReport:
    """The outcome of an import, row by row."""

    rows: list[ImportRow]

    def _with(self, outcome: str) -> list[ImportRow]:
        return [row for row in self.rows if row.outcome == outcome]

    @property
    def created(self) -> list[ImportRow]:
        """Rows that created an account."""
        return self._with("created")

    @property
    def updated(self) -> list[ImportRow]:
        """Rows that updated an existing account."""
        return self._with("updated")

    @property
    def errors(self) -> list[ImportRow]:
        """Rows that changed nothing, each with its reason."""
        return self._with("error")


def split_domains(text: str) -> list[str]:
    """Split a cell or a text box of domains on ; , spaces and line breaks."""
    return [part for part in re.split(r"[;,\s]+", text) if part]


def import_accounts_file(s: Session, data: bytes) -> ImportReport:
    """Create or update accounts from an uploaded CSV file, in whichever encoding and with
    whichever delimiter a spreadsheet saved it (sheets.read_text, sheets.read_sheet)."""
    text = read_text(data, empty_hint=EMPTY_HINT).text
    return import_accounts(s, text)


def import_accounts(s: Session, text: str) -> ImportReport:
    """Create or update accounts from CSV text, each row in its own savepoint; never commits.

    A row updates the account with its crm_id when it gives one, else the account of its name
    (ignoring case); otherwise it creates one. A bad row changes nothing and says why.
    """
    sheet = read_sheet(text, aliases=COLUMN_ALIASES, empty_hint=str(EMPTY_HINT))
    if sheet.missing(("name", "domains")):
        raise refuse_file(
            _(
                "The first line must name the columns, with at least name and domains "
                "(found: %(found)s).",
                found=sheet.found,
            )
        )
    if not sheet.rows:
        raise refuse_file(_("The file has a header line but no accounts below it."))
    if len(sheet.rows) > IMPORT_MAX_ROWS:
        raise refuse_file(
            _(
                "The file has %(count)s accounts; one import takes at most %(most)s. Split it "
                "into smaller files.",
                count=number_text(len(sheet.rows)),
                most=number_text(IMPORT_MAX_ROWS),
            )
        )
    teams = {team.name.lower(): team for team in s.scalars(sa.select(Team))}
    rows = [(row.number, row.cells) for row in sheet.rows]
    emails = {cells["owner_email"].lower() for _n, cells in rows if cells.get("owner_email")}
    owners = {
        user.email.lower(): user
        for user in s.scalars(sa.select(User).where(sa.func.lower(User.email).in_(emails)))
    }  # one query for the whole file, not one per row
    return ImportReport([_import_row(s, number, cells, teams, owners) for number, cells in rows])


def _import_row(
    s: Session,
    number: int,
    cells: dict[str, str],
    teams: dict[str, Team],
    owners: dict[str, User],
) -> ImportRow:
    name = cells.get("name", "")
    # Refused before the look-ups below: PostgreSQL cannot even compare a text with a NUL.
    bad = [f"{key}: {problem}" for key, text in cells.items() if (problem := control_problem(text))]
    if bad:
        return ImportRow(number, name, "error", "; ".join(bad))
    crm_id = cells.get("crm_id", "")
    team_name = cells.get("owner_team", "")
    team = teams.get(team_name.lower()) if team_name else None
    if team_name and team is None:
        problem = _("no team is called “%(name)s”", name=team_name)
        return ImportRow(number, name, "error", f"owner_team: {problem}")
    owner_email = cells.get("owner_email", "").lower()
    owner = None
    if owner_email:
        owner = owners.get(owner_email)
        if owner is None:
            problem = _("nobody signs in as %(email)s", email=owner_email)
            return ImportRow(number, name, "error", f"owner_email: {problem}")
    existing = _find_account(s, crm_id, name)
    # On an update an empty cell keeps the account's value.
    data = customer_accounts.AccountIn(
        name=name,
        domains=split_domains(cells.get("domains", "")),
        crm_id=crm_id or (existing.crm_id if existing else ""),
        owner_team_id=team.id if team else (existing.owner_team_id if existing else None),
        owner_id=owner.id if owner else (existing.owner_id if existing else None),
    )
    try:
        with s.begin_nested():
            customer_accounts.save_account(s, data, existing)
    except DomainError as exc:
        problems = "; ".join(f"{key}: {text}" for key, text in exc.fields.items())
        return ImportRow(number, name, "error", problems or exc.message)
    return ImportRow(number, name.strip(), "updated" if existing else "created")


def _find_account(s: Session, crm_id: str, name: str) -> Account | None:
    """Find the account a row updates: by CRM id when it has one, else by name.

    A row with a CRM id no account has yet may still name an account without one: it gets
    the id rather than a twin.
    """
    query = sa.select(Account).options(selectinload(Account.domains)).order_by(Account.id)
    if crm_id:
        found = s.scalar(query.where(Account.crm_id == crm_id).limit(1))
        if found is not None:
            return found
        query = query.where(Account.crm_id == "")
    if not name.strip():
        return None
    return s.scalar(query.where(sa.func.lower(Account.name) == name.strip().lower()).limit(1))


def export_rows(accounts: Iterable[Account], teams: dict[int, str]) -> list[list[str]]:
    """Return accounts as rows in the columns the import reads, header first."""
    return [
        list(COLUMNS),
        *(
            [
                account.name,
                "; ".join(account.domain_names),
                teams.get(account.owner_team_id or 0, ""),
                account.owner.email if account.owner else "",
                account.crm_id,
            ]
            for account in accounts
        ),
    ]
