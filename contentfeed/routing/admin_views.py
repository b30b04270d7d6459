"""Admin pages for routing: rules (order, dry run), queues and their reps, customer
accounts (with CSV import) and the CRM outbox."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("routing_admin", __name__)
