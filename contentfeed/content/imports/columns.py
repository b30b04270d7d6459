"""The import's columns: their names, how the import page explains them, how a header is read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contentfeed.content import service
from contentfeed.i18n import _l, current_locale
from contentfeed.sheets import csv_text

MAX_ROWS = 20_000
ROW_KEY = "_row"  # the row number people see, kept with each stored row
VARIANT_COLUMNS = tuple(f"variant_{n}" for n in range(1, service.MAX_VARIANTS + 1))
# A variant's own language; empty: the row's language. One of them must say it.
VARIANT_LANGUAGE_COLUMNS = tuple(f"{column}_language" for column in VARIANT_COLUMNS)
# A variant's first comment (a template like the variant; empty: none).
VARIANT_COMMENT_COLUMNS = tuple(f"{column}_comment" for column in VARIANT_COLUMNS)
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
    "audience",
    "priority",
    "starts_at",
    "expires_at",
)
COLUMNS: tuple[str, ...] = (*FIELD_COLUMNS, *VARIANT_COLUMNS[:3])
KNOWN_COLUMNS = (
    frozenset(COLUMNS)
    | frozenset(VARIANT_COLUMNS)
    | frozenset(VARIANT_LANGUAGE_COLUMNS)
    | frozenset(VARIANT_COMMENT_COLUMNS)
)
EXPORT_ONLY_COLUMNS = ("id", "status", "created_at", "approved_at")
CAMPAIGN_NAME_MAX = 160
EXPORT_BATCH = 500


# The columns' German names. The template a German-speaking author downloads is headed with
# the first; an upload may name a column by any of them (case, spaces and punctuation don't
# count), as well as by its English key. ("Link" is not one: a file with "name, link" columns
# is refused for lacking title and url, not half read.)
GERMAN_HEADERS: dict[str, tuple[str, ...]] = {
    "title": ("Titel", "Überschrift"),
    "url": ("URL", "Webadresse", "Adresse", "Internetadresse"),
    "summary": ("Beschreibung", "Zusammenfassung"),
    "image_url": ("Bild-URL", "Bild", "Bildadresse"),
    "kind": ("Art", "Typ", "Inhaltsart"),
    "campaign": ("Kampagne",),
    "language": ("Sprache",),
    "topics": ("Themen",),
    "target_teams": ("Teams", "Zielteams"),
    "target_regions": ("Regionen", "Zielregionen"),
    "audience": ("Zielgruppe", "Publikum"),
    "priority": ("Priorität", "Prioritaet"),
    "starts_at": ("Start", "Beginn", "Veröffentlichen ab"),
    "expires_at": ("Ablauf", "Ablaufdatum", "Ende", "Läuft ab"),
    **{column: (f"Variante {n}",) for n, column in enumerate(VARIANT_COLUMNS, start=1)},
    **{
        column: (f"Variante {n} Sprache", f"Sprache Variante {n}")
        for n, column in enumerate(VARIANT_LANGUAGE_COLUMNS, start=1)
    },
    **{
        column: (f"Variante {n} Kommentar", f"Erster Kommentar Variante {n}")
        for n, column in enumerate(VARIANT_COMMENT_COLUMNS, start=1)
    },
}
# What sheets.column_key maps to a column's key.
HEADER_ALIASES: dict[str, str] = {
    name: column for column, names in GERMAN_HEADERS.items() for name in names
}


def header_names(columns: Sequence[str] = COLUMNS) -> list[str]:
    """Return the columns' names for a file people fill in, in the language being spoken."""
    if current_locale() == "de":
        return [GERMAN_HEADERS.get(column, (column,))[0] for column in columns]
    return list(columns)


@dataclass(frozen=True)
class ColumnHelp:
    """One import column as the import page explains it (``text`` is a lazy text)."""

    name: str
    required: bool
    text: Any

    @property
    def german_name(self) -> str:
        """Return the column's German name (for "variant_1 … variant_3", the range)."""
        if self.name in GERMAN_HEADERS:
            return GERMAN_HEADERS[self.name][0]
        if self.name.startswith("variant_1_comment"):
            return "Variante 1 Kommentar …"
        return "Variante 1 … Variante 3"


COLUMN_HELP: tuple[ColumnHelp, ...] = (
    ColumnHelp("title", True, _l("The headline sellers and their network see.")),
    ColumnHelp("url", True, _l("The full web address, starting with https:// or http://.")),
    ColumnHelp("summary", False, _l("One or two sentences about the content.")),
    ColumnHelp("image_url", False, _l("Address of the preview image.")),
    ColumnHelp(
        "kind",
        False,
        _l(
            "article (the default), case_study, whitepaper, video, event or product_news; "
            "“Case study” and the like work too."
        ),
    ),
    ColumnHelp(
        "campaign", False, _l("Campaign name; a campaign that doesn't exist yet is created.")
    ),
    ColumnHelp(
        "language",
        False,
        _l(
            "Language code of the title and summary, such as en or de; also the language of "
            "the variants that don't name their own (variant_1_language …). Every variant "
            "needs one of the two."
        ),
    ),
    ColumnHelp("topics", False, _l("Separated by ; or , — “cloud; security”.")),
    ColumnHelp("target_teams", False, _l("Team names, separated by ; — each must exist.")),
    ColumnHelp("target_regions", False, _l("Seller regions, separated by ; — empty means all.")),
    ColumnHelp(
        "audience",
        False,
        _l(
            "prospects, customers or both (the default when empty): customer development's "
            "sellers are suggested items for customers, every other seller items for "
            "prospects. “For customers”, “Kunden” and the like work too."
        ),
    ),
    ColumnHelp("priority", False, _l("1 (low) to 5 (high); 3 when empty.")),
    ColumnHelp(
        "starts_at",
        False,
        _l(
            "When sellers may start sharing: 2026-12-01 or 2026-12-01T09:00. Without an offset "
            "the time is in your time zone."
        ),
    ),
    ColumnHelp("expires_at", False, _l("When it stops being suggested; same format as starts_at.")),
    ColumnHelp(
        "variant_1 … variant_3",
        False,
        _l(
            "Post texts with placeholders such as %(first_name)s and %(link)s; up to "
            "variant_%(max)s if you need more.",
            first_name="{{ seller.first_name }}",
            link="{{ link }}",
            max=service.MAX_VARIANTS,
        ),
    ),
    ColumnHelp(
        "variant_1_comment …",
        False,
        _l(
            "A variant's first comment, posted by the seller under the post (often just "
            "%(link)s, then the post text carries no link); %(link)s goes in one of the two.",
            link="{{ link }}",
        ),
    ),
)


def csv_line(values: Sequence[Any]) -> str:
    return csv_text([values])
