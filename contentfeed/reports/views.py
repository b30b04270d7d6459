"""Marketer dashboard pages: content, campaigns, topics and kinds, with charts and CSV."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)
