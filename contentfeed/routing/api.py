"""Routing API under /api/v1: queues, claiming, lead status, rules, accounts, dry run, outbox."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("routing_api", __name__, url_prefix="/api/v1")
