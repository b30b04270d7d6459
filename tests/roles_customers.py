"""Who may use customer development's pages and API (merged into MATRIX in test_roles.py).

Reps and admins reach the customer pages; which accounts a rep sees is a row-level rule
(customer development's queue, or the account's owner), answered 404 otherwise and tested in
test_customer_plans.py, which the matrix counts as let through.
"""

from __future__ import annotations

from contentfeed.accounts.models import Role

WORKERS = frozenset({Role.ADMIN, Role.REP})

_PAGES = [
    "index",
    "account",
    "contract_add",
    "contract_edit",
    "contract_end",
    "contract_delete",
    "goal_add",
    "goal_edit",
    "goal_delete",
    "step_add",
    "step_edit",
    "step_done",
    "step_delete",
]
_API = [
    "list_customers",
    "get_customer",
    "create_contract",
    "update_contract",
    "delete_contract",
    "create_goal",
    "update_goal",
    "delete_goal",
    "create_step",
    "update_step",
    "delete_step",
]

CUSTOMERS: dict[str, frozenset[Role] | str] = {
    **{f"customers.{name}": WORKERS for name in _PAGES},
    **{f"customers_api.{name}": WORKERS for name in _API},
}
