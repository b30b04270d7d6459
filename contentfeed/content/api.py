"""Library API under /api/v1: content items, workflow actions, variants, campaigns."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("content_api", __name__, url_prefix="/api/v1")
