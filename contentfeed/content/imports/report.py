"""A batch's report: what became of each row, on the page and as CSV."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.content.imports.columns import (
    csv_line,
)
from contentfeed.content.models import Content, ImportBatch
from contentfeed.sheets import RowReport


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row."""

    row: int
    title: str
    url: str
    reasons: list[str]
    content_id: int | None = None

    @property
    def is_imported(self) -> bool:
        """Tell whether the row became a library item."""
        return self.content_id is not None

    @property
    def report(self) -> RowReport:
        """Say it as every import reports a row: its number, accepted or not, and why."""
        return RowReport(self.row, self.is_imported, "; ".join(self.reasons))

    @property
    def text(self) -> str:
        """Describe a refused row in words: 'row 7: url — …; target_teams — …'."""
        return self.report.text


@dataclass(frozen=True)
class Report:
    """A batch's report: columns left out, rows refused, rows imported."""

    ignored_columns: list[str]
    refused: list[RowOutcome]
    imported: list[RowOutcome]


def report_of(batch: ImportBatch) -> Report:
    """Read a batch's report."""
    ignored: list[str] = []
    refused: list[RowOutcome] = []
    imported: list[RowOutcome] = []
    for entry in batch.report:
        if "ignored_columns" in entry:
            ignored = list(entry["ignored_columns"])
            continue
        outcome = RowOutcome(
            row=int(entry.get("row", 0)),
            title=str(entry.get("title", "")),
            url=str(entry.get("url", "")),
            reasons=list(entry.get("reasons", [])),
            content_id=entry.get("id"),
        )
        (imported if outcome.is_imported else refused).append(outcome)
    return Report(ignored_columns=ignored, refused=refused, imported=imported)


def imported_titles(s: Session, outcomes: Sequence[RowOutcome]) -> dict[int, str]:
    """Return the current titles of imported items (an item deleted since is left out)."""
    ids = [o.content_id for o in outcomes if o.content_id is not None]
    if not ids:
        return {}
    return dict(s.execute(sa.select(Content.id, Content.title).where(Content.id.in_(ids))).all())


def report_csv(
    s: Session, batch: ImportBatch, item_url: Callable[[int], str] | None = None
) -> Iterator[str]:
    """Yield the report as CSV: one line per row with its outcome and reasons."""
    report = report_of(batch)
    titles = imported_titles(s, report.imported)
    yield "\ufeff" + csv_line(["row", "outcome", "title", "url", "reasons", "item"])
    outcomes = sorted([*report.refused, *report.imported], key=lambda o: o.row)
    for outcome in outcomes:
        if outcome.content_id is not None:
            link = item_url(outcome.content_id) if item_url else str(outcome.content_id)
            title = titles.get(outcome.content_id, "(deleted since)")
            yield csv_line([outcome.row, "imported", title, "", "", link])
        else:
            yield csv_line(
                [outcome.row, "refused", outcome.title, outcome.url, "; ".join(outcome.reasons), ""]
            )
