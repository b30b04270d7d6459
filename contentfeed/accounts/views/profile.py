"""A seller's own profile page, and their cadence said in words."""

from __future__ import annotations

import functools
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from contentfeed import config, db
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import ProfileForm
from contentfeed.accounts.models import Role, User
from contentfeed.accounts.views.shared import (
    apply_errors,
    bp,
    flash_webhook_trial,
    form_input,
    profile_values,
)
from contentfeed.db import utcnow
from contentfeed.errors import Invalid
from contentfeed.i18n import _, ngettext
from contentfeed.suggestions import engine, notify
from contentfeed.suggestions import service as suggestions
from contentfeed.ui import weekday_name


@dataclass(frozen=True)
class PlannedDay:
    """One day of the seller's current week and the posts planned on it."""

    day: date
    posts: int
    is_today: bool
    is_past: bool

    @property
    def name(self) -> str:
        """Return the weekday's short name."""
        return weekday_name(self.day.weekday())


@dataclass(frozen=True)
class Cadence:
    """A seller's cadence in words, and this week's days with their planned posts."""

    sentence: str
    week: list[PlannedDay]
    uses_default_days: bool
    next_day: date | None  # the next planned day after today (next week's, when none is left)


def _join_words(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    return _("%(first)s and %(last)s", first=", ".join(words[:-1]), last=words[-1])


def describe_cadence(posts_per_week: int, weekdays: list[int], today: date) -> Cadence:
    """Say in words what a cadence means, using the engine's plan for today's week."""
    week_start = today - timedelta(days=today.weekday())
    per_day = Counter(
        day for day, _slot in engine.planned_slots(week_start, weekdays, posts_per_week)
    )
    week = [
        PlannedDay(
            week_start + timedelta(days=n),
            per_day[week_start + timedelta(days=n)],
            is_today=n == today.weekday(),
            is_past=n < today.weekday(),
        )
        for n in range(7)
    ]
    planned = [d for d in week if d.posts]
    if not planned:
        sentence = _("No posts planned: choose 1 or more posts a week to get suggestions")
    elif all(d.posts == 1 for d in planned):
        sentence = ngettext(
            "%(num)d post a week, on %(days)s",
            "%(num)d posts a week, on %(days)s",
            posts_per_week,
            days=_join_words([d.name for d in planned]),
        )
    else:
        parts = [_("%(count)s on %(day)s", count=d.posts, day=d.name) for d in planned]
        sentence = ngettext(
            "%(num)d post a week: %(days)s",
            "%(num)d posts a week: %(days)s",
            posts_per_week,
            days=_join_words(parts),
        )
    later = [d.day for d in planned if d.day > today]
    next_day = later[0] if later else (planned[0].day + timedelta(days=7) if planned else None)
    return Cadence(
        sentence,
        week,
        uses_default_days=not any(0 <= d <= 6 for d in weekdays),
        next_day=next_day,
    )


@bp.route("/profile", methods=["GET", "POST"])
@access.require_role(Role.SELLER)
def profile() -> ResponseReturnValue:
    """Let a seller choose their topics, cadence, days, time zone and notifications."""
    s = db.session()
    user = access.signed_in_user()
    seller_profile = service.own_seller_profile(s, user)
    form = ProfileForm(obj=seller_profile)
    form.allow_languages(seller_profile.languages)
    if not config.current().email.host:
        form.email_not_set_up()
    if request.method == "GET":
        form.topics.data = ", ".join(seller_profile.topics)
        form.show_languages(seller_profile.languages)
        form.timezone.data = user.timezone
    if form.validate_on_submit():
        values = {
            **profile_values(form),
            "timezone": (form.timezone.data or "").strip(),
            "linkedin_composer": form.linkedin_composer.data or "",
        }
        trial = notify.WebhookTrial(user)
        try:
            data = form_input(service.OwnProfileData, values)
            service.save_own_profile(s, user, data, on_new_webhook=trial)
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            cadence = _cadence_of(user)
            if seller_profile.is_paused:
                message = _(
                    "Your profile is saved: %(cadence)s. Suggestions are paused.",
                    cadence=cadence.sentence,
                )
            else:
                message = _("Your profile is saved: %(cadence)s.", cadence=cadence.sentence)
            flash(message, "success")
            flash_webhook_trial(trial)
            return redirect(url_for("accounts.profile"))
    return render_template(
        "accounts/profile.html",
        form=form,
        seller_profile=seller_profile,
        cadence=_cadence_of(user),
        zone=suggestions.seller_zone(user, config.current().default_timezone).key,
        local_hour=config.current().suggestions.local_hour,
        timezones=_timezone_names(),
    ), 422 if form.errors else 200


_ZONE_AREAS = frozenset(
    [
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    ]
)


@functools.cache
def _timezone_names() -> list[str]:
    """Return the IANA zone names people pick from (areas and cities, plus UTC)."""
    names = (n for n in zoneinfo.available_timezones() if n.split("/")[0] in _ZONE_AREAS)
    return ["UTC", *sorted(names)]


def _cadence_of(user: User) -> Cadence:
    profile = user.seller_profile
    assert profile is not None
    zone = suggestions.seller_zone(user, config.current().default_timezone)
    today = utcnow().astimezone(zone).date()
    return describe_cadence(profile.posts_per_week, list(profile.weekdays), today)
