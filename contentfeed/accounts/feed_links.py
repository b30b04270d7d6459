"""One-click links into a seller's feed, carried by their digest (email, Slack, Teams).

A feed link is a ``SignInLink`` of purpose FEED: single use, expiring (``[accounts]
feed_link_hours``), and only for sellers. Following it opens a *limited* session: the feed
and the profile work, every other page asks for a real sign-in (``access``). Sending a newer
feed link retires the seller's older unused one. Never commits."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.invitations import issue_link
from contentfeed.accounts.models import LinkPurpose, Role, SignInLink, User
from contentfeed.accounts.tokens import hash_token
from contentfeed.db import utcnow
from contentfeed.errors import Gone
from contentfeed.i18n import _

# What a feed link's address looks like: {base}/feed/open/<token>.
FEED_LINK_PATH = "/feed/open/{token}"


class FeedLinkUsed(Gone):
    """The feed link worked once already."""

    code = "link_used"


class FeedLinkExpired(Gone):
    """The feed link is unknown, expired, or its seller can no longer use it."""

    code = "link_expired"


def may_get_feed_link(user: User) -> bool:
    """Tell whether a user may be sent a one-click link: active sellers only (a link that
    signs an admin in would be a password in an inbox)."""
    return user.is_active and user.role is Role.SELLER


def feed_link_url(
    s: Session,
    user: User,
    *,
    base_url: str,
    hours: int,
    now: datetime | None = None,
) -> str:
    """Issue a feed link for a seller and return its address."""
    token = issue_link(s, user, LinkPurpose.FEED, timedelta(hours=hours), now)
    return base_url.rstrip("/") + FEED_LINK_PATH.format(token=token)


def find_feed_link(s: Session, token: str) -> SignInLink | None:
    """Return the feed link behind a token, used or not, or None."""
    return s.scalar(
        sa.select(SignInLink).where(
            SignInLink.token_hash == hash_token(token), SignInLink.purpose == LinkPurpose.FEED
        )
    )


def use_feed_link(
    s: Session, token: str, now: datetime | None = None, *, enabled: bool = True
) -> User:
    """Use a feed link up and return its seller; refuse it when it was used already
    (FeedLinkUsed) or is unknown, expired, its user is no active seller, or feed links are
    turned off (``enabled``; links sent before then stop working) (FeedLinkExpired).

    Using it is one conditional UPDATE, so two clicks at once cannot both get in."""
    now = now or utcnow()
    link = find_feed_link(s, token)
    if link is not None and link.used_at is not None:
        raise FeedLinkUsed(
            _("This link has already been used. Sign in to open your feed."),
        )
    if not enabled or link is None or link.expires_at <= now or not may_get_feed_link(link.user):
        raise FeedLinkExpired(_("This link has expired. Sign in to open your feed."))
    taken = s.execute(
        sa.update(SignInLink)
        .where(SignInLink.id == link.id, SignInLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise FeedLinkUsed(_("This link has already been used. Sign in to open your feed."))
    s.expire(link)
    return link.user
