"""Checking one row: every field read and every reason to refuse it collected."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session

from contentfeed import sheets
from contentfeed.accounts.models import User
from contentfeed.content import service
from contentfeed.content.imports.columns import (
    CAMPAIGN_NAME_MAX,
    FIELD_COLUMNS,
    VARIANT_COLUMNS,
    VARIANT_COMMENT_COLUMNS,
    VARIANT_LANGUAGE_COLUMNS,
)
from contentfeed.content.models import Audience, Content, ContentKind
from contentfeed.content.templating import TemplateRefused, blocked_word_in
from contentfeed.i18n import _, number_text


def about(column: str, problem: str) -> str:
    """Say a row's problem with one column: "url — missing: …" (the report splits on " — ")."""
    return f"{column} — {problem}"


class RowRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class Chunk:
    """What processing one chunk needs to know and remembers between its rows."""

    s: Session
    actor: User
    rules: service.Compliance
    zone: ZoneInfo
    teams: dict[str, int]
    team_names: list[str]
    titles_by_url: dict[str, str]


def read_row(
    chunk: Chunk, row: Mapping[str, Any]
) -> tuple[service.ContentData, str, list[tuple[str, str, str, str]]]:
    """Check every field of a row, collecting every reason to refuse it."""
    reasons: list[str] = []
    fields: dict[str, Any] = {}

    def text(column: str) -> str:
        value = row.get(column)
        if value is None or isinstance(value, str):
            return (value or "").strip()
        if isinstance(value, bool) or not isinstance(value, int | float):
            reasons.append(about(column, _("must be text")))
            return ""
        return str(value)

    title, url = text("title"), text("url")
    if not title:
        reasons.append(about("title", _("missing: every row needs a title")))
    if not url:
        reasons.append(about("url", _("missing: every row needs the web address of the content")))
    fields.update(title=title, url=url, summary=text("summary"), image_url=text("image_url"))
    kind_text = text("kind")
    if kind_text:
        kind = _kind(kind_text)
        if kind is None:
            names = ", ".join(k.label.lower() for k in ContentKind)
            reasons.append(
                about(
                    "kind",
                    _(
                        "“%(kind)s” isn't a kind; use one of: %(names)s",
                        kind=kind_text,
                        names=names,
                    ),
                )
            )
        else:
            fields["kind"] = kind
    campaign = text("campaign")
    if len(campaign) > CAMPAIGN_NAME_MAX:
        reasons.append(
            about(
                "campaign",
                _("the name is too long: at most %(max)s characters", max=CAMPAIGN_NAME_MAX),
            )
        )
    row_language = text("language")
    fields["language"] = row_language or "en"
    for column in ("topics", "target_regions"):
        values = _list(row.get(column))
        if values is None:
            reasons.append(about(column, _("must be text such as “a; b” or a list of texts")))
        else:
            fields[column] = values
    fields["target_team_ids"] = _team_ids(chunk, row.get("target_teams"), reasons)
    audience_text = text("audience")
    if audience_text:
        audience = _audience(audience_text)
        if audience is None:
            reasons.append(
                about(
                    "audience",
                    _(
                        "“%(value)s” isn't an audience; use prospects, customers or both",
                        value=audience_text,
                    ),
                )
            )
        else:
            fields["audience"] = audience
    priority = _priority(row.get("priority"))
    if priority is None:
        reasons.append(
            about(
                "priority",
                _("“%(value)s” isn't a whole number from 1 to 5", value=row.get("priority")),
            )
        )
    else:
        fields["priority"] = priority
    for column in ("starts_at", "expires_at"):
        raw = text(column)
        if raw:
            moment = _moment(raw, chunk.zone)
            if moment is None:
                reasons.append(
                    about(
                        column,
                        _(
                            "“%(value)s” isn't a date; write it as 2026-12-01 or 2026-12-01T09:00",
                            value=raw,
                        ),
                    )
                )
            else:
                fields[column] = moment
    data = service.ContentData()
    try:
        data = service.ContentData.model_validate(fields)
    except ValidationError as exc:
        reasons.extend(_validation_reasons(exc, {r.split(" — ", 1)[0] for r in reasons}))
    if url and url in chunk.titles_by_url:
        reasons.append(
            about(
                "url",
                _(
                    "duplicate: “%(title)s” already has this address",
                    title=chunk.titles_by_url[url],
                ),
            )
        )
    variants = []
    sample = Content(title=title, summary=fields["summary"], url=url)
    for column, language_column, comment_column in zip(
        VARIANT_COLUMNS, VARIANT_LANGUAGE_COLUMNS, VARIANT_COMMENT_COLUMNS, strict=True
    ):
        body = text(column)
        comment = text(comment_column)
        if not body:
            if comment:
                reasons.append(about(comment_column, _("a first comment needs its variant")))
            continue
        language = text(language_column) or row_language
        if not language:
            reasons.append(
                about(
                    column,
                    _(
                        "which language is it in? Fill in %(column)s or the row's language",
                        column=language_column,
                    ),
                )
            )
        else:
            try:
                language = service.checked_language(language)
            except ValueError:
                reasons.append(about(language_column, _("use a language code such as en or de")))
        variants.append((column, body, language, comment))
        try:
            service.check_body(sample, body, chunk.rules, first_comment=comment)
        except TemplateRefused as exc:
            if "first_comment" in exc.fields:
                reasons.append(about(comment_column, exc.message))
            else:
                reasons.append(variant_reason(column, body, exc, chunk.rules))
    if reasons:
        raise RowRefused(sorted(reasons, key=_column_order))
    return data, campaign, variants


_ORDER = {
    name: index
    for index, name in enumerate(
        (
            *FIELD_COLUMNS,
            *(
                c
                for pair in zip(
                    VARIANT_COLUMNS, VARIANT_LANGUAGE_COLUMNS, VARIANT_COMMENT_COLUMNS, strict=True
                )
                for c in pair
            ),
        )
    )
}


def _column_order(reason: str) -> int:
    """Sort a row's reasons in the order of the columns they are about."""
    return _ORDER.get(reason.split(" — ", 1)[0], len(_ORDER))


def variant_reason(column: str, body: str, exc: TemplateRefused, rules: service.Compliance) -> str:
    message = exc.message
    line = exc.line
    if line is None:
        # Blocked words are found in the whole text; point at the line that holds one.
        for number, text in enumerate(body.splitlines(), start=1):
            if blocked_word_in(text, rules.blocked_words):
                line = number
                message = _("Line %(line)s: %(problem)s", line=line, problem=message)
                break
    if message.startswith("Line "):  # mid-sentence in English: "variant_1 — line 2: …"
        message = "line " + message.removeprefix("Line ")
    return about(column, message)


def _kind_key(value: str) -> str:
    """Normalise a kind as typed: 'Case study' and 'case-study' both mean case_study."""
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def _kind(value: str) -> ContentKind | None:
    key = _kind_key(value)
    for kind in ContentKind:
        if key in (kind.value, _kind_key(kind.label)):
            return kind
    return None


# What an audience cell may say, in English or German, besides the labels the pages use.
_AUDIENCE_WORDS = {
    Audience.PROSPECTS: ("prospects", "prospect", "interessenten", "interessent", "neukunden"),
    Audience.CUSTOMERS: ("customers", "customer", "kunden", "kunde", "bestandskunden"),
    Audience.BOTH: (
        "both",
        "beide",
        "alle",
        "prospects and customers",
        "prospects_and_customers",
        "interessenten und kunden",
    ),
}


def _audience(value: str) -> Audience | None:
    """Read an audience as typed: "customers", "For customers", "Kunden", "Für Kunden"."""
    key = _kind_key(value)
    for prefix in ("for_", "für_", "fuer_"):
        key = key.removeprefix(prefix)
    for audience, words in _AUDIENCE_WORDS.items():
        if key in {_kind_key(w) for w in (*words, audience.label)}:
            return audience
    return None


def _list(value: Any) -> list[str] | None:
    if value is None or isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value or "") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    return None


def _names(value: Any) -> list[str] | None:
    """Split team names on ';' (or on ',' when there is no ';'), keeping 'Sales, North' whole."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if not isinstance(value, str):
        return None if value is not None else []
    separator = ";" if ";" in value else ","
    return [part.strip() for part in value.split(separator) if part.strip()]


def _team_ids(chunk: Chunk, value: Any, reasons: list[str]) -> list[int]:
    if isinstance(value, str) and value.strip().lower() in chunk.teams:
        return [chunk.teams[value.strip().lower()]]
    names = _names(value)
    if names is None:
        reasons.append(about("target_teams", _("must be team names separated by ;")))
        return []
    unknown = [name for name in names if name.lower() not in chunk.teams]
    if unknown:
        which = _(" or ").join(f"“{name}”" for name in unknown)
        known = chunk.team_names
        if 0 < len(known) <= 8:
            problem = _(
                "no team called %(names)s (teams: %(known)s)", names=which, known=", ".join(known)
            )
        else:
            problem = _("no team called %(names)s", names=which)
        reasons.append(about("target_teams", problem))
    return sorted({chunk.teams[name.lower()] for name in names if name.lower() in chunk.teams})


def _priority(value: Any) -> int | None:
    if value is None or value == "":
        return 3
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and (whole := sheets.parse_whole_number(value)) is not None:
        number = whole  # 3, 3.0 and the German 3,0
    else:
        return None
    return number if 1 <= number <= 5 else None


def _moment(value: str, zone: ZoneInfo) -> datetime | None:
    """Read an ISO 8601 or German date or date-time (2026-12-31, 31.12.2026 14:30); a date
    or a time without offset is in `zone` (sheets.parse_moment)."""
    return sheets.parse_moment(value, zone)


_FIELD_COLUMNS = {"target_team_ids": "target_teams", "campaign_id": "campaign"}


def _validation_reasons(exc: ValidationError, already: set[str]) -> list[str]:
    reasons = []
    for error in exc.errors():
        column = (
            _FIELD_COLUMNS.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else ""
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        context = error.get("ctx") or {}
        if error["type"] == "string_too_long":
            message = _(
                "is too long: at most %(max)s characters",
                max=number_text(context.get("max_length", 0)),
            )
        elif error["type"] == "too_long":
            message = _("has too many entries: at most %(max)s", max=context.get("max_length", 0))
        elif column == "language":
            message = _("use a language code such as en or de")
        if not column and message.startswith("expires_at "):
            column, message = "expires_at", message.removeprefix("expires_at ")
        if column in already:
            continue
        reasons.append(about(column, message) if column else message)
    return reasons
