"""Customer development's pages: the customers (/customers) and one account's page with its
plan (contracts, goals, next steps), leads, cards and the content its people engaged with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.widgets import DateInput

from contentfeed import db, i18n
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.api import validate
from contentfeed.customers import overview, plans
from contentfeed.customers.models import GOAL_STATUS_LABELS, GoalStatus
from contentfeed.errors import DomainError
from contentfeed.forms import Form, options
from contentfeed.i18n import _, _l, ngettext
from contentfeed.routing import people
from contentfeed.text import Input
from contentfeed.ui import Page, page_number, url_with, viewer_zone

bp = Blueprint("customers", __name__)

WORKERS = (Role.REP, Role.ADMIN)
CUSTOMERS_PER_PAGE = 50
_DAY_HINT = _l("e.g. 31.12.2026")


def _day_field(label: Any, required: bool = False) -> StringField:
    # A text field drawn as a date picker: the browser sends ISO, a person without one may type
    # 31.12.2026, and the use case reads both (and says what is wrong with anything else).
    return StringField(
        label, widget=DateInput(), render_kw={"required": required, "placeholder": _DAY_HINT}
    )


class ContractForm(Form):
    """A contract of the customer and the day it ends."""

    name = StringField(_l("Contract"), render_kw={"required": True, "maxlength": 200})
    ends_on = _day_field(_l("Ends on"), required=True)
    crm_id = StringField(_l("CRM id"), render_kw={"maxlength": 120}, description=_l("Optional."))


class GoalForm(Form):
    """More of the customer's business: what, by when, how it stands."""

    product = StringField(
        _l("Product or service"),
        render_kw={"required": True, "maxlength": 200},
        description=_l("Something the customer has not bought yet."),
    )
    target_on = _day_field(_l("Target date"))
    status = SelectField(_l("Status"), choices=[], validate_choice=False)


class StepForm(Form):
    """A next step: what, who, by when."""

    text = StringField(_l("Next step"), render_kw={"required": True, "maxlength": 500})
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)
    due_on = _day_field(_l("Due"))


def _day_value(form: FlaskForm, name: str) -> Any:
    """What a date field holds, for the use case: None when left empty."""
    value = (getattr(form, name).data or "").strip()
    return value or None


# --- the list --------------------------------------------------------------------------------


@bp.get("/customers")
@access.require_role(*WORKERS)
def index() -> str:
    """List the customers: owner, customer since, the next contract to end, open cards."""
    s = db.session()
    q = request.args.get("q", "").strip()[:200]
    number = page_number()
    found = overview.list_customers(
        s, current_user, q, offset=(number - 1) * CUSTOMERS_PER_PAGE, limit=CUSTOMERS_PER_PAGE
    )
    page = Page(number, CUSTOMERS_PER_PAGE, found.total, lambda n: url_with(page=n))
    return render_template(
        "customers/index.html",
        rows=found.rows,
        page=page,
        q=q,
        today=_today(),
        ends_text=ends_text,
        everyone=plans.develops_customers(s, current_user),
    )


def _today() -> Any:
    return datetime.now(viewer_zone()).date()


def ends_text(day: Any, today: Any) -> str:
    """Say how far off a day is: in 12 days, today, 3 days ago."""
    left = overview.days_left(day, today)
    if left == 0:
        return _("today")
    if left > 0:
        return ngettext("in %(num)d day", "in %(num)d days", left)
    return ngettext("%(num)d day ago", "%(num)d days ago", -left)


# --- the account page ------------------------------------------------------------------------


def _owner_choices(current: Any = None) -> list[Any]:
    users = people.active_users(db.session(), [Role.REP, Role.ADMIN])
    choices = [(str(u.id), u.name) for u in users]
    if current is not None and all(u.id != current.id for u in users):
        choices.append((str(current.id), _("%(name)s (no longer active)", name=current.name)))
    return options(choices)


def _goal_choices() -> list[Any]:
    return options((status.value, str(GOAL_STATUS_LABELS[status])) for status in GoalStatus)


def _forms(page: overview.AccountPage, failed: dict[str, Form]) -> dict[str, Form]:
    """The page's forms: one to add each kind of thing, one to edit each item; a form that
    was sent and refused is shown as sent, with its errors."""
    forms: dict[str, Form] = {}

    def form(key: str, kind: type[Form], data: dict[str, Any] | None = None) -> Any:
        forms[key] = failed.get(key) or kind(prefix=key, formdata=None, data=data or {})
        return forms[key]

    form("contract", ContractForm)
    form("goal", GoalForm).status.choices = _goal_choices()
    step_new = form("step", StepForm)
    step_new.owner_id.choices = _owner_choices()
    if "step" not in failed:
        step_new.owner_id.data = str(current_user.id)
    for c in page.plan.contracts:
        data = {"name": c.name, "ends_on": c.ends_on.isoformat(), "crm_id": c.crm_id}
        form(f"contract-{c.id}", ContractForm, data)
    for g in page.plan.goals:
        data = {
            "product": g.product,
            "target_on": g.target_on.isoformat() if g.target_on else "",
            "status": g.status.value,
        }
        form(f"goal-{g.id}", GoalForm, data).status.choices = _goal_choices()
    for st in page.plan.steps:
        data = {
            "text": st.text,
            "owner_id": str(st.owner_id or ""),
            "due_on": st.due_on.isoformat() if st.due_on else "",
        }
        form(f"step-{st.id}", StepForm, data).owner_id.choices = _owner_choices(st.owner)
    return forms


def _account_page(account_id: int, failed: dict[str, Form] | None = None) -> ResponseReturnValue:
    s = db.session()
    page = overview.account_page(s, current_user, account_id)
    failed = failed or {}
    return render_template(
        "customers/account.html",
        page=page,
        account=page.plan.account,
        forms=_forms(page, failed),
        failed=set(failed),
        today=_today(),
        ends_text=ends_text,
        date_text=i18n.date_text,
    ), (422 if failed else 200)


@bp.get("/customers/<int:account_id>")
@access.require_role(*WORKERS)
def account(account_id: int) -> ResponseReturnValue:
    """Show a customer's plan, leads, cards and the content its people engaged with."""
    return _account_page(account_id)


def _show_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a use case's field errors beside the form's fields, the rest above the form."""
    shown = False
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message[:1].upper() + message[1:]]
            shown = True
    if not shown:
        form.form_errors.append(error.message)


def _save(
    account_id: int,
    key: str,
    form: Form,
    model: type[Input],
    values: Callable[[], dict[str, Any]],
    act: Callable[[Any], Any],
    done: str,
) -> ResponseReturnValue:
    """Run one plan change from a form: on success back to the page with a note of what was
    done; refused, the page again with the form showing why (a 404 stays a 404)."""
    if form.validate_on_submit():
        try:
            act(validate(model, values()))
        except DomainError as exc:
            if exc.status in (401, 403, 404):
                raise
            db.session().rollback()
            _show_errors(form, exc)
        else:
            flash(done, "success")
            return redirect(url_for("customers.account", account_id=account_id) + f"#{key}")
    return _account_page(account_id, {key: form})


def _after(account_id: int, anchor: str, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("customers.account", account_id=account_id) + f"#{anchor}")


def _contract_values(form: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "name": form.name.data or "",
        "ends_on": form.ends_on.data or "",
        "crm_id": form.crm_id.data or "",
    }


@bp.post("/customers/<int:account_id>/contracts")
@access.require_role(*WORKERS)
def contract_add(account_id: int) -> ResponseReturnValue:
    """Add a contract to the plan."""
    plans.plan_account(db.session(), current_user, account_id)
    form = ContractForm(prefix="contract")
    return _save(
        account_id,
        "contract",
        form,
        plans.ContractIn,
        _contract_values(form),
        lambda data: plans.add_contract(db.session(), current_user, account_id, data),
        _("The contract is added."),
    )


@bp.post("/customers/<int:account_id>/contracts/<int:contract_id>")
@access.require_role(*WORKERS)
def contract_edit(account_id: int, contract_id: int) -> ResponseReturnValue:
    """Change a contract's name, end date or CRM id."""
    key = f"contract-{contract_id}"
    form = ContractForm(prefix=key)
    return _save(
        account_id,
        key,
        form,
        plans.ContractChange,
        _contract_values(form),
        lambda data: plans.edit_contract(
            db.session(), current_user, contract_id, data, account_id=account_id
        ),
        _("The contract is saved."),
    )


@bp.post("/customers/<int:account_id>/contracts/<int:contract_id>/end")
@access.require_role(*WORKERS)
def contract_end(account_id: int, contract_id: int) -> Response:
    """Mark a contract ended: it runs out without a renewal."""
    contract = plans.end_contract(db.session(), current_user, contract_id, account_id=account_id)
    return _after(account_id, "contracts", _("%(name)s is marked ended.", name=contract.name))


@bp.post("/customers/<int:account_id>/contracts/<int:contract_id>/delete")
@access.require_role(*WORKERS)
def contract_delete(account_id: int, contract_id: int) -> Response:
    """Remove a contract from the plan."""
    plans.delete_contract(db.session(), current_user, contract_id, account_id=account_id)
    return _after(account_id, "contracts", _("The contract is removed."))


def _goal_values(form: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "product": form.product.data or "",
        "target_on": _day_value(form, "target_on"),
        "status": form.status.data or GoalStatus.OPEN.value,
    }


@bp.post("/customers/<int:account_id>/goals")
@access.require_role(*WORKERS)
def goal_add(account_id: int) -> ResponseReturnValue:
    """Add a goal to the plan."""
    plans.plan_account(db.session(), current_user, account_id)
    form = GoalForm(prefix="goal")
    form.status.choices = _goal_choices()
    return _save(
        account_id,
        "goal",
        form,
        plans.GoalIn,
        _goal_values(form),
        lambda data: plans.add_goal(db.session(), current_user, account_id, data),
        _("The goal is added."),
    )


@bp.post("/customers/<int:account_id>/goals/<int:goal_id>")
@access.require_role(*WORKERS)
def goal_edit(account_id: int, goal_id: int) -> ResponseReturnValue:
    """Change a goal's product, target date or status."""
    key = f"goal-{goal_id}"
    form = GoalForm(prefix=key)
    form.status.choices = _goal_choices()
    return _save(
        account_id,
        key,
        form,
        plans.GoalChange,
        _goal_values(form),
        lambda data: plans.edit_goal(
            db.session(), current_user, goal_id, data, account_id=account_id
        ),
        _("The goal is saved."),
    )


@bp.post("/customers/<int:account_id>/goals/<int:goal_id>/delete")
@access.require_role(*WORKERS)
def goal_delete(account_id: int, goal_id: int) -> Response:
    """Remove a goal from the plan."""
    plans.delete_goal(db.session(), current_user, goal_id, account_id=account_id)
    return _after(account_id, "goals", _("The goal is removed."))


def _step_values(form: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "text": form.text.data or "",
        "owner_id": form.owner_id.data or None,
        "due_on": _day_value(form, "due_on"),
    }


@bp.post("/customers/<int:account_id>/steps")
@access.require_role(*WORKERS)
def step_add(account_id: int) -> ResponseReturnValue:
    """Add a next step to the plan."""
    plans.plan_account(db.session(), current_user, account_id)
    form = StepForm(prefix="step")
    form.owner_id.choices = _owner_choices()
    return _save(
        account_id,
        "step",
        form,
        plans.StepIn,
        _step_values(form),
        lambda data: plans.add_step(db.session(), current_user, account_id, data),
        _("The next step is added."),
    )


@bp.post("/customers/<int:account_id>/steps/<int:step_id>")
@access.require_role(*WORKERS)
def step_edit(account_id: int, step_id: int) -> ResponseReturnValue:
    """Change a next step's text, owner or due date."""
    key = f"step-{step_id}"
    form = StepForm(prefix=key)
    form.owner_id.choices = _owner_choices()
    return _save(
        account_id,
        key,
        form,
        plans.StepChange,
        _step_values(form),
        lambda data: plans.edit_step(
            db.session(), current_user, step_id, data, account_id=account_id
        ),
        _("The next step is saved."),
    )


@bp.post("/customers/<int:account_id>/steps/<int:step_id>/done")
@access.require_role(*WORKERS)
def step_done(account_id: int, step_id: int) -> Response:
    """Mark a next step done."""
    plans.finish_step(db.session(), current_user, step_id, account_id=account_id)
    return _after(account_id, "steps", _("The next step is done."))


@bp.post("/customers/<int:account_id>/steps/<int:step_id>/delete")
@access.require_role(*WORKERS)
def step_delete(account_id: int, step_id: int) -> Response:
    """Remove a next step from the plan."""
    plans.delete_step(db.session(), current_user, step_id, account_id=account_id)
    return _after(account_id, "steps", _("The next step is removed."))
