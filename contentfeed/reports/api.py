"""Reports API under /api/v1/reports: every report's figures as JSON."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")
