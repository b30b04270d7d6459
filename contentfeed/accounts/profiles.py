"""Seller profiles: what a seller posts about, how often, and how they are told. Never commits."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import NotificationChannel, Role, SellerProfile, User
from contentfeed.accounts.users import UserPage, normalise_email
from contentfeed.errors import Invalid
from contentfeed.text import control_problem, web_address

MAX_CONNECTIONS = 10_000_000  # far beyond LinkedIn's own limit, well inside an integer column

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def update_seller_profile(
    s: Session,
    profile: SellerProfile,
    *,
    title: str,
    region: str,
    language: str,
    topics: Iterable[str],
    posts_per_week: int,
    weekdays: Iterable[int],
    linkedin_url: str,
    linkedin_connections: int,
    notification_channel: NotificationChannel | str,
    notification_target: str,
    is_paused: bool,
) -> SellerProfile:
    """Check and store a seller's profile."""
    days = sorted({int(d) for d in weekdays})
    fields = seller_profile_problems(
        posts_per_week=posts_per_week,
        weekdays=days,
        linkedin_url=linkedin_url,
        linkedin_connections=linkedin_connections,
        notification_channel=notification_channel,
        notification_target=notification_target,
    )
    if fields:
        raise Invalid("Some profile fields need attention.", fields)
    # Stored percent-encoded, like every user-given web address.
    linkedin_url = web_address(linkedin_url.strip())
    channel = NotificationChannel(notification_channel)
    target = notification_target.strip()
    if channel is NotificationChannel.EMAIL and target:
        target = normalise_email(target)
    elif channel in WEBHOOK_CHANNELS:
        target = web_address(target)
    profile.title = title.strip()
    profile.region = region.strip()
    profile.language = language.strip().lower() or "en"
    profile.topics = sorted({t.strip().lower() for t in topics if t.strip()})
    profile.posts_per_week = posts_per_week
    profile.weekdays = days
    profile.linkedin_url = linkedin_url
    profile.linkedin_connections = linkedin_connections
    profile.notification_channel = channel
    profile.notification_target = target
    profile.is_paused = is_paused
    s.flush()
    return profile


WEBHOOK_CHANNELS = frozenset({NotificationChannel.SLACK, NotificationChannel.TEAMS})


def seller_profile_problems(
    *,
    posts_per_week: int,
    weekdays: Iterable[int],
    linkedin_url: str,
    linkedin_connections: int,
    notification_channel: NotificationChannel | str,
    notification_target: str,
) -> dict[str, str]:
    """Return what is wrong with these seller-profile values, by field (empty when fine)."""
    fields: dict[str, str] = {}
    for name, text in (
        ("linkedin_url", linkedin_url),
        ("notification_target", notification_target),
    ):
        problem = control_problem(text)
        if problem:
            fields[name] = problem[:1].upper() + problem[1:] + "."
    if fields:
        return fields
    if not 0 <= posts_per_week <= 21:
        fields["posts_per_week"] = "Between 0 and 21 posts a week."
    if any(not 0 <= int(d) <= 6 for d in weekdays):
        fields["weekdays"] = "Weekdays are 0 (Monday) to 6 (Sunday)."
    if not 0 <= linkedin_connections <= MAX_CONNECTIONS:
        # The column is an integer: a bigger number would overflow it (a 500, not a message).
        fields["linkedin_connections"] = f"Between 0 and {MAX_CONNECTIONS:,}."
    linkedin_url = linkedin_url.strip()
    if linkedin_url and not linkedin_url.startswith("https://www.linkedin.com/"):
        fields["linkedin_url"] = "Use your profile address, https://www.linkedin.com/in/…"
    try:
        channel = NotificationChannel(notification_channel)
    except ValueError:
        choices = ", ".join(c.value for c in NotificationChannel)
        fields["notification_channel"] = f"Choose one of {choices}."
        return fields
    target = notification_target.strip()
    if channel in WEBHOOK_CHANNELS and not target.startswith("https://"):
        fields["notification_target"] = "Paste the incoming-webhook URL (https://…)."
    for name, url in (("linkedin_url", linkedin_url), ("notification_target", target)):
        if name in fields or (name == "notification_target" and channel not in WEBHOOK_CHANNELS):
            continue
        try:
            web_address(url)
        except ValueError as exc:
            fields[name] = f"The address {exc}."
    if channel is NotificationChannel.EMAIL and target:
        try:
            normalise_email(target)
        except Invalid:
            fields["notification_target"] = (
                "Enter an email address, or leave empty for your sign-in email."
            )
    return fields


def list_sellers(
    s: Session,
    *,
    search: str = "",
    team_id: int | None = None,
    region: str = "",
    language: str = "",
    offset: int = 0,
    limit: int = 50,
) -> UserPage:
    """List sellers with their profiles, filtered by text, team, region and language."""
    query = (
        sa.select(User)
        .join(SellerProfile, SellerProfile.user_id == User.id)
        .where(User.role == Role.SELLER)
    )
    if search.strip():
        like = f"%{search.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(User.name).like(like), User.email.like(like)))
    if team_id:
        query = query.where(User.team_id == team_id)
    if region.strip():
        query = query.where(sa.func.lower(SellerProfile.region) == region.strip().lower())
    if language.strip():
        query = query.where(SellerProfile.language == language.strip().lower())
    total = s.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    items = s.scalars(
        query.options(sa.orm.selectinload(User.team), sa.orm.selectinload(User.seller_profile))
        .order_by(sa.func.lower(User.name), User.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return UserPage(items=items, total=total)
