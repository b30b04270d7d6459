"""Seller profiles: what a seller posts about, how often, and how they are told. Never commits."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from flask import has_app_context
from pydantic import ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from contentfeed import config, http
from contentfeed.accounts.models import NotificationChannel, Role, SellerProfile, User
from contentfeed.accounts.permissions import require_admin
from contentfeed.accounts.users import (
    UserPage,
    check_timezone,
    get_user,
    normalise_email,
    update_user,
)
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import _, number_text
from contentfeed.text import Input, control_problem, web_address

MAX_CONNECTIONS = 10_000_000  # far beyond LinkedIn's own limit, well inside an integer column

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class SellerProfileData(Input):
    """A seller's profile: what the profile forms send, and a new seller's defaults.

    The rules on the values (ranges, addresses, channels) are ``seller_profile_problems``,
    shared with the sellers import, so each refusal names its field the same way."""

    model_config = ConfigDict(extra="forbid")

    title: str = ""
    region: str = ""
    languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="The languages the seller posts in, the preferred first (de, en)",
    )
    topics: list[str] = Field(default_factory=list)
    posts_per_week: int = 3
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    linkedin_url: str = ""
    linkedin_connections: int = 0
    notification_channel: NotificationChannel = NotificationChannel.EMAIL
    notification_target: str = ""
    is_paused: bool = False

    @model_validator(mode="before")
    @classmethod
    def _one_language(cls, value: Any) -> Any:
        """Take the single ``language`` older clients send as a list of one."""
        if isinstance(value, dict) and "language" in value and "languages" not in value:
            value = dict(value)
            language = value.pop("language")
            value["languages"] = [language] if isinstance(language, str) else language
        return value

    @field_validator("topics", mode="before")
    @classmethod
    def _split_topics(cls, value: Any) -> Any:
        """Take topics typed as one comma-separated text."""
        return value.split(",") if isinstance(value, str) else value

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: Any) -> Any:
        """Take languages typed as one text: "de, en" (or "de; en")."""
        return split_languages(value) if isinstance(value, str) else value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return ordered_languages(value)


LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")


def split_languages(text: str) -> list[str]:
    """Split "de, en" or "de; en" into codes, keeping their order."""
    return [part.strip() for part in re.split(r"[;,\s]+", text) if part.strip()]


def ordered_languages(codes: Iterable[str]) -> list[str]:
    """Return the codes in lower case, each once, in the order given; refuse a non-code."""
    seen: list[str] = []
    for raw in codes:
        code = str(raw).strip().lower()
        if not code:
            continue
        if len(code) > 8 or not LANGUAGE_CODE.fullmatch(code):
            raise ValueError(
                _("“%(value)s” isn't a language code; use one such as en or de.", value=raw)
            )
        if code not in seen:
            seen.append(code)
    if not seen:
        raise ValueError(_("Choose at least one language the seller posts in."))
    return seen


class OwnProfileData(SellerProfileData):
    """A seller's own profile page: their profile, their time zone, and how "Post on
    LinkedIn" opens LinkedIn for them ("" follows [suggestions] linkedin_composer)."""

    timezone: str = ""
    linkedin_composer: Literal["", "prefill", "share-offsite"] = ""


def update_seller_profile(
    s: Session,
    profile: SellerProfile,
    *,
    title: str,
    region: str,
    languages: Sequence[str],
    topics: Iterable[str],
    posts_per_week: int,
    weekdays: Iterable[int],
    linkedin_url: str,
    linkedin_connections: int,
    notification_channel: NotificationChannel | str,
    notification_target: str,
    is_paused: bool,
    on_new_webhook: NewWebhook | None = None,
) -> SellerProfile:
    """Check and store a seller's profile.

    A newly set Slack or Teams webhook is handed to ``on_new_webhook`` (to send it a test
    message) once every field is checked and before anything is written: an outbound call
    that takes its time then holds no row lock, and no message goes out for a refused save."""
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
        raise Invalid(_("Some profile fields need attention."), fields)
    # Stored percent-encoded, like every user-given web address.
    linkedin_url = web_address(linkedin_url.strip())
    channel = NotificationChannel(notification_channel)
    target = notification_target.strip()
    if channel is NotificationChannel.EMAIL and target:
        target = normalise_email(target)
    elif channel in WEBHOOK_CHANNELS:
        target = web_address(target)
        refused = webhook_refusal(target)
        if refused:
            raise Invalid(refused, {"notification_target": refused})
    try:
        chosen_languages = ordered_languages(languages)
    except ValueError as exc:
        raise Invalid(str(exc), {"languages": str(exc)}) from None
    current = (profile.notification_channel, profile.notification_target)
    if on_new_webhook is not None and channel in WEBHOOK_CHANNELS and (channel, target) != current:
        on_new_webhook(channel, target, list(chosen_languages))
    profile.title = title.strip()
    profile.region = region.strip()
    profile.languages = chosen_languages
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

# Given a newly set webhook's channel, address and the profile's languages, before the save
# writes anything (to send it a test message).
NewWebhook = Callable[[NotificationChannel, str, list[str]], None]


def webhook_refusal(url: str) -> str:
    """Say why the outbound guard refuses a webhook URL (loopback, private, link-local), or
    return "" when it may be used. A host that does not resolve just now is let through: the
    test message on saving says whether it arrives."""
    try:
        http.check_url(url)
    except http.BlockedAddress as exc:
        return exc.message
    except http.FetchFailed:
        return ""
    return ""


def _plain_http_allowed() -> bool:
    """Tell whether http:// webhooks are taken: only where the guard lets private addresses
    through (a local test or development setup); everywhere else webhooks are https://."""
    return has_app_context() and config.current().http.allow_private_addresses


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
        fields["posts_per_week"] = _("Between 0 and 21 posts a week.")
    if any(not 0 <= int(d) <= 6 for d in weekdays):
        fields["weekdays"] = _("Weekdays are 0 (Monday) to 6 (Sunday).")
    if not 0 <= linkedin_connections <= MAX_CONNECTIONS:
        # The column is an integer: a bigger number would overflow it (a 500, not a message).
        fields["linkedin_connections"] = _(
            "Between 0 and %(most)s.", most=number_text(MAX_CONNECTIONS)
        )
    linkedin_url = linkedin_url.strip()
    if linkedin_url and not linkedin_url.startswith("https://www.linkedin.com/"):
        fields["linkedin_url"] = _("Use your profile address, https://www.linkedin.com/in/…")
    try:
        channel = NotificationChannel(notification_channel)
    except ValueError:
        choices = ", ".join(c.value for c in NotificationChannel)
        fields["notification_channel"] = _("Choose one of %(choices)s.", choices=choices)
        return fields
    target = notification_target.strip()
    if (
        channel in WEBHOOK_CHANNELS
        and not target.startswith("https://")
        and not (target.startswith("http://") and _plain_http_allowed())
    ):
        fields["notification_target"] = _("Paste the incoming-webhook URL (https://…).")
    for name, url in (("linkedin_url", linkedin_url), ("notification_target", target)):
        if name in fields or (name == "notification_target" and channel not in WEBHOOK_CHANNELS):
            continue
        try:
            web_address(url)
        except ValueError as exc:
            fields[name] = _("The address %(problem)s.", problem=exc)
    if channel is NotificationChannel.EMAIL and target:
        try:
            normalise_email(target)
        except Invalid:
            fields["notification_target"] = _(
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
        # The JSON list as text ('["de", "en"]' on both databases) holds the quoted code.
        code = language.strip().lower().replace('"', "")
        query = query.where(sa.cast(SellerProfile.languages, sa.Text).like(f'%"{code}"%'))
    total = s.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    items = s.scalars(
        query.options(sa.orm.selectinload(User.team), sa.orm.selectinload(User.seller_profile))
        .order_by(sa.func.lower(User.name), User.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return UserPage(items=items, total=total)


def own_seller_profile(s: Session, actor: User) -> SellerProfile:
    """Return the signed-in seller's profile, repairing an account that lost it."""
    if actor.seller_profile is None:  # every seller has one
        update_user(
            s, actor, name=actor.name, role=actor.role, team=actor.team, timezone=actor.timezone
        )
    assert actor.seller_profile is not None
    return actor.seller_profile


def save_own_profile(
    s: Session, actor: User, data: OwnProfileData, on_new_webhook: NewWebhook | None = None
) -> SellerProfile:
    """Store a seller's own profile and time zone together, or neither (one refusal names
    every field at fault); a new webhook goes to ``on_new_webhook`` first (see
    ``update_seller_profile``)."""
    profile = own_seller_profile(s, actor)
    problems: dict[str, str] = {}
    if data.timezone:
        try:
            check_timezone(data.timezone)
        except Invalid as exc:
            problems.update(exc.fields)
    problems.update(profile_problems(data.model_dump()))
    if problems:
        raise Invalid(_("Some fields need attention."), problems)
    update_seller_profile(
        s, profile, **profile_fields(data.model_dump()), on_new_webhook=on_new_webhook
    )
    profile.linkedin_composer = data.linkedin_composer
    update_user(s, actor, name=actor.name, role=actor.role, team=actor.team, timezone=data.timezone)
    return profile


def save_seller_profile(
    s: Session,
    actor: User | None,
    user_id: int,
    data: SellerProfileData,
    on_new_webhook: NewWebhook | None = None,
) -> SellerProfile:
    """Store a seller's profile as an admin sets it; a new webhook goes to ``on_new_webhook``
    first (see ``update_seller_profile``)."""
    require_admin(actor)
    user = get_user(s, user_id)
    if user.seller_profile is None:
        raise NotFound(_("This user has no seller profile."))
    return update_seller_profile(
        s,
        user.seller_profile,
        **profile_fields(data.model_dump()),
        on_new_webhook=on_new_webhook,
    )


def profile_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Pick a seller profile's fields (as ``SellerProfileData`` names them) out of values."""
    return {name: values[name] for name in SellerProfileData.model_fields}


# The fields seller_profile_problems judges.
_CHECKED = (
    "posts_per_week",
    "weekdays",
    "linkedin_url",
    "linkedin_connections",
    "notification_channel",
    "notification_target",
)


def profile_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """Return what is wrong with a profile's values, by field (empty when fine)."""
    return seller_profile_problems(**{name: values[name] for name in _CHECKED})


def seller_audience(s: Session) -> dict[str, object]:
    """Summarise who the library speaks to: sellers by region, language and topic.

    Counted in the database (a programme can have 100,000 sellers); only the topic lists,
    JSON on both databases, are read and counted here.
    """
    active = sa.select(SellerProfile).join(SellerProfile.user).where(User.is_active).subquery()
    working = sa.not_(active.c.is_paused)
    sellers, paused, reach, posts_per_week = s.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(active.c.is_paused),
            sa.func.coalesce(sa.func.sum(active.c.linkedin_connections), 0),
            sa.func.coalesce(sa.func.sum(active.c.posts_per_week).filter(working), 0),
        )
    ).one()

    def per(column: sa.ColumnElement[str]) -> dict[str, int]:
        rows = s.execute(sa.select(column, sa.func.count()).group_by(column))
        return {value or "—": int(n) for value, n in rows}

    topics = Counter(
        topic for listed in s.scalars(sa.select(active.c.topics)) for topic in listed or ()
    )
    languages = Counter(
        code for listed in s.scalars(sa.select(active.c.languages)) for code in listed or ()
    )
    return {
        "sellers": int(sellers),
        "paused": int(paused),
        "reach": int(reach),
        "posts_per_week": int(posts_per_week),
        "regions": _most_first(per(active.c.region)),
        "languages": _most_first(dict(languages)),
        "topics": _most_first(dict(topics))[:12],
    }


def _most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
