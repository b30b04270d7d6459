"""Who may use the library's ui routes (merged into MATRIX in test_roles.py).

The matrix's sample item belongs to a marketer and is in review, so routes that change an
item are STAFF here: contributors may change only their own drafts (tested elsewhere).
"""

from __future__ import annotations

from tests.roles import ALL, AUTHORS, PUBLIC, STAFF

CONTENT_UI: dict[str, frozenset[object] | str] = {
    "content.file": PUBLIC,
    "content.library": AUTHORS,
    "content.new": AUTHORS,
    "content.prefill": AUTHORS,
    "content.detail": AUTHORS,
    "content.preview": AUTHORS,
    "content.edit": STAFF,
    "content.preflight_check": STAFF,
    "content.workflow": STAFF,
    "content.review_change": STAFF,
    "content.variant_new": STAFF,
    "content.variant_edit": STAFF,
    "content.variant_delete": STAFF,
    "content.campaigns": STAFF,
    "content.campaign_edit": STAFF,
}

__all__ = ["ALL", "AUTHORS", "PUBLIC", "STAFF"]
