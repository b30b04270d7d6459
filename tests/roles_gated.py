"""Who may use the gated-content and personal-data routes (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from tests.roles import ADMIN, PUBLIC, STAFF

GATED: dict[str, frozenset[object] | str] = {
    # The public download form of a gated item (404 unless the item is gated and live).
    "gated.page": PUBLIC,
    # Its thank-you page, the signed download and the double opt-in link (signed tokens).
    "gated.thanks": PUBLIC,
    "gated.download": PUBLIC,
    "gated.confirm": PUBLIC,
    "gated.toggle": STAFF,
    "gated.privacy": ADMIN,
}
