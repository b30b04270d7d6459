"""The approval workflow: draft -> in review -> approved -> archived, or back to draft.

Never commits; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.content.history import record_event
from contentfeed.content.models import Content, ContentStatus
from contentfeed.content.visibility import AUTHORS, STAFF
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Forbidden, Invalid, NotFound
from contentfeed.text import checked_text


@dataclass(frozen=True)
class Transition:
    sources: frozenset[ContentStatus]
    target: ContentStatus
    roles: tuple[Role, ...]
    label: str
    needs_comment: bool = False
    needs_variant: bool = False


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(
        frozenset({ContentStatus.DRAFT}),
        ContentStatus.IN_REVIEW,
        AUTHORS,
        "Send for approval",
        needs_variant=True,
    ),
    "approve": Transition(
        frozenset({ContentStatus.IN_REVIEW}),
        ContentStatus.APPROVED,
        STAFF,
        "Approve",
        needs_variant=True,
    ),
    "send_back": Transition(
        frozenset({ContentStatus.IN_REVIEW, ContentStatus.APPROVED, ContentStatus.ARCHIVED}),
        ContentStatus.DRAFT,
        STAFF,
        "Send back to draft",
        needs_comment=True,
    ),
    "archive": Transition(
        frozenset({ContentStatus.DRAFT, ContentStatus.IN_REVIEW, ContentStatus.APPROVED}),
        ContentStatus.ARCHIVED,
        STAFF,
        "Archive",
    ),
}


def available_transitions(user: User, content: Content) -> list[tuple[str, Transition]]:
    """Return the workflow actions this user can take on this item now."""
    result = []
    for name, transition in TRANSITIONS.items():
        if content.status not in transition.sources or user.role not in transition.roles:
            continue
        if user.role is Role.CONTRIBUTOR and content.created_by_id != user.id:
            continue
        result.append((name, transition))
    return result


def transition(
    s: Session, content: Content, action: str, *, actor: User, comment: str = ""
) -> Content:
    """Move an item through draft -> in review -> approved -> archived (or back to draft)."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise NotFound(f"Unknown workflow action {action!r}.")
    if actor.role not in step.roles:
        who = "Only marketers and admins" if step.roles == STAFF else "Only library authors"
        raise Forbidden(f"{who} can {step.label.lower()}.")
    if actor.role is Role.CONTRIBUTOR and content.created_by_id != actor.id:
        raise Forbidden("Contributors can send only their own items for approval.")
    if content.status not in step.sources:
        raise Conflict(
            f"Can't {step.label.lower()} an item that is {content.status.label.lower()}."
        )
    comment = checked_text("comment", comment, multiline=True).strip()
    if step.needs_comment and not comment:
        raise Invalid("Say what needs to change.", {"comment": "Say what needs to change."})
    if step.needs_variant and not content.variants:
        raise Conflict("Write at least one post variant first: it is what sellers will share.")
    before = content.status
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
