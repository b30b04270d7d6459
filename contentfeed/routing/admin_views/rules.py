"""Admin pages for routing rules: the list, their order, the rule form and the dry run;
and the template helpers that read rules and traces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.api import validate
from contentfeed.errors import DomainError, Invalid
from contentfeed.forms import Form, MultiCheckboxField, options
from contentfeed.i18n import _, _l
from contentfeed.routing import (
    people,
    queue_setup,
    reasons,
    rule_conditions,
    rulebook,
    service,
)
from contentfeed.routing.admin_views import bp
from contentfeed.routing.admin_views.common import (
    ADMIN,
    DASH,
    YES_NO,
    apply_errors,
    form_status,
    routing_settings,
)
from contentfeed.routing.models import (
    STRATEGY_LABELS,
    RoutingRule,
    Strategy,
)


class RuleForm(Form):
    """A routing rule: where leads that meet every condition go."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Give the rule a name."))],
        description=_l("Say whom it is for, e.g. “DACH enterprise”."),
    )
    queue_id = SelectField(_l("Queue"), coerce=int, choices=[], validate_choice=True)
    strategy = SelectField(
        _l("How leads reach a rep"),
        choices=options(
            [("", _l("Use the queue's")), *((s.value, STRATEGY_LABELS[s]) for s in Strategy)]
        ),
        default="",
    )
    enabled = BooleanField(_l("The rule is on"), default=True)


Kind = rule_conditions.Kind

# A strategy's name inside a sentence ("Queue's (reps claim)"); German keeps its capitals.
STRATEGY_IN_TEXT = {
    Strategy.CLAIM: _l("reps claim"),
    Strategy.ROUND_ROBIN: _l("round-robin"),
    Strategy.WEIGHTED: _l("weighted by capacity"),
}


def _condition_field(condition: rule_conditions.Condition) -> Any:
    """The rule form's field for a condition: its kind says which field, the declaration
    what it is called and says."""
    label, help_text = condition.form_label or condition.label, condition.form_help
    if condition.kind is Kind.YES_NO:
        any_, yes, no = condition.yes_no
        choices = options([("", any_), ("yes", yes), ("no", no)])
        return SelectField(label, choices=choices, default="", description=help_text)
    if condition.kind is Kind.WORDS:
        length = Length(max=condition.max_chars)
        return StringField(label, validators=[length], description=help_text)
    if condition.kind is Kind.CHOICES:
        choices = options(condition.choices)
        return MultiCheckboxField(label, choices=choices, description=help_text)
    if condition.kind is Kind.SCORE:
        in_range = NumberRange(0, 100, message=_l("A whole number from 0 to 100."))
        return IntegerField(label, validators=[Optional(), in_range], description=f"0{DASH}100.")
    return SelectMultipleField(label, coerce=int, choices=[], description=help_text)


for _condition in rule_conditions.CONDITIONS:
    setattr(RuleForm, _condition.key, _condition_field(_condition))


def _show_condition(condition: rule_conditions.Condition, value: Any) -> Any:
    """A stored condition value as its form field holds it."""
    if condition.kind is Kind.YES_NO:
        return "" if value is None else ("yes" if value else "no")
    if condition.kind is Kind.WORDS:
        return ", ".join(value or [])
    if condition.kind is Kind.SCORE:
        return value
    return list(value or [])


def _read_condition(condition: rule_conditions.Condition, data: Any) -> Any:
    """A condition field's data as the rule's conditions take it (checked when saved)."""
    if condition.kind is Kind.YES_NO:
        return YES_NO.get(data or "")
    if condition.kind is Kind.WORDS:
        return data or ""
    if condition.kind is Kind.SCORE:
        return data
    return list(data or [])


class DryRunForm(Form):
    """A sample lead to route without saving anything."""

    email = StringField(
        _l("Email"),
        validators=[DataRequired(message=_l("Give an email address.")), Length(max=254)],
        description=_l("The domain decides customer and free-mail, e.g. jane@acme.com."),
    )
    first_name = StringField(_l("First name"), validators=[Length(max=120)])
    last_name = StringField(_l("Last name"), validators=[Length(max=120)])
    company = StringField(_l("Company"), validators=[Length(max=200)])
    job_title = StringField(_l("Job title"), validators=[Length(max=200)])
    country = StringField(
        _l("Country"),
        validators=[Length(max=60)],
        description=_l("An ISO code or the country's name, e.g. DE or Germany."),
    )
    code = StringField(
        _l("Tracked-link code"),
        validators=[Length(max=64)],
        description=_l(
            "Optional: a seller's link code as sent in utm_content, to credit that seller."
        ),
    )


@bp.app_template_global("routing_strategy_label")
def strategy_label(value: str | None) -> str:
    """Return the label of a strategy's stored value (for traces kept as JSON)."""
    try:
        return Strategy(value or "").label
    except ValueError:
        return value or "—"


@bp.app_template_filter("routing_time")
def parse_time(value: object) -> datetime | None:
    """Read a timestamp a trace keeps as ISO text (None when absent or unreadable)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@bp.app_template_global("routing_condition_label")
def condition_label(key: str) -> str:
    """Return the name people see for a rule condition."""
    return rule_conditions.condition_label(key)


@bp.app_template_global("routing_why")
def routing_why(entry: Any) -> str:
    """Say why routing decided one step of a trace, in the reader's language."""
    return reasons.why_of(entry)


# --- rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    """A rule as the rules table shows it."""

    rule: RoutingRule
    conditions: list[str]
    strategy: str


@bp.get("/admin/routing")
@access.require_role(*ADMIN)
def rules() -> str:
    """List the rules in the order they are tried, with their conditions in words."""
    s = db.session()
    teams = people.team_names(s)
    rows = [
        RuleRow(
            rule=rule,
            conditions=rule_conditions.describe_conditions(rule.conditions, teams),
            strategy=rule.strategy.label
            if rule.strategy
            else _("Queue's (%(strategy)s)", strategy=STRATEGY_IN_TEXT[rule.queue.strategy]),
        )
        for rule in rulebook.list_rules(s)
    ]
    settings = routing_settings()
    return render_template(
        "routing/admin_rules.html",
        rows=rows,
        settings=settings,
        default_queue=queue_setup.queue_by_name(s, settings.default_queue),
        has_queues=queue_setup.has_queues(s),
    )


@bp.post("/admin/routing/defaults")
@access.require_role(*ADMIN)
def rules_defaults() -> Response:
    """Create the default queues and rules now instead of on the first routed lead."""
    s = db.session()
    had_rules = rulebook.has_rules(s)
    service.ensure_defaults(s, routing_settings(), force=True)
    if had_rules:
        flash(_("There are rules already; nothing was added."), "info")
    else:
        flash(_("The default queues and rules are created."), "success")
    return redirect(url_for("routing_admin.rules"))


def _rule_form(rule: RoutingRule | None) -> RuleForm:
    s = db.session()
    form = RuleForm(obj=rule) if rule is not None and request.method == "GET" else RuleForm()
    form.queue_id.choices = options((q.id, q.name) for q in queue_setup.list_queues(s))
    teams = options(people.team_names(s).items())
    for condition in rule_conditions.CONDITIONS:
        if condition.kind is Kind.TEAMS:
            getattr(form, condition.key).choices = teams
    if rule is not None and request.method == "GET":
        form.strategy.data = rule.strategy.value if rule.strategy else ""
        for condition in rule_conditions.CONDITIONS:
            value = rule.conditions.get(condition.key)
            getattr(form, condition.key).data = _show_condition(condition, value)
    return form


def _rule_in(form: RuleForm) -> rulebook.RuleIn:
    conditions = {
        c.key: _read_condition(c, getattr(form, c.key).data) for c in rule_conditions.CONDITIONS
    }
    return validate(
        rulebook.RuleIn,
        {
            "name": form.name.data or "",
            "queue_id": form.queue_id.data or 0,
            "conditions": conditions,
            "strategy": form.strategy.data or None,
            "enabled": bool(form.enabled.data),
        },
    )


def _rule_page(rule: RoutingRule | None) -> ResponseReturnValue:
    s = db.session()
    form = _rule_form(rule)
    if form.validate_on_submit():
        try:
            saved = rulebook.save_rule(s, _rule_in(form), rule)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            if rule is not None:
                flash(_("Rule “%(name)s” is saved.", name=saved.name), "success")
            else:
                flash(
                    _(
                        "Rule “%(name)s” is created. It is tried last; move it up if it should "
                        "win.",
                        name=saved.name,
                    ),
                    "success",
                )
            return redirect(url_for("routing_admin.rules"))
    return render_template(
        "routing/admin_rule_form.html",
        form=form,
        rule=rule,
        has_queues=bool(form.queue_id.choices),
        condition_fields=[getattr(form, c.key) for c in rule_conditions.CONDITIONS],
    ), form_status(form)


@bp.route("/admin/routing/rules/new", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def rule_new() -> ResponseReturnValue:
    """Write a new rule; it is tried after the others."""
    return _rule_page(None)


@bp.route("/admin/routing/rules/<int:rule_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def rule_edit(rule_id: int) -> ResponseReturnValue:
    """Change a rule's conditions, queue, strategy or whether it is on."""
    return _rule_page(rulebook.get_rule(db.session(), rule_id))


@bp.post("/admin/routing/rules/<int:rule_id>/move")
@access.require_role(*ADMIN)
def rule_move(rule_id: int) -> Response:
    """Move a rule one place up or down."""
    s = db.session()
    steps = {"up": -1, "down": 1}
    direction = request.form.get("direction", "")
    rule = rulebook.get_rule(s, rule_id)
    if direction not in steps:
        flash(_("Say whether to move the rule up or down."), "error")
        return redirect(url_for("routing_admin.rules"))
    rulebook.move_rule(s, rule_id, steps[direction])
    moved = (
        _("Rule “%(name)s” moved up: it is now number %(n)s.", name=rule.name, n=rule.position)
        if direction == "up"
        else _(
            "Rule “%(name)s” moved down: it is now number %(n)s.", name=rule.name, n=rule.position
        )
    )
    flash(moved, "success")
    return redirect(url_for("routing_admin.rules") + f"#rule-{rule_id}")


@bp.post("/admin/routing/rules/<int:rule_id>/delete")
@access.require_role(*ADMIN)
def rule_delete(rule_id: int) -> Response:
    """Delete a rule; the others keep their order."""
    s = db.session()
    name = rulebook.get_rule(s, rule_id).name
    rulebook.delete_rule(s, rule_id)
    flash(_("Rule “%(name)s” is deleted.", name=name), "success")
    return redirect(url_for("routing_admin.rules"))


# --- dry run -----------------------------------------------------------------------------


@bp.route("/admin/routing/dry-run", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def dry_run() -> ResponseReturnValue:
    """Say where a sample lead would go and why, saving nothing."""
    s = db.session()
    form = DryRunForm()
    trace = None
    shown = None
    unknown_code = False
    if form.validate_on_submit():
        typed = {
            "email": form.email.data or "",
            "first_name": form.first_name.data or "",
            "last_name": form.last_name.data or "",
            "company": form.company.data or "",
            "job_title": form.job_title.data or "",
            "country": form.country.data or "",
            "utm_content": form.code.data or "",
        }
        try:  # read as the API reads it: one model, one reading of the country
            sample = validate(service.SampleLead, typed)
        except Invalid as exc:
            fields = {"code" if k == "utm_content" else k: v for k, v in exc.fields.items()}
            apply_errors(form, Invalid(exc.message, fields))
        else:
            lookback = int(config.current().leads.attribution_lookback_days)
            tried = service.try_sample(s, sample, routing_settings(), lookback_days=lookback)
            trace, unknown_code = tried.trace, tried.unknown_code
            shown = {"name": tried.name, "email": tried.email}
    return render_template(
        "routing/admin_dry_run.html",
        form=form,
        trace=trace,
        sample=shown,
        unknown_code=unknown_code,
        default_queue=routing_settings().default_queue,
    ), 422 if form.errors else 200
