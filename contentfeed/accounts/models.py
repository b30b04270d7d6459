"""Accounts: users and their roles, teams, seller profiles, API tokens, login throttling."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contentfeed.db import Base, str_enum, utcnow
from contentfeed.i18n import _l


class Role(enum.StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    CONTRIBUTOR = "contributor"
    SELLER = "seller"
    REP = "rep"

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(ROLE_LABELS[self])

    @property
    def plural_label(self) -> str:
        """Return the name of everyone with the role ("Sellers"), in the request's language."""
        return str(ROLE_PLURAL_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Admin"),
    Role.MARKETER: _l("Marketer"),
    Role.CONTRIBUTOR: _l("Contributor"),
    Role.SELLER: _l("Seller"),
    Role.REP: _l("Sales rep"),
}
ROLE_PLURAL_LABELS = {
    Role.ADMIN: _l("Admins"),
    Role.MARKETER: _l("Marketers"),
    Role.CONTRIBUTOR: _l("Contributors"),
    Role.SELLER: _l("Sellers"),
    Role.REP: _l("Sales reps"),
}


class TeamKind(enum.StrEnum):
    BUSINESS_DEVELOPMENT = "business_development"
    CUSTOMER_DEVELOPMENT = "customer_development"
    KEY_ACCOUNTS = "key_accounts"
    DIGITAL_SALES = "digital_sales"
    EXECUTIVE = "executive"

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(TEAM_KIND_LABELS[self])


TEAM_KIND_LABELS = {
    TeamKind.BUSINESS_DEVELOPMENT: _l("Business development"),
    TeamKind.CUSTOMER_DEVELOPMENT: _l("Customer development"),
    TeamKind.KEY_ACCOUNTS: _l("Key accounts"),
    TeamKind.DIGITAL_SALES: _l("Digital sales"),
    TeamKind.EXECUTIVE: _l("Executive"),
}


class NotificationChannel(enum.StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    TEAMS = "teams"
    NONE = "none"

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(NOTIFICATION_CHANNEL_LABELS[self])


NOTIFICATION_CHANNEL_LABELS = {
    NotificationChannel.EMAIL: _l("Email digest"),
    NotificationChannel.SLACK: _l("Slack message"),
    NotificationChannel.TEAMS: _l("Microsoft Teams message"),
    NotificationChannel.NONE: _l("No notifications"),
}


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[TeamKind] = mapped_column(str_enum(TeamKind))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # SCIM provisioning (accounts/scim.py): the identity provider's id for the group, and when
    # it deleted the group (the team stays, for the content aimed at it; SCIM no longer sees it).
    scim_external_id: Mapped[str | None] = mapped_column(sa.String(255))
    scim_deleted_at: Mapped[datetime | None]

    members: Mapped[list[User]] = relationship(back_populates="team", order_by="User.name")


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255), default="")
    team_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("team.id", ondelete="SET NULL"), index=True
    )
    timezone: Mapped[str] = mapped_column(sa.String(64), default="")
    # The interface language the user chose in the header ("" = not chosen: see contentfeed.i18n).
    locale: Mapped[str] = mapped_column(sa.String(8), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Raised when the password is set through an emailed link: sign-ins from before (other
    # browsers' sessions and "keep me signed in" cookies) stop working.
    session_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    # SCIM provisioning (accounts/scim.py): the identity provider's userName (lower-cased, set
    # once it manages the user), its externalId, and when it deleted the user (the row and its
    # history stay; SCIM answers 404 for it until it creates the userName again).
    scim_user_name: Mapped[str | None] = mapped_column(sa.String(254), unique=True, index=True)
    scim_external_id: Mapped[str | None] = mapped_column(sa.String(255))
    scim_deleted_at: Mapped[datetime | None]

    team: Mapped[Team | None] = relationship(back_populates="members")
    seller_profile: Mapped[SellerProfile | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )
    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="ApiToken.user_id"
    )

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session: the user's id and, once raised,
        their session version ("12:1"), so a raised version ends the older sign-ins."""
        return f"{self.id}:{self.session_version}" if self.session_version else str(self.id)

    @property
    def first_name(self) -> str:
        """Return the first word of the name, for greetings and post templates."""
        return self.name.split()[0] if self.name.strip() else self.email.split("@")[0]

    @property
    def role_label(self) -> str:
        """Return the role's display name."""
        return Role(self.role).label

    @property
    def is_provisioned(self) -> bool:
        """Tell whether an identity provider manages this user through SCIM."""
        return self.scim_user_name is not None and self.scim_deleted_at is None

    @property
    def is_invited(self) -> bool:
        """Tell whether the user was added without a password and has not signed in yet."""
        return not self.password_hash and self.last_login_at is None


class SellerProfile(Base):
    __tablename__ = "seller_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    region: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    # The languages the seller posts in, the preferred first ("de", then "en").
    languages: Mapped[list[str]] = mapped_column(default=lambda: ["en"])
    topics: Mapped[list[str]] = mapped_column(default=list)
    posts_per_week: Mapped[int] = mapped_column(default=3)
    weekdays: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [0, 1, 2, 3, 4])
    linkedin_url: Mapped[str] = mapped_column(sa.String(300), default="")
    linkedin_connections: Mapped[int] = mapped_column(default=0)
    notification_channel: Mapped[NotificationChannel] = mapped_column(
        str_enum(NotificationChannel), default=NotificationChannel.EMAIL
    )
    notification_target: Mapped[str] = mapped_column(sa.String(500), default="")
    is_paused: Mapped[bool] = mapped_column(default=False)
    # How "Post on LinkedIn" opens LinkedIn for this seller: "prefill", "share-offsite", or
    # "" for the company's [suggestions] linkedin_composer.
    linkedin_composer: Mapped[str] = mapped_column(sa.String(16), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="seller_profile")

    @property
    def language(self) -> str:
        """Return the seller's first (preferred) language, "en" when none is listed."""
        return self.languages[0] if self.languages else "en"

    __table_args__ = (
        sa.CheckConstraint("posts_per_week BETWEEN 0 AND 21", name="posts_per_week_range"),
        sa.CheckConstraint("linkedin_connections >= 0", name="connections_not_negative"),
    )


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens", foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def is_usable(self, now: datetime) -> bool:
        """Tell whether the token may authenticate a request at this moment."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class LoginFailure(Base):
    """Failed sign-ins counted per key (a normalised email, a hashed client address)."""

    __tablename__ = "login_failure"

    key: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]


class LinkPurpose(enum.StrEnum):
    """What a sign-in link lets its holder do."""

    INVITE = "invite"  # set a first password (an invitation)
    RESET = "reset"  # set a new password (forgot password)
    FEED = "feed"  # open one's own feed from a digest, in a session limited to feed and profile


class SignInLink(Base):
    """A single-use, expiring link sent to a user by email: only the token's hash is kept.

    One row per link sent; using it (or sending a newer one for the same purpose) sets
    ``used_at``. Other purposes (a one-click link into a seller's feed) reuse the table."""

    __tablename__ = "sign_in_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime) -> bool:
        """Tell whether the link may still be used at this moment."""
        return self.used_at is None and self.expires_at > now
