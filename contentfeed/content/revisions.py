"""Four-eyes approval: who may approve an item, and changes to approved items that wait.

With ``[library] four_eyes`` on, nobody approves an item they wrote or sent for approval, and
a change to an approved item's variants, web address or targeting is kept as a pending
revision (ContentRevision) while the approved version stays live: sellers' suggestions keep
using it until someone who did not make the change approves it. Admins are not exempt: the
point is a second person, whatever the role.

Never commits; the caller commits once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed import config
from contentfeed.accounts.models import User
from contentfeed.content.history import record_event
from contentfeed.content.models import (
    REVIEWED_FIELDS,
    Content,
    ContentRevision,
    ContentStatus,
    PostVariant,
)
from contentfeed.content.visibility import STAFF
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Forbidden
from contentfeed.i18n import _

# The audit-trail actions whose actor counts as having written an item (or sent it on).
WRITING_ACTIONS = frozenset(
    {"created", "edited", "submit", "variant_added", "variant_edited", "revision_proposed"}
)

# The key of a variant's text, and of its language, in a revision's changes.
VARIANT_KEY = "variant:%d"
VARIANT_LANGUAGE_KEY = "variant_language:%d"
VARIANT_COMMENT_KEY = "variant_comment:%d"


def four_eyes_on() -> bool:
    """Tell whether four-eyes approval is on ([library] four_eyes)."""
    return config.current().library.four_eyes


def is_reviewed(content: Content) -> bool:
    """Tell whether a change to this item's variants, address or targeting must wait."""
    return content.status is ContentStatus.APPROVED and four_eyes_on()


def writers_of(content: Content) -> set[int]:
    """Return the ids of who wrote the item, changed it, or sent it for approval."""
    ids = {e.actor_id for e in content.events if e.action in WRITING_ACTIONS}
    ids.add(content.created_by_id)
    return {i for i in ids if i is not None}


def may_approve(user: User, content: Content) -> bool:
    """Tell whether four-eyes approval lets this user approve this item."""
    return not four_eyes_on() or user.id not in writers_of(content)


def check_may_approve(user: User, content: Content) -> None:
    """Raise Conflict when the user wrote the item or sent it for approval (four-eyes)."""
    if not may_approve(user, content):
        raise Conflict(
            _(
                "You wrote this item or sent it for approval: another marketer or admin "
                "has to approve it."
            )
        )


def _variant_entry(variant: PostVariant) -> dict[str, Any]:
    return {
        "id": variant.id,
        "position": variant.position,
        "language": variant.language,
        "body": variant.body,
        "first_comment": variant.first_comment,
    }


def open_revision(s: Session, content: Content, actor: User) -> ContentRevision:
    """Return the item's pending revision, started from the live version if there is none."""
    revision = content.revision
    if revision is None:
        revision = ContentRevision(
            url=content.url,
            target_team_ids=list(content.target_team_ids),
            target_regions=list(content.target_regions),
            audience=content.audience,
            variants=[_variant_entry(v) for v in content.variants],
            author_ids=[],
            created_by_id=actor.id,
        )
        content.revision = revision
        s.add(revision)
    if actor.id not in revision.author_ids:
        revision.author_ids = [*revision.author_ids, actor.id]
    return revision


def propose(s: Session, content: Content, actor: User, changes: dict[str, Any]) -> None:
    """Record a change put into the pending revision; drop the revision if it changes nothing."""
    record_event(s, content, actor, "revision_proposed", changes=changes)
    revision = content.revision
    if revision is not None:
        revision.updated_at = utcnow()
        if not revision_changes(content, revision):
            content.revision = None  # back to the live version: nothing waits
    s.flush()


def proposed_variant(entry: dict[str, Any]) -> PostVariant:
    """A variant as the pending revision has it, not stored (id None: a new one)."""
    return PostVariant(
        id=entry["id"],
        position=entry["position"],
        language=entry["language"],
        body=entry["body"],
        first_comment=entry.get("first_comment", ""),
    )


def revision_changes(content: Content, revision: ContentRevision) -> dict[str, list[Any]]:
    """Say what the revision changes, as {key: [live, proposed]} ("": none, for variants)."""
    changes: dict[str, list[Any]] = {}
    for key in REVIEWED_FIELDS:
        live, proposed = getattr(content, key), getattr(revision, key)
        if live != proposed:
            changes[key] = [live, proposed]
    live_variants = {v.id: v for v in content.variants}
    kept: set[int] = set()
    for entry in sorted(revision.variants, key=lambda e: e["position"]):
        variant = live_variants.get(entry["id"]) if entry["id"] is not None else None
        position = entry["position"]
        if variant is None:
            changes[VARIANT_KEY % position] = ["", entry["body"]]
            changes[VARIANT_LANGUAGE_KEY % position] = ["", entry["language"]]
            continue
        kept.add(variant.id)
        if variant.body != entry["body"]:
            changes[VARIANT_KEY % position] = [variant.body, entry["body"]]
        if variant.language != entry["language"]:
            changes[VARIANT_LANGUAGE_KEY % position] = [variant.language, entry["language"]]
        if variant.first_comment != entry.get("first_comment", ""):
            changes[VARIANT_COMMENT_KEY % position] = [
                variant.first_comment,
                entry.get("first_comment", ""),
            ]
    for variant in content.variants:
        if variant.id not in kept:
            changes[VARIANT_KEY % variant.position] = [variant.body, ""]
    return changes


def _apply(content: Content, revision: ContentRevision) -> None:
    for key in REVIEWED_FIELDS:
        value = getattr(revision, key)
        setattr(content, key, list(value) if isinstance(value, list) else value)
    wanted = {e["id"]: e for e in revision.variants if e["id"] is not None}
    for variant in list(content.variants):
        if variant.id not in wanted:
            content.variants.remove(variant)
    live = {v.id: v for v in content.variants}
    for entry in sorted(revision.variants, key=lambda e: e["position"]):
        found = live.get(entry["id"]) if entry["id"] is not None else None
        if found is None:
            content.variants.append(
                PostVariant(
                    position=entry["position"],
                    language=entry["language"],
                    body=entry["body"],
                    first_comment=entry.get("first_comment", ""),
                )
            )
            continue
        comment = entry.get("first_comment", "")
        if (found.body, found.language, found.first_comment) != (
            entry["body"],
            entry["language"],
            comment,
        ):
            found.body, found.language, found.first_comment = (
                entry["body"],
                entry["language"],
                comment,
            )
        found.position = entry["position"]
    content.updated_at = utcnow()


def lock_item(s: Session, content: Content) -> None:
    """Hold the item's row until the request ends and read it, and its waiting change, as
    they are now. Of two reviewers deciding at once, the second waits here for the first to
    commit and then sees that decision (PostgreSQL row lock; SQLite writes one at a time)."""
    s.flush()
    s.refresh(content, with_for_update=True)
    s.expire(content, ["revision"])
    s.execute(
        sa.select(ContentRevision)
        .where(ContentRevision.content_id == content.id)
        .execution_options(populate_existing=True)
    ).all()


def _pending(s: Session, content: Content, actor: User) -> ContentRevision:
    if actor.role not in STAFF:
        raise Forbidden(_("Only marketers and admins can review a change."))
    seen = content.revision
    lock_item(s, content)
    if seen is not None and (content.revision is None or content.revision.id != seen.id):
        raise Conflict(
            _(
                "Someone else approved or discarded this change a moment ago; the history "
                "says who. Nothing waits for review now."
            )
        )
    if content.revision is None:
        raise Conflict(_("No change to this item waits for review."))
    return content.revision


def approve_revision(s: Session, content: Content, *, actor: User, comment: str = "") -> None:
    """Put the pending change live (someone who did not make it, with four-eyes on)."""
    revision = _pending(s, content, actor)
    if four_eyes_on() and actor.id in revision.author_ids:
        raise Conflict(_("You made this change: another marketer or admin has to approve it."))
    changes = revision_changes(content, revision)
    _apply(content, revision)
    content.revision = None
    record_event(s, content, actor, "revision_approved", comment=comment, changes=changes)
    s.flush()


def reject_revision(s: Session, content: Content, *, actor: User, comment: str = "") -> None:
    """Discard the pending change; the approved version stays as it is."""
    revision = _pending(s, content, actor)
    changes = revision_changes(content, revision)
    content.revision = None
    record_event(s, content, actor, "revision_rejected", comment=comment, changes=changes)
    s.flush()


def settle_on_leaving_approved(s: Session, content: Content, actor: User, target: str) -> None:
    """Before an item leaves "approved": a draft takes the waiting change, an archive drops it."""
    revision = content.revision
    if revision is None:
        return
    changes = revision_changes(content, revision)
    if target == ContentStatus.DRAFT.value:
        _apply(content, revision)
        action = "revision_to_draft"
    else:
        action = "revision_rejected"
    content.revision = None
    record_event(s, content, actor, action, changes=changes)


def waiting_changes(s: Session, limit: int = 10) -> tuple[list[Content], int]:
    """Return the items whose change waits for review, oldest first, and how many there are."""
    total = s.scalar(sa.select(sa.func.count()).select_from(ContentRevision)) or 0
    items = s.scalars(
        sa.select(Content)
        .join(ContentRevision, ContentRevision.content_id == Content.id)
        .order_by(ContentRevision.updated_at, Content.id)
        .limit(limit)
    )
    return list(items), total


def jsonable(value: Any) -> Any:
    """Return a value as the audit trail keeps it (times as ISO text, enums as their value)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value
