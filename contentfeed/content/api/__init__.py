"""Library API under /api/v1: content items, workflow actions, variants, campaigns.

One blueprint; each module adds one resource's routes, with its schemas beside them.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("content_api", __name__, url_prefix="/api/v1")

# The route modules register on ``bp`` as they are imported, in the order of the document.
from contentfeed.content.api import (  # noqa: E402
    campaigns,
    clicks,
    common,
    items,
    variants,
    workflow,
)

__all__ = ["bp", "campaigns", "clicks", "common", "items", "variants", "workflow"]
