"""Who may use the library's import routes (merged into MATRIX in test_roles.py).

The matrix's sample item belongs to a marketer and is in review, so routes that change an
item are STAFF here: contributors may change only their own drafts (tested elsewhere).
"""

from __future__ import annotations

from tests.roles import ALL, AUTHORS, PUBLIC, STAFF

# Batches open to their creator and to staff; the matrix's batch has no creator, so a
# contributor gets 404 there, which the matrix counts as allowed.
CONTENT_IMPORT: dict[str, frozenset[object] | str] = {
    "content_import.start": AUTHORS,
    "content_import.batch": AUTHORS,
    "content_import.step": AUTHORS,
    "content_import.template": AUTHORS,
    "content_import.export": AUTHORS,
}

__all__ = ["ALL", "AUTHORS", "PUBLIC", "STAFF"]
