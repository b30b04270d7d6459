"""Report pages about people: the sellers' leaderboard, a seller's page, the sales view."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports_people", __name__)
