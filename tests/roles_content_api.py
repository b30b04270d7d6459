"""Who may use the library's api routes (merged into MATRIX in test_roles.py).

The matrix's sample item belongs to a marketer and is in review, so routes that change an
item are STAFF here: contributors may change only their own drafts (tested elsewhere).
"""

from __future__ import annotations

from tests.roles import ALL, AUTHORS, PUBLIC, STAFF

CONTENT_API: dict[str, frozenset[object] | str] = {
    "content_api.list_content": ALL,
    "content_api.create_content": AUTHORS,
    "content_api.get_content": ALL,
    "content_api.update_content": STAFF,
    "content_api.submit": STAFF,
    "content_api.approve": STAFF,
    "content_api.send_back": STAFF,
    "content_api.archive": STAFF,
    "content_api.check_preflight": STAFF,
    "content_api.approve_change": STAFF,
    "content_api.reject_change": STAFF,
    "content_api.list_variants": ALL,
    "content_api.content_clicks": AUTHORS,
    "content_api.create_variant": STAFF,
    "content_api.update_variant": STAFF,
    "content_api.delete_variant": STAFF,
    "content_api.list_campaigns": ALL,
    "content_api.create_campaign": STAFF,
}

__all__ = ["ALL", "AUTHORS", "PUBLIC", "STAFF"]
