"""Who may see and change library items: authors see everything, sellers live items only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Content, ContentStatus
from contentfeed.db import utcnow
from contentfeed.errors import Forbidden, NotFound
from contentfeed.i18n import _

STAFF = (Role.ADMIN, Role.MARKETER)
AUTHORS = (Role.ADMIN, Role.MARKETER, Role.CONTRIBUTOR)


def can_see_everything(user: User) -> bool:
    """Tell whether a user sees drafts and items in review (the library's authors)."""
    return user.role in AUTHORS


def can_edit(user: User, content: Content) -> bool:
    """Marketers and admins edit any item; contributors only their own drafts."""
    if user.role in STAFF:
        return True
    return (
        user.role is Role.CONTRIBUTOR
        and content.created_by_id == user.id
        and content.status is ContentStatus.DRAFT
    )


def get_content(s: Session, content_id: int, viewer: User, now: datetime | None = None) -> Content:
    """Return an item the viewer may see, or raise NotFound (drafts stay hidden from sellers)."""
    content = s.get(Content, content_id)
    if content is None or (not can_see_everything(viewer) and not content.is_live(now or utcnow())):
        raise NotFound(_("No such content item."))
    return content


def require_edit(user: User, content: Content) -> None:
    """Raise Forbidden unless the user may change this item (callers may check before parsing)."""
    if not can_edit(user, content):
        if user.role is Role.CONTRIBUTOR:
            raise Forbidden(_("Contributors can change only their own drafts."))
        raise Forbidden(_("Your role can't change library content."))


def get_editable(s: Session, content_id: int, actor: User) -> Content:
    """Return an item the actor may change, or raise NotFound / Forbidden (before any parsing)."""
    content = get_content(s, content_id, actor)
    require_edit(actor, content)
    return content
