"""Admin pages for customer accounts: the list, the form, the CSV import and export."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response
from wtforms import (
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from contentfeed import db, sheets
from contentfeed.accounts import access
from contentfeed.db import utcnow
from contentfeed.errors import DomainError, Invalid
from contentfeed.forms import Form, options
from contentfeed.i18n import _, _l
from contentfeed.routing import (
    accounts_import,
    customer_accounts,
    people,
)
from contentfeed.routing.admin_views import bp
from contentfeed.routing.admin_views.common import (
    ADMIN,
    apply_errors,
    form_status,
)
from contentfeed.routing.models import (
    Account,
)
from contentfeed.ui import Page, page_number, sort_params, url_with

ACCOUNTS_PER_PAGE = 50


class AccountForm(Form):
    """A known customer and the email domains its people write from."""

    name = StringField(
        _l("Company name"),
        validators=[DataRequired(message=_l("Give the company's name.")), Length(max=200)],
    )
    domains = TextAreaField(
        _l("Domains"),
        validators=[DataRequired(message=_l("Give at least one domain, e.g. acme.com."))],
        description=_l(
            "One per line or separated by commas. acme.com also covers its subdomains "
            "(eu.acme.com); free-mail providers can't be used."
        ),
    )
    crm_id = StringField(_l("CRM id"), validators=[Length(max=120)], description=_l("Optional."))
    owner_team_id = SelectField(
        _l("Owning team"), coerce=int, choices=[], validate_choice=True, default=0
    )
    owner_id = SelectField(
        _l("Account owner"), coerce=int, choices=[], validate_choice=True, default=0
    )


class ImportForm(Form):
    """A CSV file of accounts."""

    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(message=_l("Choose a CSV file to import."))],
        description=_l("As your spreadsheet saves CSV: cells separated by , or ; or tabs."),
    )


# --- accounts ----------------------------------------------------------------------------


@bp.get("/admin/accounts")
@access.require_role(*ADMIN)
def accounts() -> str:
    """List the known customer accounts, searchable by name or domain."""
    s = db.session()
    q = request.args.get("q", "").strip()
    teams = people.team_names(s)
    sorts: dict[str, Callable[[Account], str]] = {
        "name": lambda a: a.name.lower(),
        "crm": lambda a: a.crm_id.lower(),
        "team": lambda a: teams.get(a.owner_team_id or 0, "").lower(),
        "owner": lambda a: a.owner.name.lower() if a.owner else "",
    }
    sort, direction = sort_params(set(sorts), "name")
    found = sorted(
        customer_accounts.list_accounts(s, q), key=sorts[sort], reverse=direction == "desc"
    )
    number = page_number()
    page = Page(number, ACCOUNTS_PER_PAGE, len(found), lambda n: url_with(page=n))
    return render_template(
        "routing/admin_accounts.html",
        accounts=found[page.offset : page.offset + ACCOUNTS_PER_PAGE],
        page=page,
        q=q,
        teams=teams,
        sort=sort,
        direction=direction,
        total=customer_accounts.count_accounts(s),
    )


def _account_form(account: Account | None) -> AccountForm:
    s = db.session()
    form = (
        AccountForm(obj=account)
        if account is not None and request.method == "GET"
        else AccountForm()
    )
    form.owner_team_id.choices = options(
        [(0, _("No team")), *((team_id, name) for team_id, name in people.sorted_teams(s))]
    )
    owners = people.active_users(s)
    choices = [(0, _("Nobody"))] + [
        (u.id, _("%(name)s (%(role)s)", name=u.name, role=u.role_label)) for u in owners
    ]
    if account is not None and account.owner is not None and account.owner not in owners:
        choices.append(
            (account.owner.id, _("%(name)s (no longer active)", name=account.owner.name))
        )
    form.owner_id.choices = options(choices)
    if account is not None and request.method == "GET":
        form.domains.data = "\n".join(account.domain_names)
        form.owner_team_id.data = account.owner_team_id or 0
        form.owner_id.data = account.owner_id or 0
    return form


def _account_page(account: Account | None) -> ResponseReturnValue:
    s = db.session()
    form = _account_form(account)
    if form.validate_on_submit():
        data = customer_accounts.AccountIn(
            name=form.name.data or "",
            domains=accounts_import.split_domains(form.domains.data or ""),
            crm_id=form.crm_id.data or "",
            owner_team_id=form.owner_team_id.data or None,
            owner_id=form.owner_id.data or None,
        )
        try:
            saved = customer_accounts.save_account(s, data, account)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            said = (
                _(
                    "%(name)s is saved: leads from %(domains)s count as a known customer.",
                    name=saved.name,
                    domains=", ".join(saved.domain_names),
                )
                if account is not None
                else _(
                    "%(name)s is added: leads from %(domains)s count as a known customer.",
                    name=saved.name,
                    domains=", ".join(saved.domain_names),
                )
            )
            flash(said, "success")
            return redirect(url_for("routing_admin.accounts", q=saved.name))
    return render_template(
        "routing/admin_account_form.html", form=form, account=account
    ), form_status(form)


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def account_new() -> ResponseReturnValue:
    """Add a known customer account."""
    return _account_page(None)


@bp.route("/admin/accounts/<int:account_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def account_edit(account_id: int) -> ResponseReturnValue:
    """Change an account's name, domains, CRM id or owner."""
    return _account_page(customer_accounts.get_account(db.session(), account_id))


@bp.post("/admin/accounts/<int:account_id>/delete")
@access.require_role(*ADMIN)
def account_delete(account_id: int) -> Response:
    """Forget an account: its domains no longer mark leads as a customer's."""
    s = db.session()
    account = customer_accounts.get_account(s, account_id)
    name = account.name
    customer_accounts.delete_account(s, account.id)
    flash(
        _("%(name)s is removed; its domains no longer count as a customer.", name=name), "success"
    )
    return redirect(url_for("routing_admin.accounts"))


@bp.route("/admin/accounts/import", methods=["GET", "POST"], endpoint="accounts_import")
@access.require_role(*ADMIN)
def accounts_import_page() -> ResponseReturnValue:
    """Create and update accounts from a CSV file, showing what happened to each row."""
    s = db.session()
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        try:
            report = accounts_import.import_accounts_file(s, form.file.data.read())
        except Invalid as exc:
            form.file.errors = [exc.fields.get("file", exc.message)]
    return render_template(
        "routing/admin_accounts_import.html",
        form=form,
        report=report,
        columns=accounts_import.COLUMN_HELP,
        teams=[name for _id, name in people.sorted_teams(s)],
    ), form_status(form)


@bp.get("/admin/accounts.csv")
@access.require_role(*ADMIN)
def accounts_export() -> Response:
    """Download every account as CSV, in the columns the import reads."""
    s = db.session()
    rows = accounts_import.export_rows(customer_accounts.list_accounts(s), people.team_names(s))
    stamp = utcnow().strftime("%Y-%m-%d")
    return sheets.csv_download(rows, f"contentfeed-accounts-{stamp}.csv")
