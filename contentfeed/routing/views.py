"""The rep's pages: the queue (/queue) and the lead actions (claim, release, status, notes)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.api import validate
from contentfeed.customers import board, cards
from contentfeed.db import MAX_ID, utcnow
from contentfeed.errors import DomainError, Invalid
from contentfeed.i18n import _
from contentfeed.routing import live, people, work
from contentfeed.routing.panel import company_text, due_cell, due_text
from contentfeed.routing.work import LeadStatus

bp = Blueprint("routing", __name__)

WORKERS = (Role.REP, Role.ADMIN)


@bp.get("/queue")
@access.require_role(*WORKERS)
def queue() -> str:
    """The rep's queues, most urgent lead first, and the leads they are working."""
    s = db.session()
    now = utcnow()
    views = [work.queue_view(s, q, now) for q in work.queues_of(s, current_user)]
    mine = work.my_leads(s, current_user)
    return render_template(
        "routing/queue.html",
        views=views,
        mine=mine,
        customer_cards=board.open_cards(s, current_user, now),
        outcomes=cards.OUTCOMES,
        outcome_labels=cards.OUTCOME_LABELS,
        now=now,
        due_cell=due_cell,
        company_text=company_text,
        queue_version=live.queue_version(s, current_user),
    )


@bp.get("/queue/changes")
@access.require_role(*WORKERS)
def queue_changes() -> Response:
    """Anything new on the rep's queue page? 204 when not; else the page's new version and
    the leads routed to the rep's queues since ``since`` (the open page asks every second)."""
    changes = live.queue_changes(db.session(), current_user, request.args.get("since", ""))
    if not changes.changed:
        answer = Response(status=204)
    else:
        answer = jsonify(
            version=changes.version,
            arrived=[
                {
                    "id": lead.id,
                    "name": lead.name,
                    "company": lead.company,
                    "url": url_for("leads.detail", lead_id=lead.id),
                }
                for lead in changes.arrived
            ],
        )
    answer.headers["Cache-Control"] = "no-store"
    return answer


@bp.post("/queue/<int:queue_id>/claim-next")
@access.require_role(*WORKERS)
def claim_next(queue_id: int) -> Response:
    """Take the most urgent waiting lead of a queue and open it."""
    s = db.session()
    lead = work.claim_next(s, current_user, queue_id)
    if lead is None:
        flash(_("Nothing is waiting in this queue right now."), "info")
        return redirect(url_for("routing.queue"))
    now = utcnow()
    due = due_text(lead, now)
    if lead.due_at is not None and lead.due_at < now:
        flash(_("You have %(name)s. The SLA is %(due)s.", name=lead.full_name, due=due), "success")
    else:
        message = _("You have %(name)s. The SLA runs out %(due)s.", name=lead.full_name, due=due)
        flash(message, "success")
    return redirect(url_for("leads.detail", lead_id=lead.id))


def _back(lead_id: int) -> Response:
    return redirect(url_for("leads.detail", lead_id=lead_id) + "#work")


def _act(lead_id: int, do: Callable[[], str]) -> Response:
    """Run one lead action from the lead page (see _flashed)."""
    return _flashed(do, _back(lead_id))


def _flashed(do: Callable[[], str], back: Response) -> Response:
    """Run one action of a rep's page: commit and flash what was done, or roll back and flash
    why not; then go ``back``. What is outside the rep's queues stays a 404."""
    s = db.session()
    try:
        message = do()
    except DomainError as exc:
        s.rollback()
        if exc.status in (401, 403, 404):
            raise
        detail = "; ".join(exc.fields.values())
        flash(exc.message + (f" ({detail})" if detail and detail != exc.message else ""), "error")
    else:
        flash(message, "success")
    return back


@bp.post("/leads/<int:lead_id>/claim")
@access.require_role(*WORKERS)
def lead_claim(lead_id: int) -> Response:
    """Claim this lead."""

    def claim() -> str:
        work.claim(db.session(), current_user, lead_id)
        return _("The lead is yours.")

    return _act(lead_id, claim)


@bp.post("/leads/<int:lead_id>/release")
@access.require_role(*WORKERS)
def lead_release(lead_id: int) -> Response:
    """Give this lead back to its queue."""

    def release() -> str:
        work.release(db.session(), current_user, lead_id)
        return _("Released back to the queue.")

    return _act(lead_id, release)


@bp.post("/leads/<int:lead_id>/status")
@access.require_role(*WORKERS)
def lead_status(lead_id: int) -> Response:
    """Move this lead on: contacted, qualified, disqualified (with a reason), converted."""

    def move() -> str:
        try:
            status = LeadStatus(request.form.get("status", ""))
        except ValueError:
            raise Invalid(_("Pick a status."), {"status": _("unknown status")}) from None
        lead = work.set_status(
            db.session(),
            current_user,
            lead_id,
            status,
            note=request.form.get("note", ""),
            reason=request.form.get("reason", ""),
        )
        return _("Marked %(status)s.", status=lead.status.label.lower())

    return _act(lead_id, move)


@bp.post("/leads/<int:lead_id>/reassign")
@access.require_role(*WORKERS)
def lead_reassign(lead_id: int) -> Response:
    """Hand this lead to another rep."""

    def hand_over() -> str:
        to = request.form.get("user_id", type=int)
        if to is None or not 1 <= to <= MAX_ID:
            raise Invalid(_("Pick the rep to hand it to."), {"user_id": _("required")})
        s = db.session()
        lead = work.reassign(s, current_user, lead_id, to)
        names = people.user_names(s, [lead.assignee_id] if lead.assignee_id else [])
        name = names.get(lead.assignee_id) if lead.assignee_id else None
        return _("Handed to %(name)s.", name=name) if name else _("Handed over.")

    return _act(lead_id, hand_over)


@bp.post("/leads/<int:lead_id>/notes")
@access.require_role(*WORKERS)
def lead_note(lead_id: int) -> Response:
    """Add a note to this lead."""

    def note() -> str:
        work.add_note(db.session(), current_user, lead_id, request.form.get("text", ""))
        return _("Note added.")

    return _act(lead_id, note)


# --- customer development's cards ------------------------------------------------------------


def _card_act(card_id: int, do: Callable[[], str]) -> Response:
    """Run one card action from the queue page (see _flashed), back to the card."""
    return _flashed(do, redirect(url_for("routing.queue") + f"#card-{card_id}"))


@bp.post("/cards/<int:card_id>/accept")
@access.require_role(*WORKERS)
def card_accept(card_id: int) -> Response:
    """Accept a handover or renewal card: the customer is yours to take by the hand."""

    def accept() -> str:
        card = cards.accept(db.session(), current_user, card_id)
        name = card.account.name
        if card.kind is cards.CardKind.HANDOVER:
            return _("%(name)s is your customer now.", name=name)
        return _("The renewal of %(name)s is yours.", name=name)

    return _card_act(card_id, accept)


@bp.post("/cards/<int:card_id>/done")
@access.require_role(*WORKERS)
def card_done(card_id: int) -> Response:
    """Mark a card handled: onboarded, renewed or ended, with a note."""

    def finish() -> str:
        data = validate(cards.FinishIn, request.form.to_dict())
        card = cards.finish(db.session(), current_user, card_id, data)
        return _("Done: %(name)s.", name=card.account.name)

    return _card_act(card_id, finish)
