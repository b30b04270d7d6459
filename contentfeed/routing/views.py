"""The rep's pages: the queue (/queue) and the lead actions (claim, release, status, notes)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("routing", __name__)
