"""Account pages: sign-in, the home page per role, your account, and the admin pages."""

from __future__ import annotations

import base64
import functools
import hashlib
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from contentfeed import db, sheets
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import (
    AccountForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    SellerImportForm,
    SellerProfileForm,
    TeamForm,
    TokenForm,
    UserForm,
)
from contentfeed.accounts.models import ApiToken, Role, SellerProfile, Team, TeamKind, User
from contentfeed.db import utcnow
from contentfeed.errors import DomainError, Invalid, TooManyAttempts, Unauthorized
from contentfeed.forms import options
from contentfeed.suggestions import engine
from contentfeed.suggestions import service as suggestions
from contentfeed.ui import Page, page_number, sort_params, url_with, weekday_name

bp = Blueprint("accounts", __name__)

ADMIN = (Role.ADMIN,)


def _client_key() -> str:
    """Identify the client for throttling without keeping its address."""
    address = request.remote_addr or "unknown"
    salt = current_app.config["SECRET_KEY"]
    return hashlib.sha256(f"{salt}:{address}".encode()).hexdigest()[:32]


def _safe_next(target: str | None) -> str | None:
    """Only follow `next` to a path on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _apply_errors(form: object, error: DomainError) -> None:
    """Show a service's field errors beside the form's fields."""
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
    if not any(hasattr(form, name) for name in error.fields):
        flash(error.message, "error")


# --- sign-in -----------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@access.public
def login() -> ResponseReturnValue:
    """Sign in with email and password, throttled after repeated failures."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        s = db.session()
        settings = current_app.config
        try:
            user = service.authenticate(
                s,
                email=form.email.data or "",
                password=form.password.data or "",
                client_key=_client_key(),
                max_failures=settings["LOGIN_MAX_FAILURES"],
                lockout=timedelta(minutes=settings["LOGIN_LOCKOUT_MINUTES"]),
            )
        except (Unauthorized, TooManyAttempts) as exc:
            s.commit()  # keep the failure count
            form.form_errors.append(exc.message)
            status = exc.status
        else:
            s.commit()
            login_user(user, remember=bool(form.remember.data))
            flash(f"Welcome back, {user.first_name}.", "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("accounts.home"))
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@access.require_role()
def logout() -> Response:
    """Sign out."""
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"))


# --- home per role -----------------------------------------------------------------------


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


# --- your account ------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@access.require_role()
def account() -> ResponseReturnValue:
    """Let anyone change their name, time zone and password."""
    s = db.session()
    user: User = current_user
    form = AccountForm(obj=user, prefix="account")
    password_form = PasswordForm(prefix="password")
    if request.method == "POST" and "account-name" in request.form and form.validate():
        try:
            service.update_user(
                s,
                user,
                name=form.name.data or "",
                role=user.role,
                team=user.team,
                timezone=(form.timezone.data or "").strip(),
            )
        except Invalid as exc:
            _apply_errors(form, exc)
        else:
            s.commit()
            flash("Your details are saved.", "success")
            return redirect(url_for("accounts.account"))
    if (
        request.method == "POST"
        and "password-new_password" in request.form
        and password_form.validate()
    ):
        if not check_password_hash(user.password_hash, password_form.current_password.data or ""):
            password_form.current_password.errors = ["That is not your current password."]
        else:
            try:
                service.set_password(s, user, password_form.new_password.data or "")
            except Invalid as exc:
                password_form.new_password.errors = [exc.message]
            else:
                s.commit()
                flash("Your password is changed.", "success")
                return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form, password_form=password_form)


# --- admin: users ------------------------------------------------------------------------


@bp.get("/admin/users")
@access.require_role(*ADMIN)
def users() -> str:
    """List users with search, role and team filters, sorting and pagination."""
    s = db.session()
    sort, direction = sort_params({"name", "email", "role", "created", "last_login"}, "name")
    per_page = current_app.config["PAGE_SIZE"]
    number = page_number()
    team_arg = request.args.get("team", "")
    role_arg = request.args.get("role", "")
    result = service.list_users(
        s,
        search=request.args.get("q", ""),
        role=role_arg if role_arg in {r.value for r in Role} else "",
        team_id=int(team_arg) if team_arg.isdigit() else None,
        sort=sort,
        descending=direction == "desc",
        offset=(number - 1) * per_page,
        limit=per_page,
    )
    page = Page(number, per_page, result.total, lambda n: url_with(page=n))
    return render_template(
        "accounts/users.html",
        users=result.items,
        page=page,
        teams=service.list_teams(s),
        roles=list(Role),
        sort=sort,
        direction=direction,
    )


def _team_choices(s: sa.orm.Session) -> list[SelectChoice]:
    return options([(0, "No team")] + [(t.id, t.name) for t in service.list_teams(s)])


@bp.route("/admin/users/new", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def user_new() -> ResponseReturnValue:
    """Create a user; sellers get a profile to fill in next."""
    s = db.session()
    form = UserForm()
    form.team_id.choices = _team_choices(s)
    form.password.label.text = "Initial password"
    form.password.description = "At least 10 characters; the user can change it under Account."
    if form.validate_on_submit():
        try:
            user = service.create_user(
                s,
                email=form.email.data or "",
                name=form.name.data or "",
                role=form.role.data or "",
                password=form.password.data or None,
                team=s.get(Team, form.team_id.data) if form.team_id.data else None,
                timezone=(form.timezone.data or "").strip(),
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            s.commit()
            flash(f"{user.name} can now sign in as {user.role_label.lower()}.", "success")
            return redirect(url_for("accounts.user_edit", user_id=user.id))
    return render_template(
        "accounts/user_form.html", form=form, user=None
    ), 422 if form.errors else 200


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def user_edit(user_id: int) -> ResponseReturnValue:
    """Edit a user's details and, for sellers, their seller profile."""
    s = db.session()
    user = service.get_user(s, user_id)
    form = UserForm(obj=user, prefix="user")
    form.team_id.choices = _team_choices(s)
    if request.method == "GET":
        form.team_id.data = user.team_id or 0
    del form.email
    form.password.label.text = "New password"
    profile_form = None
    if user.seller_profile is not None:
        profile_form = SellerProfileForm(obj=user.seller_profile, prefix="profile")
        if request.method == "GET":
            profile_form.topics.data = ", ".join(user.seller_profile.topics)
    saving_profile = "profile-posts_per_week" in request.form
    if request.method == "POST" and not saving_profile and form.validate():
        try:
            service.update_user(
                s,
                user,
                name=form.name.data or "",
                role=form.role.data or user.role,
                team=s.get(Team, form.team_id.data) if form.team_id.data else None,
                timezone=(form.timezone.data or "").strip(),
            )
            if form.password.data:
                service.set_password(s, user, form.password.data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            s.commit()
            flash(f"{user.name} is saved.", "success")
            return redirect(url_for("accounts.user_edit", user_id=user.id))
    if saving_profile and profile_form is not None and profile_form.validate():
        assert user.seller_profile is not None
        try:
            service.update_seller_profile(
                s,
                user.seller_profile,
                title=profile_form.title.data or "",
                region=profile_form.region.data or "",
                language=profile_form.language.data or "en",
                topics=(profile_form.topics.data or "").split(","),
                posts_per_week=profile_form.posts_per_week.data or 0,
                weekdays=profile_form.weekdays.data or [],
                linkedin_url=profile_form.linkedin_url.data or "",
                linkedin_connections=profile_form.linkedin_connections.data or 0,
                notification_channel=profile_form.notification_channel.data or "email",
                notification_target=profile_form.notification_target.data or "",
                is_paused=bool(profile_form.is_paused.data),
            )
        except DomainError as exc:
            _apply_errors(profile_form, exc)
        else:
            s.commit()
            flash(f"{user.first_name}'s seller profile is saved.", "success")
            return redirect(url_for("accounts.user_edit", user_id=user.id))
    has_errors = bool(form.errors or (profile_form and profile_form.errors))
    return render_template(
        "accounts/user_form.html",
        form=form,
        profile_form=profile_form,
        user=user,
    ), 422 if has_errors else 200


@bp.post("/admin/users/<int:user_id>/deactivate")
@access.require_role(*ADMIN)
def user_deactivate(user_id: int) -> Response:
    """Stop a user signing in; their history stays."""
    s = db.session()
    user = service.get_user(s, user_id)
    service.deactivate_user(s, user, by=current_user)
    s.commit()
    flash(f"{user.name} is deactivated and can no longer sign in.", "success")
    return redirect(request.referrer if _safe_referrer() else url_for("accounts.users"))


@bp.post("/admin/users/<int:user_id>/activate")
@access.require_role(*ADMIN)
def user_activate(user_id: int) -> Response:
    """Let a deactivated user sign in again."""
    s = db.session()
    user = service.get_user(s, user_id)
    service.activate_user(s, user)
    s.commit()
    flash(f"{user.name} can sign in again.", "success")
    return redirect(request.referrer if _safe_referrer() else url_for("accounts.users"))


def _safe_referrer() -> bool:
    referrer = request.referrer or ""
    return urlsplit(referrer).netloc == request.host


# --- admin: teams ------------------------------------------------------------------------


@bp.route("/admin/teams", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def teams() -> ResponseReturnValue:
    """List teams and add new ones."""
    s = db.session()
    form = TeamForm()
    if form.validate_on_submit():
        try:
            team = service.save_team(
                s,
                name=form.name.data or "",
                kind=form.kind.data or "",
                description=form.description.data or "",
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            s.commit()
            flash(f"Team {team.name} is created.", "success")
            return redirect(url_for("accounts.teams"))
    page = render_template(
        "accounts/teams.html",
        teams=service.list_teams(s),
        active_members=service.active_member_counts(s),
        form=form,
    )
    return page, (422 if form.errors else 200)


@bp.route("/admin/teams/<int:team_id>", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def team_edit(team_id: int) -> ResponseReturnValue:
    """Rename a team, change its kind or description, and see its members."""
    s = db.session()
    team = service.get_team(s, team_id)
    form = TeamForm(obj=team)
    if form.validate_on_submit():
        try:
            service.save_team(
                s,
                name=form.name.data or "",
                kind=form.kind.data or "",
                description=form.description.data or "",
                team=team,
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            s.commit()
            flash(f"Team {team.name} is saved.", "success")
            return redirect(url_for("accounts.team_edit", team_id=team.id))
    return render_template(
        "accounts/team_form.html", team=team, form=form
    ), 422 if form.errors else 200


# --- admin: API tokens -------------------------------------------------------------------


@bp.route("/admin/tokens", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def tokens() -> ResponseReturnValue:
    """List API tokens and issue new ones; a new token is shown exactly once."""
    s = db.session()
    form = TokenForm()
    active_users = s.scalars(
        sa.select(User).where(User.is_active).order_by(sa.func.lower(User.name))
    ).all()
    form.user_id.choices = options(
        (u.id, f"{u.name} ({u.role_label.lower()})") for u in active_users
    )
    if request.method == "GET":
        form.user_id.data = current_user.id
    new_token = None
    if form.validate_on_submit():
        days = form.expires_in_days.data
        try:
            token, new_token = service.issue_token(
                s,
                service.get_user(s, form.user_id.data or 0),
                name=form.name.data or "",
                scopes=form.scopes.data or [],
                by=current_user,
                expires_at=utcnow() + timedelta(days=days) if days else None,
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            s.commit()
            flash(f"Token “{token.name}” is issued.", "success")
            form = TokenForm(formdata=None)
            form.user_id.choices = options(
                (u.id, f"{u.name} ({u.role_label.lower()})") for u in active_users
            )
    return render_template(
        "accounts/tokens.html",
        tokens=service.list_tokens(s),
        form=form,
        new_token=new_token,
        now=utcnow(),
    ), 422 if form.errors else 200


@bp.post("/admin/tokens/<int:token_id>/revoke")
@access.require_role(*ADMIN)
def token_revoke(token_id: int) -> Response:
    """Revoke a token; calls using it are refused from now on."""
    s = db.session()
    token = service.revoke_token(s, token_id)
    s.commit()
    flash(f"Token “{token.name}” is revoked.", "success")
    return redirect(url_for("accounts.tokens"))


# --- seller: own profile -----------------------------------------------------------------


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
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


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
        sentence = "No posts planned: choose 1 or more posts a week to get suggestions"
    elif all(d.posts == 1 for d in planned):
        noun = "post" if posts_per_week == 1 else "posts"
        sentence = f"{posts_per_week} {noun} a week, on {_join_words([d.name for d in planned])}"
    else:
        parts = [f"{d.posts} on {d.name}" for d in planned]
        sentence = f"{posts_per_week} posts a week: {_join_words(parts)}"
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
    user: User = current_user
    if user.seller_profile is None:  # every seller has one; repair an account that lost it
        service.update_user(
            s, user, name=user.name, role=user.role, team=user.team, timezone=user.timezone
        )
    seller_profile = user.seller_profile
    assert seller_profile is not None
    form = ProfileForm(obj=seller_profile)
    if request.method == "GET":
        form.topics.data = ", ".join(seller_profile.topics)
        form.timezone.data = user.timezone
    if form.validate_on_submit():
        timezone = (form.timezone.data or "").strip()
        problems: dict[str, str] = {}
        if timezone:
            try:
                service.check_timezone(timezone)
            except Invalid as exc:
                problems.update(exc.fields)
        try:
            service.update_seller_profile(
                s,
                seller_profile,
                title=form.title.data or "",
                region=form.region.data or "",
                language=form.language.data or "en",
                topics=(form.topics.data or "").split(","),
                posts_per_week=form.posts_per_week.data or 0,
                weekdays=form.weekdays.data or [],
                linkedin_url=form.linkedin_url.data or "",
                linkedin_connections=form.linkedin_connections.data or 0,
                notification_channel=form.notification_channel.data or "email",
                notification_target=form.notification_target.data or "",
                is_paused=bool(form.is_paused.data),
            )
        except Invalid as exc:
            problems.update(exc.fields)
        if problems:
            s.rollback()  # a valid half (say, the profile) must not be saved without the rest
            _apply_errors(form, Invalid("Some fields need attention.", problems))
        else:
            service.update_user(
                s, user, name=user.name, role=user.role, team=user.team, timezone=timezone
            )
            s.commit()
            cadence = _cadence_of(user)
            paused = " Suggestions are paused." if seller_profile.is_paused else ""
            flash(f"Your profile is saved: {cadence.sentence}.{paused}", "success")
            return redirect(url_for("accounts.profile"))
    return render_template(
        "accounts/profile.html",
        form=form,
        seller_profile=seller_profile,
        cadence=_cadence_of(user),
        zone=suggestions.seller_zone(user, current_app.config["DEFAULT_TIMEZONE"]).key,
        local_hour=current_app.config["SUGGEST_LOCAL_HOUR"],
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
    zone = suggestions.seller_zone(user, current_app.config["DEFAULT_TIMEZONE"])
    today = utcnow().astimezone(zone).date()
    return describe_cadence(profile.posts_per_week, list(profile.weekdays), today)


# --- admin: import sellers ---------------------------------------------------------------


def _credentials_csv(rows: list[service.SellerImportRow]) -> str:
    """Return the new sellers' sign-in details as a CSV data URL, made for this page only."""
    lines = [["email", "name", "password"], *([r.email, r.name, r.password] for r in rows)]
    text = sheets.csv_text(lines)
    encoded = base64.b64encode(text.encode("utf-8-sig")).decode("ascii")
    return f"data:text/csv;charset=utf-8;base64,{encoded}"


@bp.route("/admin/sellers/import", methods=["GET", "POST"])
@access.require_role(*ADMIN)
def sellers_import() -> ResponseReturnValue:
    """Create and update sellers from a CSV file; new sellers' passwords are shown once."""
    s = db.session()
    teams = service.list_teams(s)
    if request.method == "GET" and request.args.get("template"):
        selling = [t for t in teams if t.kind is TeamKind.BUSINESS_DEVELOPMENT] or list(teams)
        rows = service.seller_template_rows(selling[0].name if selling else "")
        return sheets.csv_download(rows, "contentfeed-sellers-template.csv")
    form = SellerImportForm()
    report = None
    ignored: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            sheet = service.read_sellers_csv(upload.read(), filename=upload.filename or "")
        except Invalid as exc:
            form.file.errors = [exc.fields.get("file", exc.message)]
        else:
            report = service.import_sellers(s, sheet.rows)
            ignored = sheet.ignored_columns
            s.commit()
    response = make_response(
        render_template(
            "accounts/sellers_import.html",
            form=form,
            report=report,
            ignored=ignored,
            credentials=_credentials_csv(report.created) if report and report.created else None,
            columns=service.SELLER_COLUMN_HELP,
            teams=teams,
            max_rows=service.SELLER_IMPORT_MAX_ROWS,
            today=utcnow().strftime("%Y-%m-%d"),
        ),
        422 if form.errors else 200,
    )
    if report is not None:  # the page holds passwords: keep it out of every cache
        response.headers["Cache-Control"] = "no-store"
    return response
