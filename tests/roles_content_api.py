"""Who may use the library's api routes (merged into MATRIX in test_roles.py).

The matrix's sample item belongs to a marketer and is in review, so routes that change an
item are STAFF here: contributors may change only their own drafts (tested elsewhere).
"""

from __future__ import annotations

from tests.roles import ALL, AUTHORS, PUBLIC, STAFF

CONTENT_API: dict[str, frozenset[object] | str] = {}

__all__ = ["ALL", "AUTHORS", "PUBLIC", "STAFF"]
