"""Leads API under /api/v1: the lead webhook, and leads with their attribution."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("leads_api", __name__, url_prefix="/api/v1")
