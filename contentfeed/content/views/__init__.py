"""Library pages: the list, the item page with variants and preview, forms, campaigns, files.

One blueprint; each module adds the routes of one page group to it.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("content", __name__)

# The route modules register on ``bp`` as they are imported.
from contentfeed.content.views import (  # noqa: E402
    campaigns,
    common,
    detail,
    files,
    items,
    library,
    preflight,
)

__all__ = ["bp", "campaigns", "common", "detail", "files", "items", "library", "preflight"]
