"""What the routing API modules share: tags, scopes, roles and the team reference."""

from __future__ import annotations

from pydantic import BaseModel

from contentfeed.accounts.access import Role

WORK_TAG = "queues"
ADMIN_TAG = "routing"
ACCOUNTS_TAG = "customer accounts"
WRITE_SCOPE = "routing:write"
WORKERS = (Role.REP, Role.ADMIN)
ADMIN = (Role.ADMIN,)


# --- shared parts --------------------------------------------------------------------------


class TeamRef(BaseModel):
    """A team, by id and name."""

    id: int
    name: str
