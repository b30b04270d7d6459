"""Admin pages for routing rules: the list, their order, the rule form and the dry run;
and the template helpers that read rules and traces."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.service import normalise_email
from contentfeed.errors import DomainError, Invalid
from contentfeed.forms import Form, MultiCheckboxField, options
from contentfeed.routing import (
    domains,
    queue_setup,
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
    team_names,
)
from contentfeed.routing.models import (
    Queue,
    RoutingRule,
    Strategy,
)

CONDITION_LABELS = {
    "customer": "Known customer",
    "free_mail": "Free-mail address",
    "countries": "Country",
    "regions": "Region",
    "companies": "Company",
    "title_keywords": "Job title",
    "min_score": "Minimum score",
    "max_score": "Maximum score",
    "seller_team_ids": "Seller's team",
}


class RuleForm(Form):
    """A routing rule: where leads that meet every condition go."""

    name = StringField(
        "Name",
        validators=[DataRequired(message="Give the rule a name."), Length(max=120)],
        description="Say whom it is for, e.g. “DACH enterprise”.",
    )
    queue_id = SelectField("Queue", coerce=int, choices=[], validate_choice=True)
    strategy = SelectField(
        "How leads reach a rep",
        choices=options([("", "Use the queue's"), *((s.value, s.label) for s in Strategy)]),
        default="",
    )
    enabled = BooleanField("The rule is on", default=True)
    customer = SelectField(
        "Known customer",
        choices=options(
            [("", "Any lead"), ("yes", "Only known customers"), ("no", "Only non-customers")]
        ),
        default="",
    )
    free_mail = SelectField(
        "Email address",
        choices=options(
            [
                ("", "Any address"),
                ("yes", "Only free-mail (gmail.com, gmx.de, …)"),
                ("no", "Only work addresses"),
            ]
        ),
        default="",
    )
    countries = StringField(
        "Countries",
        validators=[Length(max=1000)],
        description="Two-letter ISO codes separated by commas, e.g. DE, AT, CH.",
    )
    regions = MultiCheckboxField(
        "Regions",
        choices=options(
            (name, f"{name} ({', '.join(sorted(codes))})")
            for name, codes in domains.REGIONS.items()
        ),
        description="Any one of the ticked regions matches.",
    )
    companies = StringField(
        "Company name contains",
        validators=[Length(max=2000)],
        description="Separate with commas; any one matches, ignoring case.",
    )
    title_keywords = StringField(
        "Job title has",
        validators=[Length(max=2000)],
        description="Words separated by commas, e.g. CTO, head of, director.",
    )
    min_score = IntegerField(
        "Score at least",
        validators=[Optional(), NumberRange(0, 100, message="A whole number from 0 to 100.")],
        description=f"0{DASH}100.",
    )
    max_score = IntegerField(
        "Score at most",
        validators=[Optional(), NumberRange(0, 100, message="A whole number from 0 to 100.")],
        description=f"0{DASH}100.",
    )
    seller_team_ids = SelectMultipleField(
        "Attributed seller's team",
        coerce=int,
        choices=[],
        description="Leads a seller of one of these teams brought in.",
    )


class DryRunForm(Form):
    """A sample lead to route without saving anything."""

    email = StringField(
        "Email",
        validators=[DataRequired(message="Give an email address."), Length(max=254)],
        description="The domain decides customer and free-mail, e.g. jane@acme.com.",
    )
    first_name = StringField("First name", validators=[Length(max=120)])
    last_name = StringField("Last name", validators=[Length(max=120)])
    company = StringField("Company", validators=[Length(max=200)])
    job_title = StringField("Job title", validators=[Length(max=200)])
    country = StringField(
        "Country", validators=[Length(max=2)], description="Two-letter ISO code, e.g. DE."
    )
    code = StringField(
        "Tracked-link code",
        validators=[Length(max=64)],
        description="Optional: a seller's link code as sent in utm_content, to credit that seller.",
    )


def describe_conditions(conditions: Mapping[str, Any], teams: Mapping[int, str]) -> list[str]:
    """Say a rule's conditions in words, one phrase each."""
    phrases = []
    for key, value in conditions.items():
        if key == "customer":
            phrases.append("a known customer" if value else "not a known customer")
        elif key == "free_mail":
            phrases.append("a free-mail address" if value else "a work address")
        elif key == "countries":
            phrases.append("country is " + " or ".join(value))
        elif key == "regions":
            phrases.append("region is " + " or ".join(value))
        elif key == "companies":
            phrases.append("company contains " + " or ".join(f"“{v}”" for v in value))
        elif key == "title_keywords":
            phrases.append("job title has " + " or ".join(f"“{v}”" for v in value))
        elif key == "min_score":
            phrases.append(f"score at least {value}")
        elif key == "max_score":
            phrases.append(f"score at most {value}")
        elif key == "seller_team_ids":
            names = [teams.get(team_id, "a removed team") for team_id in value]
            phrases.append("seller's team is " + " or ".join(names))
        else:  # pragma: no cover - conditions are checked when saved
            phrases.append(f"{key} is {value}")
    return phrases


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
    return CONDITION_LABELS.get(key, key.replace("_", " ").capitalize())


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
    teams = team_names(s)
    rows = [
        RuleRow(
            rule=rule,
            conditions=describe_conditions(rule.conditions, teams),
            strategy=rule.strategy.label
            if rule.strategy
            else f"Queue's ({rule.queue.strategy.label.lower()})",
        )
        for rule in rulebook.list_rules(s)
    ]
    settings = routing_settings()
    return render_template(
        "routing/admin_rules.html",
        rows=rows,
        settings=settings,
        default_queue=queue_setup.queue_by_name(s, settings.default_queue),
        has_queues=bool(s.scalar(sa.select(sa.func.count()).select_from(Queue))),
    )


@bp.post("/admin/routing/defaults")
@access.require_role(*ADMIN)
def rules_defaults() -> Response:
    """Create the default queues and rules now instead of on the first routed lead."""
    s = db.session()
    had_rules = bool(s.scalar(sa.select(sa.func.count()).select_from(RoutingRule)))
    service.ensure_defaults(s, routing_settings(), force=True)
    s.commit()
    if had_rules:
        flash("There are rules already; nothing was added.", "info")
    else:
        flash("The default queues and rules are created.", "success")
    return redirect(url_for("routing_admin.rules"))


def _rule_form(s: Session, rule: RoutingRule | None) -> RuleForm:
    form = RuleForm(obj=rule) if rule is not None and request.method == "GET" else RuleForm()
    form.queue_id.choices = options((q.id, q.name) for q in queue_setup.list_queues(s))
    form.seller_team_ids.choices = options(team_names(s).items())
    if rule is not None and request.method == "GET":
        conditions = rule.conditions
        form.strategy.data = rule.strategy.value if rule.strategy else ""
        for key in ("customer", "free_mail"):
            value = conditions.get(key)
            getattr(form, key).data = "" if value is None else ("yes" if value else "no")
        for key in ("countries", "companies", "title_keywords"):
            getattr(form, key).data = ", ".join(conditions.get(key, []))
        form.regions.data = list(conditions.get("regions", []))
        form.min_score.data = conditions.get("min_score")
        form.max_score.data = conditions.get("max_score")
        form.seller_team_ids.data = list(conditions.get("seller_team_ids", []))
    return form


def _rule_in(form: RuleForm) -> rulebook.RuleIn:
    conditions: dict[str, Any] = {
        "customer": YES_NO.get(form.customer.data or ""),
        "free_mail": YES_NO.get(form.free_mail.data or ""),
        "countries": form.countries.data or "",
        "regions": list(form.regions.data or []),
        "companies": form.companies.data or "",
        "title_keywords": form.title_keywords.data or "",
        "min_score": form.min_score.data,
        "max_score": form.max_score.data,
        "seller_team_ids": list(form.seller_team_ids.data or []),
    }
    strategy = form.strategy.data or ""
    return rulebook.RuleIn(
        name=form.name.data or "",
        queue_id=form.queue_id.data or 0,
        conditions=conditions,
        strategy=Strategy(strategy) if strategy else None,
        enabled=bool(form.enabled.data),
    )


def _rule_page(rule: RoutingRule | None) -> ResponseReturnValue:
    s = db.session()
    form = _rule_form(s, rule)
    if form.validate_on_submit():
        try:
            saved = rulebook.save_rule(s, _rule_in(form), rule)
        except DomainError as exc:
            s.rollback()
            apply_errors(form, exc)
        else:
            s.commit()
            verb = "saved" if rule is not None else "created"
            where = "" if rule is not None else " It is tried last; move it up if it should win."
            flash(f"Rule “{saved.name}” is {verb}.{where}", "success")
            return redirect(url_for("routing_admin.rules"))
    return render_template(
        "routing/admin_rule_form.html",
        form=form,
        rule=rule,
        has_queues=bool(form.queue_id.choices),
        condition_fields=[getattr(form, key) for key in CONDITION_LABELS],
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
        flash("Say whether to move the rule up or down.", "error")
        return redirect(url_for("routing_admin.rules"))
    rulebook.move_rule(s, rule_id, steps[direction])
    s.commit()
    flash(f"Rule “{rule.name}” moved {direction}: it is now number {rule.position}.", "success")
    return redirect(url_for("routing_admin.rules") + f"#rule-{rule_id}")


@bp.post("/admin/routing/rules/<int:rule_id>/delete")
@access.require_role(*ADMIN)
def rule_delete(rule_id: int) -> Response:
    """Delete a rule; the others keep their order."""
    s = db.session()
    name = rulebook.get_rule(s, rule_id).name
    rulebook.delete_rule(s, rule_id)
    s.commit()
    flash(f"Rule “{name}” is deleted.", "success")
    return redirect(url_for("routing_admin.rules"))


# --- dry run -----------------------------------------------------------------------------


@bp.route("/admin/routing/dry-run", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def dry_run() -> ResponseReturnValue:
    """Say where a sample lead would go and why, saving nothing."""
    s = db.session()
    form = DryRunForm()
    trace = None
    sample = None
    unknown_code = False
    if form.validate_on_submit():
        country = (form.country.data or "").strip().upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            form.country.errors = [*form.country.errors, "Two letters, e.g. DE."]
        elif country and not rule_conditions.is_iso_country(country):
            message = f"{country} is no ISO country code (the United Kingdom is GB)."
            form.country.errors = [*form.country.errors, message]
        try:
            email = normalise_email(form.email.data or "")
        except Invalid as exc:
            form.email.errors = [*form.email.errors, exc.message]
        if not form.errors:
            typed = service.Sample(
                email=email,
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                company=form.company.data or "",
                job_title=form.job_title.data or "",
                country=country,
                code=form.code.data or "",
            )
            lookback = int(current_app.config["ATTRIBUTION_LOOKBACK_DAYS"])
            tried = service.try_sample(s, typed, routing_settings(), lookback_days=lookback)
            trace, unknown_code = tried.trace, tried.unknown_code
            sample = {"name": tried.name, "email": tried.email}
    return render_template(
        "routing/admin_dry_run.html",
        form=form,
        trace=trace,
        sample=sample,
        unknown_code=unknown_code,
        default_queue=routing_settings().default_queue,
    ), 422 if form.errors else 200
