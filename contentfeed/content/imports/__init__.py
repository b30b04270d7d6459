"""Bulk import of library items from CSV or JSON, a chunk at a time, and export back to CSV.

An upload is parsed at once into row dicts kept in an ImportBatch; each step then processes
the next chunk of rows, every row in its own SAVEPOINT, and advances the batch in the same
transaction, so a step sent twice never processes a row twice. Never commits; the caller
commits once.
"""

from __future__ import annotations

from contentfeed.content.imports.batches import (
    Progress,
    author_of,
    can_open,
    get_batch,
    process_next_chunk,
    progress_of,
    recent_batches,
    start_import,
)
from contentfeed.content.imports.columns import (
    COLUMN_HELP,
    COLUMNS,
    FIELD_COLUMNS,
    KNOWN_COLUMNS,
    MAX_ROWS,
    VARIANT_COLUMNS,
    ColumnHelp,
)
from contentfeed.content.imports.export import (
    export_csv,
    streamed,
    template_csv,
    template_json,
    template_rows,
)
from contentfeed.content.imports.reading import ParsedFile, parse_upload
from contentfeed.content.imports.report import (
    Report,
    RowOutcome,
    imported_titles,
    report_csv,
    report_of,
)

__all__ = [
    "COLUMNS",
    "COLUMN_HELP",
    "FIELD_COLUMNS",
    "KNOWN_COLUMNS",
    "MAX_ROWS",
    "VARIANT_COLUMNS",
    "ColumnHelp",
    "ParsedFile",
    "Progress",
    "Report",
    "RowOutcome",
    "author_of",
    "can_open",
    "export_csv",
    "get_batch",
    "imported_titles",
    "parse_upload",
    "process_next_chunk",
    "progress_of",
    "recent_batches",
    "report_csv",
    "report_of",
    "start_import",
    "streamed",
    "template_csv",
    "template_json",
    "template_rows",
]
