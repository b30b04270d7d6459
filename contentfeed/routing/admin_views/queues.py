"""Admin pages for queues: their SLA and calendar, and the reps who work them."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass

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
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role, User
from contentfeed.api import validate
from contentfeed.errors import DomainError
from contentfeed.forms import Form, MultiCheckboxField, options
from contentfeed.i18n import _, _l
from contentfeed.routing import (
    people,
    queue_setup,
)
from contentfeed.routing.admin_views import bp
from contentfeed.routing.admin_views.common import (
    ADMIN,
    DASH,
    WEEKDAYS,
    apply_errors,
    form_status,
    int_arg,
    routing_settings,
    sla_text,
    weekday_name,
    workdays_text,
)
from contentfeed.routing.models import (
    STRATEGY_LABELS,
    Queue,
    Strategy,
)


class QueueForm(Form):
    """A queue's settings: strategy, SLA and its calendar, and who leads it."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Give the queue a name."))],
    )
    description = TextAreaField(
        _l("Description"),
        description=_l("Who works it and which leads land here."),
    )
    strategy = SelectField(
        _l("How leads reach a rep"),
        choices=options((s.value, STRATEGY_LABELS[s]) for s in Strategy),
        description=_l(
            "Reps claim: reps pick leads themselves. Round-robin: each available rep in turn. "
            "Weighted: in proportion to each rep's weight."
        ),
    )
    sla_minutes = IntegerField(
        _l("SLA in minutes"),
        validators=[InputRequired(message=_l("Give the SLA in minutes, e.g. 60."))],
        description=_l("How long reps have to claim and contact a new lead."),
    )
    claim_minutes = IntegerField(
        _l("Contact within minutes of claiming"),
        validators=[Optional()],
        default=queue_setup.DEFAULT_CLAIM_MINUTES,
        description=_l(
            "A rep who claims a lead, or is given one, contacts the person within this many "
            "minutes or the lead goes back to the queue. Counted from the claim, whatever the "
            "lead's SLA says."
        ),
    )
    business_hours = BooleanField(
        _l("Count the SLA in business hours only"),
        description=_l(
            "Only the working days and hours below count; otherwise the clock runs day and night."
        ),
    )
    timezone = StringField(
        _l("Time zone"),
        validators=[DataRequired(message=_l("Give a time zone, e.g. Europe/Berlin."))],
        default="UTC",
        description=_l("IANA name such as Europe/Berlin."),
    )
    workdays = MultiCheckboxField(
        _l("Working days"),
        coerce=int,
        choices=options(enumerate(WEEKDAYS)),  # named in the page's language by _queue_page
        default=[0, 1, 2, 3, 4],
    )
    day_start = StringField(_l("Day starts"), default="09:00")
    day_end = StringField(_l("Day ends"), default="17:00")
    lead_user_id = SelectField(
        _l("Queue lead"),
        coerce=int,
        choices=[],
        default=0,
        validate_choice=True,
        description=_l("Told when a lead goes overdue or a claim is returned."),
    )


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
    reps = people.active_users(s, [Role.REP])
    cards = []
    for queue in queue_setup.list_queues(s):
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
    settings = routing_settings()
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
    leaders = people.active_users(s, [Role.REP, Role.ADMIN])
    choices = [(0, _("Nobody"))] + [
        (u.id, _("%(name)s (%(role)s)", name=u.name, role=u.role_label)) for u in leaders
    ]
    if queue is not None and queue.lead_user is not None and queue.lead_user not in leaders:
        choices.append(
            (queue.lead_user.id, _("%(name)s (no longer active)", name=queue.lead_user.name))
        )
    form.lead_user_id.choices = options(choices)
    form.workdays.choices = options((day, weekday_name(day)) for day in range(len(WEEKDAYS)))
    if request.method == "GET":
        if queue is not None:
            form.strategy.data = queue.strategy.value
            form.lead_user_id.data = queue.lead_user_id or 0
        else:
            form.sla_minutes.data = routing_settings().default_sla_minutes
            form.strategy.data = Strategy.CLAIM.value
    if form.validate_on_submit():
        claim_minutes = form.claim_minutes.data
        if claim_minutes is None:  # left out: the queue keeps its window
            claim_minutes = queue.claim_minutes if queue else queue_setup.DEFAULT_CLAIM_MINUTES
        try:
            data = validate(
                queue_setup.QueueIn,
                {
                    "name": form.name.data or "",
                    "description": form.description.data or "",
                    "strategy": form.strategy.data,
                    "sla_minutes": form.sla_minutes.data,
                    "claim_minutes": claim_minutes,
                    "business_hours": bool(form.business_hours.data),
                    "timezone": form.timezone.data or "",
                    "workdays": list(form.workdays.data or []),
                    "day_start": form.day_start.data or "",
                    "day_end": form.day_end.data or "",
                    "lead_user_id": form.lead_user_id.data or None,
                },
            )
            saved = queue_setup.save_queue(s, data, queue)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            if queue:
                flash(_("Queue “%(name)s” is saved.", name=saved.name), "success")
            else:
                flash(_("Queue “%(name)s” is created.", name=saved.name), "success")
            return redirect(url_for("routing_admin.queues") + f"#queue-{saved.id}")
    return render_template(
        "routing/admin_queue_form.html",
        form=form,
        queue=queue,
        timezones=_timezone_names(),
    ), form_status(form)


@bp.route("/admin/queues/new", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def queue_new() -> ResponseReturnValue:
    """Create a queue."""
    return _queue_page(None)


@bp.route("/admin/queues/<int:queue_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def queue_edit(queue_id: int) -> ResponseReturnValue:
    """Change a queue's strategy, SLA, calendar or lead."""
    return _queue_page(queue_setup.get_queue(db.session(), queue_id))


_MEMBER_FIELDS = {"weight": _l("Weight"), "capacity": _l("Capacity")}


def _member_problem(exc: DomainError) -> str:
    """Name the field at fault: the member form is a row of the queues page, with no place
    beside each field for its message."""
    for name, problem in exc.fields.items():
        if name in _MEMBER_FIELDS:
            return _("%(field)s: %(problem)s", field=_MEMBER_FIELDS[name], problem=problem)
    return exc.message


@bp.post("/admin/queues/<int:queue_id>/members")
@access.require_role(*ADMIN)
def member_save(queue_id: int) -> Response:
    """Add a rep to a queue, or change a member's weight, capacity and availability."""
    s = db.session()
    queue = queue_setup.get_queue(s, queue_id)
    back = redirect(url_for("routing_admin.queues") + f"#queue-{queue.id}")
    form = request.form
    user_id = int_arg(form.get("user_id"))
    if user_id is None:
        flash(_("Pick the rep to add."), "error")
        return back
    is_new = all(m.user_id != user_id for m in queue.members)
    try:
        place = validate(
            queue_setup.MemberIn,
            {
                "weight": form.get("weight", "1"),
                "capacity": form.get("capacity", "0"),
                "available": "available" in form,
            },
        )
        member = queue_setup.set_member(s, queue, user_id, place)
    except DomainError as exc:
        s.rollback()
        flash(_member_problem(exc), "error")
        return back
    name = member.user.name
    if is_new:
        flash(_("%(name)s now works %(queue)s.", name=name, queue=queue.name), "success")
    else:
        flash(
            _("%(name)s's settings in %(queue)s are saved.", name=name, queue=queue.name),
            "success",
        )
    return back


@bp.post("/admin/queues/<int:queue_id>/members/<int:member_user_id>/remove")
@access.require_role(*ADMIN)
def member_remove(queue_id: int, member_user_id: int) -> Response:
    """Take a rep out of a queue; the leads they hold stay theirs."""
    s = db.session()
    queue = queue_setup.get_queue(s, queue_id)
    user = queue_setup.remove_member(s, queue, member_user_id)
    who = user.name if user else _("The rep")
    flash(
        _(
            "%(name)s no longer works %(queue)s; the leads they hold stay theirs.",
            name=who,
            queue=queue.name,
        ),
        "success",
    )
    return redirect(url_for("routing_admin.queues") + f"#queue-{queue.id}")
