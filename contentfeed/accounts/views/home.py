"""The home page: what each role sees first."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from contentfeed import db
from contentfeed.accounts import access, service
from contentfeed.accounts.models import ApiToken, Role, SellerProfile, User
from contentfeed.accounts.views.shared import bp


@bp.get("/")
@access.require_role()
def home() -> ResponseReturnValue:
    """Show each role the page that answers its first question (a seller's is their feed)."""
    s = db.session()
    user: User = current_user
    if user.role is Role.SELLER:
        return redirect(url_for("suggestions.feed"))
    context: dict[str, object] = {"user": user}
    if user.role is Role.ADMIN:
        context["role_counts"] = service.role_counts(s)
        context["teams"] = service.list_teams(s)
        context["active_members"] = service.active_member_counts(s)
        context["active_tokens"] = s.scalar(
            sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))
        )
        context["recent_logins"] = s.scalars(
            sa.select(User)
            .where(User.last_login_at.is_not(None))
            .order_by(User.last_login_at.desc())
            .limit(6)
        ).all()
    elif user.role in (Role.MARKETER, Role.CONTRIBUTOR):
        context["audience"] = _seller_audience(s)
    elif user.role is Role.REP:
        context["teammates"] = (
            [m for m in user.team.members if m.is_active and m.id != user.id] if user.team else []
        )
    return render_template("accounts/home.html", **context)


def _seller_audience(s: sa.orm.Session) -> dict[str, object]:
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
    return {
        "sellers": int(sellers),
        "paused": int(paused),
        "reach": int(reach),
        "posts_per_week": int(posts_per_week),
        "regions": _most_first(per(active.c.region)),
        "languages": _most_first(per(active.c.language)),
        "topics": _most_first(dict(topics))[:12],
    }


def _most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
