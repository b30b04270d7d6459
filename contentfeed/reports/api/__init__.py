"""Reports API under /api/v1/reports: every report's figures as JSON.

The same query functions as the report pages (reports/content.py, people.py, sales.py and
customers.py), so the API and the pages cannot disagree. Periods are whole days in the token
user's time zone (``from`` and ``to``, both included; the last 30 days by default). Marketers
and admins see every report; reps the sales view and the customer report; a seller only their
own seller report (another seller's answers 404, as if it did not exist).
"""

from contentfeed.reports.api import customers, dashboards, sales, sellers
from contentfeed.reports.api.common import bp

__all__ = ["bp", "customers", "dashboards", "sales", "sellers"]
