"""Bulk import (CSV and JSON, with progress and a per-row report) and CSV export of the library."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("content_import", __name__, url_prefix="/library")
