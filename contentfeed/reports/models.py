"""Report settings an admin changes in the app (not in config.toml), and click rollups."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contentfeed.db import Base, str_enum, utcnow
from contentfeed.i18n import _l


class LeaderboardMode(enum.StrEnum):
    """Whether sellers see the leaderboard, and with whose names."""

    ON = "on"  # names shown
    ANONYMOUS = "anonymous"  # ranks and figures; each seller sees only their own name
    OFF = "off"  # no leaderboard for sellers (admins and marketers still see the figures)

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(LEADERBOARD_LABELS[self.value])


LEADERBOARD_LABELS = {"on": _l("On, with names"), "anonymous": _l("Anonymous"), "off": _l("Off")}


class ReportSettings(Base):
    """One row: how reports are shown. Missing means the defaults."""

    __tablename__ = "report_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    leaderboard: Mapped[LeaderboardMode] = mapped_column(
        str_enum(LeaderboardMode), default=LeaderboardMode.ON
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )


class DailyClicks(Base):
    """Human clicks per UTC day on one seller's post of one content item (a rollup of click).

    (seller, content) is unique among suggestions, so a row is one post's clicks on one day.
    Kept current by the ``reports.roll_up_clicks`` job; reports read it only for days up to
    the watermark (``RollupWatermark``) and count raw clicks for the rest.
    """

    __tablename__ = "daily_clicks"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    content_id: Mapped[int] = mapped_column(sa.ForeignKey("content.id", ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    clicks: Mapped[int]

    __table_args__ = (sa.UniqueConstraint("day", "content_id", "seller_id"),)


class RollupWatermark(Base):
    """How far a rollup is final: every UTC day up to ``through`` is complete in its table."""

    __tablename__ = "rollup_watermark"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    through: Mapped[date] = mapped_column(sa.Date)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HourlyClicks(Base):
    """Human clicks per UTC hour on one content item: what a viewer-zone daily series sums
    (a viewer's day is whole UTC hours in every zone with a whole-hour offset)."""

    __tablename__ = "hourly_clicks"

    id: Mapped[int] = mapped_column(primary_key=True)
    hour: Mapped[datetime]
    content_id: Mapped[int] = mapped_column(
        sa.ForeignKey("content.id", ondelete="CASCADE"), index=True
    )
    clicks: Mapped[int]

    __table_args__ = (sa.UniqueConstraint("hour", "content_id"),)
