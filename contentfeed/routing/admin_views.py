"""Admin pages for routing: rules (order, dry run), queues and their reps, customer
accounts (with CSV import) and the CRM outbox."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from contentfeed import db, sheets
from contentfeed.accounts import access
from contentfeed.accounts.models import Role, Team, User
from contentfeed.accounts.service import normalise_email
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, DomainError, Invalid
from contentfeed.forms import Form, MultiCheckboxField, options
from contentfeed.routing import accounts_import, domains, outbox, service
from contentfeed.routing.models import (
    Account,
    OutboxStatus,
    Queue,
    RoutingRule,
    Strategy,
)
from contentfeed.sheets import decode_upload
from contentfeed.ui import Page, page_number, sort_params, url_with

bp = Blueprint("routing_admin", __name__)

ADMIN = (Role.ADMIN,)
ACCOUNTS_PER_PAGE = 50
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Conditions as people read them, in the order the form and the trace show them.
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
DASH = "\u2013"  # en dash, for ranges such as Mon-Fri and 09:00-17:00
YES_NO = {"": None, "yes": True, "no": False}
OUTBOX_STATUS_LABELS = {
    OutboxStatus.PENDING: "Pending",
    OutboxStatus.DELIVERED: "Delivered",
    OutboxStatus.DEAD: "Dead",
}


# --- forms -------------------------------------------------------------------------------


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


class QueueForm(Form):
    """A queue's settings: strategy, SLA and its calendar, and who leads it."""

    name = StringField(
        "Name", validators=[DataRequired(message="Give the queue a name."), Length(max=120)]
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=2000)],
        description="Who works it and which leads land here.",
    )
    strategy = SelectField(
        "How leads reach a rep",
        choices=options((s.value, s.label) for s in Strategy),
        description="Reps claim: reps pick leads themselves. Round-robin: each available rep "
        "in turn. Weighted: in proportion to each rep's weight.",
    )
    sla_minutes = IntegerField(
        "SLA in minutes",
        validators=[InputRequired(message="Give the SLA in minutes, e.g. 60.")],
        description="How long reps have to claim and contact a new lead.",
    )
    claim_minutes = IntegerField(
        "Contact within minutes of claiming",
        validators=[Optional()],
        default=service.DEFAULT_CLAIM_MINUTES,
        description="A rep who claims a lead, or is given one, contacts the person within "
        "this many minutes or the lead goes back to the queue. Counted from the claim, "
        "whatever the lead's SLA says.",
    )
    business_hours = BooleanField(
        "Count the SLA in business hours only",
        description="Only the working days and hours below count; otherwise the clock runs "
        "day and night.",
    )
    timezone = StringField(
        "Time zone",
        validators=[DataRequired(message="Give a time zone, e.g. Europe/Berlin."), Length(max=64)],
        default="UTC",
        description="IANA name such as Europe/Berlin.",
    )
    workdays = MultiCheckboxField(
        "Working days",
        coerce=int,
        choices=options(enumerate(WEEKDAYS)),
        default=[0, 1, 2, 3, 4],
    )
    day_start = StringField("Day starts", default="09:00")
    day_end = StringField("Day ends", default="17:00")
    lead_user_id = SelectField(
        "Queue lead",
        coerce=int,
        choices=[],
        default=0,
        validate_choice=True,
        description="Told when a lead goes overdue or a claim is returned.",
    )


class AccountForm(Form):
    """A known customer and the email domains its people write from."""

    name = StringField(
        "Company name",
        validators=[DataRequired(message="Give the company's name."), Length(max=200)],
    )
    domains = TextAreaField(
        "Domains",
        validators=[DataRequired(message="Give at least one domain, e.g. acme.com.")],
        description="One per line or separated by commas. acme.com also covers its "
        "subdomains (eu.acme.com); free-mail providers can't be used.",
    )
    crm_id = StringField("CRM id", validators=[Length(max=120)], description="Optional.")
    owner_team_id = SelectField(
        "Owning team", coerce=int, choices=[], validate_choice=True, default=0
    )
    owner_id = SelectField("Account owner", coerce=int, choices=[], validate_choice=True, default=0)


class ImportForm(Form):
    """A CSV file of accounts."""

    file = FileField(
        "CSV file",
        validators=[FileRequired(message="Choose a CSV file to import.")],
        description="UTF-8, cells separated by , or ;.",
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


# --- shared helpers ------------------------------------------------------------------------


def _apply_errors(form: FlaskForm, error: DomainError) -> None:
    """Show a service's field errors beside the form's fields (the rest above the form)."""
    shown = False
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, _sentence(message)]
            shown = True
    if not shown:
        form.form_errors.append(error.message)


def _sentence(message: str) -> str:
    """Start a service's message with a capital, unless it starts with a domain or address."""
    first = message.split(" ", 1)[0]
    return message if "." in first or "@" in first else message[:1].upper() + message[1:]


def _status(form: FlaskForm) -> int:
    return 422 if form.errors or form.form_errors else 200


def _int_arg(value: str | None) -> int | None:
    """Read a whole number from a form field, or None when it is missing or not a number."""
    text = (value or "").strip()
    return int(text) if re.fullmatch(r"-?\d{1,9}", text) else None


def sla_text(minutes: int) -> str:
    """Say an SLA in words: 45 min, 4 h, 1 day 2 h."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if mins:
        parts.append(f"{mins} min")
    return " ".join(parts) or "0 min"


def workdays_text(days: Sequence[int]) -> str:
    """Say working days briefly: Mon-Fri (with an en dash), or Mon, Wed, Fri."""
    days = sorted(set(days))
    if not days:
        return "no working days"
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{WEEKDAYS[days[0]]}{DASH}{WEEKDAYS[days[-1]]}"
    return ", ".join(WEEKDAYS[d] for d in days)


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


def _team_names(s: Session) -> dict[int, str]:
    return dict(s.execute(sa.select(Team.id, Team.name)).all())


def _settings() -> service.RoutingSettings:
    return service.RoutingSettings.from_config(current_app.config)


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
    teams = _team_names(s)
    rows = [
        RuleRow(
            rule=rule,
            conditions=describe_conditions(rule.conditions, teams),
            strategy=rule.strategy.label
            if rule.strategy
            else f"Queue's ({rule.queue.strategy.label.lower()})",
        )
        for rule in service.list_rules(s)
    ]
    settings = _settings()
    return render_template(
        "routing/admin_rules.html",
        rows=rows,
        settings=settings,
        default_queue=service.queue_by_name(s, settings.default_queue),
        has_queues=bool(s.scalar(sa.select(sa.func.count()).select_from(Queue))),
    )


@bp.post("/admin/routing/defaults")
@access.require_role(*ADMIN)
def rules_defaults() -> Response:
    """Create the default queues and rules now instead of on the first routed lead."""
    s = db.session()
    had_rules = bool(s.scalar(sa.select(sa.func.count()).select_from(RoutingRule)))
    service.ensure_defaults(s, _settings(), force=True)
    s.commit()
    if had_rules:
        flash("There are rules already; nothing was added.", "info")
    else:
        flash("The default queues and rules are created.", "success")
    return redirect(url_for("routing_admin.rules"))


def _rule_form(s: Session, rule: RoutingRule | None) -> RuleForm:
    form = RuleForm(obj=rule) if rule is not None and request.method == "GET" else RuleForm()
    form.queue_id.choices = options((q.id, q.name) for q in service.list_queues(s))
    form.seller_team_ids.choices = options(_team_names(s).items())
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


def _rule_in(form: RuleForm) -> service.RuleIn:
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
    return service.RuleIn(
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
            saved = service.save_rule(s, _rule_in(form), rule)
        except DomainError as exc:
            s.rollback()
            _apply_errors(form, exc)
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
    ), _status(form)


@bp.route("/admin/routing/rules/new", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def rule_new() -> ResponseReturnValue:
    """Write a new rule; it is tried after the others."""
    return _rule_page(None)


@bp.route("/admin/routing/rules/<int:rule_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def rule_edit(rule_id: int) -> ResponseReturnValue:
    """Change a rule's conditions, queue, strategy or whether it is on."""
    return _rule_page(service.get_rule(db.session(), rule_id))


@bp.post("/admin/routing/rules/<int:rule_id>/move")
@access.require_role(*ADMIN)
def rule_move(rule_id: int) -> Response:
    """Move a rule one place up or down."""
    s = db.session()
    steps = {"up": -1, "down": 1}
    direction = request.form.get("direction", "")
    rule = service.get_rule(s, rule_id)
    if direction not in steps:
        flash("Say whether to move the rule up or down.", "error")
        return redirect(url_for("routing_admin.rules"))
    service.move_rule(s, rule_id, steps[direction])
    s.commit()
    flash(f"Rule “{rule.name}” moved {direction}: it is now number {rule.position}.", "success")
    return redirect(url_for("routing_admin.rules") + f"#rule-{rule_id}")


@bp.post("/admin/routing/rules/<int:rule_id>/delete")
@access.require_role(*ADMIN)
def rule_delete(rule_id: int) -> Response:
    """Delete a rule; the others keep their order."""
    s = db.session()
    name = service.get_rule(s, rule_id).name
    service.delete_rule(s, rule_id)
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
        elif country and not service.is_iso_country(country):
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
            tried = service.try_sample(s, typed, _settings(), lookback_days=lookback)
            trace, unknown_code = tried.trace, tried.unknown_code
            sample = {"name": tried.name, "email": tried.email}
    return render_template(
        "routing/admin_dry_run.html",
        form=form,
        trace=trace,
        sample=sample,
        unknown_code=unknown_code,
        default_queue=_settings().default_queue,
    ), 422 if form.errors else 200


# --- queues ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueCard:
    """A queue with what its card shows."""

    queue: Queue
    sla: str
    calendar: str
    addable: list[User]
    claim: str = ""  # the claim window in words


@bp.get("/admin/queues")
@access.require_role(*ADMIN)
def queues() -> str:
    """List the queues with their SLA, lead and reps, each rep's settings editable in place."""
    s = db.session()
    reps = list(
        s.scalars(
            sa.select(User)
            .where(User.role == Role.REP, User.is_active.is_(True))
            .order_by(sa.func.lower(User.name))
        )
    )
    cards = []
    for queue in service.list_queues(s):
        member_ids = {m.user_id for m in queue.members}
        calendar = ""
        if queue.business_hours:
            calendar = (
                f"{workdays_text(queue.workdays)} {queue.day_start}{DASH}{queue.day_end} "
                f"({queue.timezone})"
            )
        cards.append(
            QueueCard(
                queue=queue,
                sla=sla_text(queue.sla_minutes),
                calendar=calendar,
                claim=sla_text(queue.claim_minutes),
                addable=[rep for rep in reps if rep.id not in member_ids],
            )
        )
    settings = _settings()
    return render_template(
        "routing/admin_queues.html",
        cards=cards,
        settings=settings,
        has_reps=bool(reps),
    )


@functools.cache
def _timezone_names() -> list[str]:
    """Return the IANA zone names people pick from (areas and cities, plus UTC)."""
    areas = {"Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}
    return ["UTC", *sorted(n for n in zoneinfo.available_timezones() if n.split("/")[0] in areas)]


def _queue_page(queue: Queue | None) -> ResponseReturnValue:
    s = db.session()
    form = QueueForm(obj=queue) if queue is not None and request.method == "GET" else QueueForm()
    leaders = s.scalars(
        sa.select(User)
        .where(User.role.in_([Role.REP, Role.ADMIN]), User.is_active.is_(True))
        .order_by(sa.func.lower(User.name))
    ).all()
    choices = [(0, "Nobody")] + [(u.id, f"{u.name} ({u.role_label.lower()})") for u in leaders]
    if queue is not None and queue.lead_user is not None and queue.lead_user not in leaders:
        choices.append((queue.lead_user.id, f"{queue.lead_user.name} (no longer active)"))
    form.lead_user_id.choices = options(choices)
    if request.method == "GET":
        if queue is not None:
            form.strategy.data = queue.strategy.value
            form.lead_user_id.data = queue.lead_user_id or 0
        else:
            form.sla_minutes.data = _settings().default_sla_minutes
            form.strategy.data = Strategy.CLAIM.value
    if form.validate_on_submit():
        claim_minutes = form.claim_minutes.data
        if claim_minutes is None:  # left out: the queue keeps its window
            claim_minutes = queue.claim_minutes if queue else service.DEFAULT_CLAIM_MINUTES
        data = service.QueueIn(
            name=form.name.data or "",
            description=form.description.data or "",
            strategy=Strategy(form.strategy.data),
            sla_minutes=form.sla_minutes.data or 0,
            claim_minutes=claim_minutes,
            business_hours=bool(form.business_hours.data),
            timezone=(form.timezone.data or "").strip(),
            workdays=list(form.workdays.data or []),
            day_start=form.day_start.data or "",
            day_end=form.day_end.data or "",
            lead_user_id=form.lead_user_id.data or None,
        )
        try:
            saved = service.save_queue(s, data, queue)
        except DomainError as exc:
            s.rollback()
            _apply_errors(form, exc)
        else:
            s.commit()
            flash(f"Queue “{saved.name}” is {'saved' if queue else 'created'}.", "success")
            return redirect(url_for("routing_admin.queues") + f"#queue-{saved.id}")
    return render_template(
        "routing/admin_queue_form.html",
        form=form,
        queue=queue,
        timezones=_timezone_names(),
    ), _status(form)


@bp.route("/admin/queues/new", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def queue_new() -> ResponseReturnValue:
    """Create a queue."""
    return _queue_page(None)


@bp.route("/admin/queues/<int:queue_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def queue_edit(queue_id: int) -> ResponseReturnValue:
    """Change a queue's strategy, SLA, calendar or lead."""
    return _queue_page(service.get_queue(db.session(), queue_id))


@bp.post("/admin/queues/<int:queue_id>/members")
@access.require_role(*ADMIN)
def member_save(queue_id: int) -> Response:
    """Add a rep to a queue, or change a member's weight, capacity and availability."""
    s = db.session()
    queue = service.get_queue(s, queue_id)
    back = redirect(url_for("routing_admin.queues") + f"#queue-{queue.id}")
    form = request.form
    user_id = _int_arg(form.get("user_id"))
    weight = _int_arg(form.get("weight", "1"))
    capacity = _int_arg(form.get("capacity", "0"))
    if user_id is None:
        flash("Pick the rep to add.", "error")
        return back
    if weight is None or capacity is None:
        flash("Weight and capacity are whole numbers (capacity 0 means no limit).", "error")
        return back
    is_new = all(m.user_id != user_id for m in queue.members)
    try:
        member = service.set_member(
            s,
            queue,
            user_id,
            weight=weight,
            capacity=capacity,
            available="available" in form,
        )
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return back
    name = member.user.name
    s.commit()
    if is_new:
        flash(f"{name} now works {queue.name}.", "success")
    else:
        flash(f"{name}'s settings in {queue.name} are saved.", "success")
    return back


@bp.post("/admin/queues/<int:queue_id>/members/<int:member_user_id>/remove")
@access.require_role(*ADMIN)
def member_remove(queue_id: int, member_user_id: int) -> Response:
    """Take a rep out of a queue; the leads they hold stay theirs."""
    s = db.session()
    queue = service.get_queue(s, queue_id)
    user = s.get(User, member_user_id)
    service.remove_member(s, queue, member_user_id)
    s.commit()
    who = user.name if user else "The rep"
    flash(f"{who} no longer works {queue.name}; the leads they hold stay theirs.", "success")
    return redirect(url_for("routing_admin.queues") + f"#queue-{queue.id}")


# --- accounts ----------------------------------------------------------------------------


@bp.get("/admin/accounts")
@access.require_role(*ADMIN)
def accounts() -> str:
    """List the known customer accounts, searchable by name or domain."""
    s = db.session()
    q = request.args.get("q", "").strip()
    teams = _team_names(s)
    sorts: dict[str, Callable[[Account], str]] = {
        "name": lambda a: a.name.lower(),
        "crm": lambda a: a.crm_id.lower(),
        "team": lambda a: teams.get(a.owner_team_id or 0, "").lower(),
        "owner": lambda a: a.owner.name.lower() if a.owner else "",
    }
    sort, direction = sort_params(set(sorts), "name")
    found = sorted(service.list_accounts(s, q), key=sorts[sort], reverse=direction == "desc")
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
        total=s.scalar(sa.select(sa.func.count()).select_from(Account)) or 0,
    )


def _account_form(s: Session, account: Account | None) -> AccountForm:
    form = (
        AccountForm(obj=account)
        if account is not None and request.method == "GET"
        else AccountForm()
    )
    form.owner_team_id.choices = options(
        [(0, "No team"), *((team_id, name) for team_id, name in sorted_teams(s))]
    )
    owners = s.scalars(
        sa.select(User).where(User.is_active.is_(True)).order_by(sa.func.lower(User.name))
    ).all()
    choices = [(0, "Nobody")] + [(u.id, f"{u.name} ({u.role_label.lower()})") for u in owners]
    if account is not None and account.owner is not None and account.owner not in owners:
        choices.append((account.owner.id, f"{account.owner.name} (no longer active)"))
    form.owner_id.choices = options(choices)
    if account is not None and request.method == "GET":
        form.domains.data = "\n".join(account.domain_names)
        form.owner_team_id.data = account.owner_team_id or 0
        form.owner_id.data = account.owner_id or 0
    return form


def sorted_teams(s: Session) -> list[tuple[int, str]]:
    """Return (id, name) of every team, by name."""
    return list(s.execute(sa.select(Team.id, Team.name).order_by(sa.func.lower(Team.name))).all())


def _account_page(account: Account | None) -> ResponseReturnValue:
    s = db.session()
    form = _account_form(s, account)
    if form.validate_on_submit():
        data = service.AccountIn(
            name=form.name.data or "",
            domains=accounts_import.split_domains(form.domains.data or ""),
            crm_id=form.crm_id.data or "",
            owner_team_id=form.owner_team_id.data or None,
            owner_id=form.owner_id.data or None,
        )
        try:
            saved = service.save_account(s, data, account)
        except DomainError as exc:
            s.rollback()
            _apply_errors(form, exc)
        else:
            s.commit()
            verb = "saved" if account is not None else "added"
            flash(
                f"{saved.name} is {verb}: leads from {', '.join(saved.domain_names)} count as "
                "a known customer.",
                "success",
            )
            return redirect(url_for("routing_admin.accounts", q=saved.name))
    return render_template("routing/admin_account_form.html", form=form, account=account), _status(
        form
    )


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def account_new() -> ResponseReturnValue:
    """Add a known customer account."""
    return _account_page(None)


@bp.route("/admin/accounts/<int:account_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def account_edit(account_id: int) -> ResponseReturnValue:
    """Change an account's name, domains, CRM id or owner."""
    return _account_page(service.get_account(db.session(), account_id))


@bp.post("/admin/accounts/<int:account_id>/delete")
@access.require_role(*ADMIN)
def account_delete(account_id: int) -> Response:
    """Forget an account: its domains no longer mark leads as a customer's."""
    s = db.session()
    account = service.get_account(s, account_id)
    name = account.name
    service.delete_account(s, account.id)
    s.commit()
    flash(f"{name} is removed; its domains no longer count as a customer.", "success")
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
            text = decode_upload(
                form.file.data.read(), empty_hint="Export the accounts to see the format."
            )
            report = accounts_import.import_accounts(s, text)
        except Invalid as exc:
            s.rollback()
            form.file.errors = [exc.fields.get("file", exc.message)]
        else:
            s.commit()
    return render_template(
        "routing/admin_accounts_import.html",
        form=form,
        report=report,
        columns=accounts_import.COLUMN_HELP,
        teams=[name for _id, name in sorted_teams(s)],
    ), _status(form)


@bp.get("/admin/accounts.csv")
@access.require_role(*ADMIN)
def accounts_export() -> Response:
    """Download every account as CSV, in the columns the import reads."""
    s = db.session()
    rows = accounts_import.export_rows(service.list_accounts(s), _team_names(s))
    s.commit()
    stamp = utcnow().strftime("%Y-%m-%d")
    return sheets.csv_download(rows, f"contentfeed-accounts-{stamp}.csv")


# --- outbox ------------------------------------------------------------------------------


@bp.get("/admin/outbox", endpoint="outbox")
@access.require_role(*ADMIN)
def outbox_page() -> str:
    """Show what waits for the CRM, what was delivered and what gave up, and why."""
    s = db.session()
    status_arg = request.args.get("status", "")
    status = OutboxStatus(status_arg) if status_arg in set(OutboxStatus) else None
    summary = outbox.summary(s)
    counts = {
        OutboxStatus.PENDING: summary.pending,
        OutboxStatus.DELIVERED: summary.delivered,
        OutboxStatus.DEAD: summary.dead,
    }
    total = counts[status] if status else sum(counts.values())
    per_page = int(current_app.config["PAGE_SIZE"])
    number = page_number()
    messages = outbox.list_messages(s, status, limit=per_page, offset=(number - 1) * per_page)
    return render_template(
        "routing/admin_outbox.html",
        summary=summary,
        counts=counts,
        messages=messages,
        status=status,
        labels=OUTBOX_STATUS_LABELS,
        page=Page(number, per_page, total, lambda n: url_with(page=n)),
        has_url=bool(str(current_app.config["CRM_WEBHOOK_URL"]).strip()),
        max_attempts=int(current_app.config["OUTBOX_MAX_ATTEMPTS"]),
    )


@bp.post("/admin/outbox/enable")
@access.require_role(*ADMIN)
def outbox_enable() -> Response:
    """Turn the CRM destination back on after it answered 410 Gone."""
    s = db.session()
    outbox.enable(s)
    s.commit()
    flash("The CRM destination is on again: waiting messages go out on the next run.", "success")
    return redirect(url_for("routing_admin.outbox"))


@bp.post("/admin/outbox/<int:message_id>/resend")
@access.require_role(*ADMIN)
def outbox_resend(message_id: int) -> Response:
    """Send a dead message again; its tries start over and its id stays the same."""
    s = db.session()
    try:
        message = outbox.resend(s, message_id)
    except Conflict as exc:
        s.rollback()
        flash(exc.message, "error")
    else:
        s.commit()
        flash(f"Message {message.message_id} is pending again and goes out shortly.", "success")
    status = request.form.get("status", "")
    return redirect(
        url_for("routing_admin.outbox", status=status if status in set(OutboxStatus) else None)
    )
