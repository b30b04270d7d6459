"""Report settings an admin changes in the app (not in config.toml)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contentfeed.db import Base, str_enum, utcnow


class LeaderboardMode(enum.StrEnum):
    """Whether sellers see the leaderboard, and with whose names."""

    ON = "on"  # names shown
    ANONYMOUS = "anonymous"  # ranks and figures; each seller sees only their own name
    OFF = "off"  # no leaderboard for sellers (admins and marketers still see the figures)

    @property
    def label(self) -> str:
        """Return the name people see."""
        return {"on": "On, with names", "anonymous": "Anonymous", "off": "Off"}[self.value]


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
