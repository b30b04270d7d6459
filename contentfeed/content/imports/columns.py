"""The import's columns: their names, how the import page explains them, how a header is read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contentfeed.content import service
from contentfeed.sheets import csv_text

MAX_ROWS = 20_000
ROW_KEY = "_row"  # the row number people see, kept with each stored row
VARIANT_COLUMNS = tuple(f"variant_{n}" for n in range(1, service.MAX_VARIANTS + 1))
FIELD_COLUMNS: tuple[str, ...] = (
    "title",
    "url",
    "summary",
    "image_url",
    "kind",
    "campaign",
    "language",
    "topics",
    "target_teams",
    "target_regions",
    "target_languages",
    "priority",
    "starts_at",
    "expires_at",
)
COLUMNS: tuple[str, ...] = (*FIELD_COLUMNS, *VARIANT_COLUMNS[:3])
KNOWN_COLUMNS = frozenset(COLUMNS) | frozenset(VARIANT_COLUMNS)
EXPORT_ONLY_COLUMNS = ("id", "status", "created_at", "approved_at")
CAMPAIGN_NAME_MAX = 160
EXPORT_BATCH = 500


@dataclass(frozen=True)
class ColumnHelp:
    """One import column as the import page explains it."""

    name: str
    required: bool
    text: str


COLUMN_HELP: tuple[ColumnHelp, ...] = (
    ColumnHelp("title", True, "The headline sellers and their network see."),
    ColumnHelp("url", True, "The full web address, starting with https:// or http://."),
    ColumnHelp("summary", False, "One or two sentences about the content."),
    ColumnHelp("image_url", False, "Address of the preview image."),
    ColumnHelp(
        "kind",
        False,
        "article (the default), case_study, whitepaper, video, event or product_news; "
        "“Case study” and the like work too.",
    ),
    ColumnHelp("campaign", False, "Campaign name; a campaign that doesn't exist yet is created."),
    ColumnHelp("language", False, "Language code of the content, such as en or de (default en)."),
    ColumnHelp("topics", False, "Separated by ; or , — “cloud; security”."),
    ColumnHelp("target_teams", False, "Team names, separated by ; — each must exist."),
    ColumnHelp("target_regions", False, "Seller regions, separated by ; — empty means all."),
    ColumnHelp("target_languages", False, "Seller language codes, separated by ; or ,."),
    ColumnHelp("priority", False, "1 (low) to 5 (high); 3 when empty."),
    ColumnHelp(
        "starts_at",
        False,
        "When sellers may start sharing: 2026-12-01 or 2026-12-01T09:00. Without an offset "
        "the time is in your time zone.",
    ),
    ColumnHelp("expires_at", False, "When it stops being suggested; same format as starts_at."),
    ColumnHelp(
        "variant_1 … variant_3",
        False,
        "Post texts with placeholders such as {{ seller.first_name }} and {{ link }}; "
        f"up to variant_{service.MAX_VARIANTS} if you need more.",
    ),
)


def csv_line(values: Sequence[Any]) -> str:
    return csv_text([values])
