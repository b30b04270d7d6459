"""Routing API under /api/v1: queues, claiming, lead status, rules, accounts, dry run, outbox.

Reps (and admins) work their queues and leads; admins manage rules, queue settings, customer
accounts and the CRM outbox. A lead or queue outside the caller's queues answers 404, as the
routing service does, so its existence is not given away.
"""

from flask import Blueprint

bp = Blueprint("routing_api", __name__, url_prefix="/api/v1")

# The resource modules add their routes to bp, so they are imported after it exists (the
# OpenAPI document sorts the paths itself).
# isort: off
from contentfeed.routing.api import queues  # noqa: E402
from contentfeed.routing.api import leads  # noqa: E402
from contentfeed.routing.api import rules  # noqa: E402
from contentfeed.routing.api import accounts  # noqa: E402
from contentfeed.routing.api import queue_settings  # noqa: E402
from contentfeed.routing.api import outbox  # noqa: E402
from contentfeed.routing.api import cards  # noqa: E402
# isort: on

__all__ = ["accounts", "bp", "cards", "leads", "outbox", "queue_settings", "queues", "rules"]
