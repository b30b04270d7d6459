"""The approval workflow: draft -> in review -> approved -> archived, or back to draft.

Never commits; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.content.history import record_event
from contentfeed.content.models import Content, ContentStatus
from contentfeed.content.revisions import (
    check_may_approve,
    lock_item,
    may_approve,
    settle_on_leaving_approved,
)
from contentfeed.content.visibility import AUTHORS, STAFF
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Forbidden, Invalid, NotFound
from contentfeed.i18n import _, _l, current_locale
from contentfeed.text import checked_text


@dataclass(frozen=True)
class Transition:
    sources: frozenset[ContentStatus]
    target: ContentStatus
    roles: tuple[Role, ...]
    label: str  # a lazy text: said in the viewer's language
    needs_comment: bool = False
    needs_variant: bool = False


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(
        frozenset({ContentStatus.DRAFT}),
        ContentStatus.IN_REVIEW,
        AUTHORS,
        _l("Send for approval"),
        needs_variant=True,
    ),
    "approve": Transition(
        frozenset({ContentStatus.IN_REVIEW}),
        ContentStatus.APPROVED,
        STAFF,
        _l("Approve"),
        needs_variant=True,
    ),
    "send_back": Transition(
        frozenset({ContentStatus.IN_REVIEW, ContentStatus.APPROVED, ContentStatus.ARCHIVED}),
        ContentStatus.DRAFT,
        STAFF,
        _l("Send back to draft"),
        needs_comment=True,
    ),
    "archive": Transition(
        frozenset({ContentStatus.DRAFT, ContentStatus.IN_REVIEW, ContentStatus.APPROVED}),
        ContentStatus.ARCHIVED,
        STAFF,
        _l("Archive"),
    ),
}


# Why a role may not take a step, per step (each a whole sentence for translators).
_NOT_ALLOWED = {
    "submit": _l("Only library authors can send for approval."),
    "approve": _l("Only marketers and admins can approve."),
    "send_back": _l("Only marketers and admins can send back to draft."),
    "archive": _l("Only marketers and admins can archive."),
}


# Why a step can't be taken from the item's status ("Can't approve an item that is draft.").
_WRONG_STATUS = {
    "submit": _l("Can't send for approval an item that is %(status)s."),
    "approve": _l("Can't approve an item that is %(status)s."),
    "send_back": _l("Can't send back to draft an item that is %(status)s."),
    "archive": _l("Can't archive an item that is %(status)s."),
}


def _status_in_sentence(status: ContentStatus) -> str:
    """A status label inside a sentence: lower case in English, as written in German."""
    return status.label.lower() if current_locale() == "en" else status.label


def available_transitions(user: User, content: Content) -> list[tuple[str, Transition]]:
    """Return the workflow actions this user can take on this item now."""
    result = []
    for name, transition in TRANSITIONS.items():
        if content.status not in transition.sources or user.role not in transition.roles:
            continue
        if user.role is Role.CONTRIBUTOR and content.created_by_id != user.id:
            continue
        if name == "approve" and not may_approve(user, content):
            continue  # four-eyes: someone else approves it (the page says so)
        result.append((name, transition))
    return result


def transition(
    s: Session, content: Content, action: str, *, actor: User, comment: str = ""
) -> Content:
    """Move an item through draft -> in review -> approved -> archived (or back to draft)."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise NotFound(_("Unknown workflow action %(action)r.", action=action))
    if actor.role not in step.roles:
        raise Forbidden(str(_NOT_ALLOWED[action]))
    if actor.role is Role.CONTRIBUTOR and content.created_by_id != actor.id:
        raise Forbidden(_("Contributors can send only their own items for approval."))
    lock_item(s, content)  # two reviewers at once: the second sees the first's decision
    if content.status not in step.sources:
        raise Conflict(str(_WRONG_STATUS[action]) % {"status": _status_in_sentence(content.status)})
    comment = checked_text("comment", comment, multiline=True).strip()
    if step.needs_comment and not comment:
        message = _("Say what needs to change.")
        raise Invalid(message, {"comment": message})
    if step.needs_variant and not content.variants:
        raise Conflict(_("Write at least one post variant first: it is what sellers will share."))
    if action == "approve":
        check_may_approve(actor, content)
    before = content.status
    if before is ContentStatus.APPROVED:
        settle_on_leaving_approved(s, content, actor, step.target.value)
    content.status = step.target
    if step.target is ContentStatus.APPROVED:
        content.approved_at = utcnow()
    record_event(
        s,
        content,
        actor,
        action,
        from_status=before.value,
        to_status=step.target.value,
        comment=comment,
    )
    s.flush()
    return content
