"""What the routing API modules share: tags, scopes, roles and the small references."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.api import (
    QueueRef,
    UserRef,
)
from contentfeed.routing.models import (
    Queue,
)

WORK_TAG = "queues"
ADMIN_TAG = "routing"
ACCOUNTS_TAG = "customer accounts"
WRITE_SCOPE = "routing:write"
WORKERS = (Role.REP, Role.ADMIN)
ADMIN = (Role.ADMIN,)
NOT_IN_YOUR_QUEUES = "No lead in your queues has this id."


# --- shared parts --------------------------------------------------------------------------


class TeamRef(BaseModel):
    """A team, by id and name."""

    id: int
    name: str


def user_ref(s: Session, user_id: int | None) -> UserRef | None:
    user = s.get(User, user_id) if user_id is not None else None
    return UserRef(id=user.id, name=user.name) if user else None


def queue_ref(s: Session, queue_id: int | None) -> QueueRef | None:
    queue = s.get(Queue, queue_id) if queue_id is not None else None
    return QueueRef(id=queue.id, name=queue.name) if queue else None
