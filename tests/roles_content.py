"""Who may use the library's routes.

The matrix's sample item belongs to a marketer and is in review, so routes that change an
item are STAFF here: contributors may change only their own drafts (tested in the content
tests); at the role level they are let through.
"""

from __future__ import annotations

from tests.roles import ALL, AUTHORS, PUBLIC, STAFF

CONTENT_UI: dict[str, frozenset[object] | str] = {
    "content.file": PUBLIC,
}

CONTENT_IMPORT: dict[str, frozenset[object] | str] = {}

CONTENT_API: dict[str, frozenset[object] | str] = {}

__all__ = ["ALL", "AUTHORS", "CONTENT_API", "CONTENT_IMPORT", "CONTENT_UI", "STAFF"]
