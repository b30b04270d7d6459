"""Admin pages for routing: rules (order, dry run), queues and their reps, customer
accounts (with CSV import) and the CRM outbox."""

from flask import Blueprint

bp = Blueprint("routing_admin", __name__)

# The page modules add their routes to bp, so they are imported after it exists.
# isort: off
from contentfeed.routing.admin_views import rules  # noqa: E402
from contentfeed.routing.admin_views import queues  # noqa: E402
from contentfeed.routing.admin_views import accounts  # noqa: E402
from contentfeed.routing.admin_views import outbox  # noqa: E402
# isort: on

__all__ = ["accounts", "bp", "outbox", "queues", "rules"]
