"""Routing API: customer accounts and their CSV import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from flask import Response, request, url_for
from pydantic import BaseModel, ConfigDict, Field, RootModel

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    Timestamp,
    UserRef,
    json_response,
    operation,
    parse_json,
    parse_query,
)
from contentfeed.db import Id
from contentfeed.errors import Invalid, UnsupportedMediaType
from contentfeed.i18n import _
from contentfeed.routing import (
    accounts_import,
    customer_accounts,
    people,
)
from contentfeed.routing.api import bp
from contentfeed.routing.api.common import (
    ACCOUNTS_TAG,
    ADMIN,
    WRITE_SCOPE,
    TeamRef,
)
from contentfeed.routing.models import (
    Account,
)
from contentfeed.text import Input

# --- customer accounts ---------------------------------------------------------------------


class AccountOut(BaseModel):
    """A known customer: leads from its domains are customer leads."""

    id: int
    name: str
    domains: list[str]
    crm_id: str
    owner_team: TeamRef | None
    owner: UserRef | None
    created_at: Timestamp
    updated_at: Timestamp


class AccountList(BaseModel):
    """Customer accounts by name."""

    items: list[AccountOut]


class AccountQuery(Input):
    """Search for accounts."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in names and domains")


class AccountIn(Input):
    """A customer account as an admin gives it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    domains: list[str] = Field(
        min_length=1, max_length=100, description="Its email domains, e.g. acme.com"
    )
    crm_id: str = Field(default="", max_length=120, description="The CRM's id of the account")
    owner_team_id: Id | None = None
    owner_id: Id | None = Field(default=None, description="The account owner's user id")


class AccountsCsv(RootModel[str]):
    """CSV text (UTF-8) with a header line naming the columns name, domains (separated by ;
    or spaces), owner_team (a team's name), owner_email and crm_id; name and domains are
    required. A row updates the account with its crm_id, else the account of its name, else
    creates one."""


class ImportedRow(BaseModel):
    """What happened to one row of the file."""

    line: int = Field(description="The row number a spreadsheet shows (the header is 1)")
    name: str
    status: Literal["created", "updated", "error"]
    message: str = Field(description="Why the row was refused; empty otherwise")


class ImportReportOut(BaseModel):
    """The outcome of an import, row by row; a refused row changes nothing."""

    created: int
    updated: int
    errors: int
    rows: list[ImportedRow]


def account_out(account: Account, teams: Mapping[int, str]) -> AccountOut:
    """Describe a customer account for the API, naming its team from the team names given."""
    team_id = account.owner_team_id
    team = (
        TeamRef(id=team_id, name=teams[team_id])
        if team_id is not None and team_id in teams
        else None
    )
    return AccountOut(
        id=account.id,
        name=account.name,
        domains=sorted(account.domain_names),
        crm_id=account.crm_id,
        owner_team=team,
        owner=UserRef(id=account.owner.id, name=account.owner.name) if account.owner else None,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


def _account_data(data: AccountIn) -> customer_accounts.AccountIn:
    return customer_accounts.AccountIn(
        name=data.name,
        domains=data.domains,
        crm_id=data.crm_id,
        owner_team_id=data.owner_team_id,
        owner_id=data.owner_id,
    )


@bp.get("/accounts")
@access.require_scope("read", *ADMIN)
@operation(
    summary="List customer accounts", tag=ACCOUNTS_TAG, response=AccountList, query=AccountQuery
)
def list_accounts() -> Response:
    """List customer accounts by name, optionally searched by name or domain."""
    query = parse_query(AccountQuery)
    s = db.session()
    teams = people.team_names(s)
    body = AccountList(
        items=[account_out(a, teams) for a in customer_accounts.list_accounts(s, query.q)]
    )
    return json_response(body)


@bp.post("/accounts")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Add a customer account",
    tag=ACCOUNTS_TAG,
    response=AccountOut,
    status=201,
    body=AccountIn,
)
def create_account() -> Response:
    """Add a customer; a domain belongs to one account only, and free-mail domains to none."""
    data = parse_json(AccountIn)
    s = db.session()
    account = customer_accounts.save_account(s, _account_data(data))
    body = account_out(account, people.team_names(s))
    response = json_response(body, 201)
    response.headers["Location"] = url_for("routing_api.get_account", account_id=account.id)
    return response


@bp.get("/accounts/<int:account_id>")
@access.require_scope("read", *ADMIN)
@operation(summary="Get a customer account", tag=ACCOUNTS_TAG, response=AccountOut, errors=(404,))
def get_account(account_id: int) -> Response:
    """Return one customer account with its domains."""
    s = db.session()
    body = account_out(customer_accounts.get_account(s, account_id), people.team_names(s))
    return json_response(body)


@bp.put("/accounts/<int:account_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Change a customer account",
    tag=ACCOUNTS_TAG,
    response=AccountOut,
    body=AccountIn,
    errors=(404,),
)
def update_account(account_id: int) -> Response:
    """Replace an account's name, domains, CRM id and owners."""
    s = db.session()
    account = customer_accounts.get_account(s, account_id)
    data = parse_json(AccountIn)
    saved = customer_accounts.save_account(s, _account_data(data), account)
    body = account_out(saved, people.team_names(s))
    return json_response(body)


@bp.delete("/accounts/<int:account_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Delete a customer account", tag=ACCOUNTS_TAG, status=204, errors=(404,))
def delete_account(account_id: int) -> Response:
    """Delete an account and its domains; its leads stay, no longer marked as a customer's."""
    s = db.session()
    customer_accounts.delete_account(s, account_id)
    return Response(status=204)


@bp.post("/accounts/import")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Import customer accounts from CSV",
    tag=ACCOUNTS_TAG,
    response=ImportReportOut,
    body=AccountsCsv,
    content_type="text/csv",
    errors=(413, 415),
)
def import_accounts() -> Response:
    """Create or update accounts from a CSV file sent as the body (`Content-Type: text/csv`).

    Each row is taken or refused on its own: the answer says, row by row, what was created,
    updated, or refused and why. A file that cannot be read at all answers 422.
    """
    if request.mimetype != "text/csv":
        raise UnsupportedMediaType(
            _("Send the CSV file as the body with 'Content-Type: text/csv'.")
        )
    s = db.session()
    try:
        report = accounts_import.import_accounts_file(s, request.get_data())
    except Invalid as exc:  # the body is the file here
        raise Invalid(exc.message, {"body": exc.message}) from None
    body = ImportReportOut(
        created=len(report.created),
        updated=len(report.updated),
        errors=len(report.errors),
        rows=[
            ImportedRow(line=row.number, name=row.name, status=row.outcome, message=row.message)
            for row in report.rows
        ],
    )
    return json_response(body)
