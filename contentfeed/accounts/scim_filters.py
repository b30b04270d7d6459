"""SCIM filters as SQL, and the refusals of SCIM requests (accounts/scim.py). Never commits.

A filter (parsed by scim2-models) becomes a WHERE clause: ``eq`` on the attributes a resource
maps to columns, joined by ``and``/``or``; anything else is refused with ``invalidFilter``
rather than read in Python over every row."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from scim2_models.path import Comparison, FilterNode, LogicalExpr, ValuePath

from contentfeed.accounts.models import Team, User
from contentfeed.db import MAX_ID
from contentfeed.errors import DomainError


class ScimRefusal(DomainError):
    """A SCIM request refused with its HTTP status and SCIM error keyword."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.scim_type = scim_type


def invalid(detail: str, scim_type: str = "invalidValue") -> ScimRefusal:
    return ScimRefusal(400, detail, scim_type)


def resource_number(resource_id: str) -> int | None:
    """Return the row id a SCIM id names (ASCII digits, within the id column), else None."""
    if not (resource_id.isascii() and resource_id.isdigit() and len(resource_id) <= 10):
        return None
    return int(resource_id) if int(resource_id) <= MAX_ID else None


def where(node: FilterNode, columns: dict[str, Any]) -> Any:
    """Turn a filter into SQL: ``eq`` on the attributes in ``columns``, joined by and/or."""
    if isinstance(node, LogicalExpr):
        terms = [where(term, columns) for term in node.terms]
        return sa.and_(*terms) if node.op.value == "and" else sa.or_(*terms)
    if isinstance(node, ValuePath) and isinstance(node.val_filter, Comparison):
        inner = node.val_filter
        name = node.attr_path.attr.lower() + "." + inner.attr_path.attr.lower()
        return _column_condition(columns, name, inner)
    if isinstance(node, Comparison):
        path = node.attr_path
        name = path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")
        return _column_condition(columns, name, node)
    raise invalid("this filter is not supported: use eq on " + _names(columns), "invalidFilter")


def _names(columns: dict[str, Any]) -> str:
    return ", ".join(FILTER_NAMES.get(name, name) for name in columns)


FILTER_NAMES = {
    "username": "userName",
    "externalid": "externalId",
    "displayname": "displayName",
}


def _column_condition(columns: dict[str, Any], name: str, node: Comparison) -> Any:
    if node.op.value != "eq":
        raise invalid(f"filter operator {node.op.value} is not supported: use eq", "invalidFilter")
    if name not in columns:
        raise invalid(f"cannot filter on {name}: use eq on " + _names(columns), "invalidFilter")
    return columns[name](node.value)


def _id_equals(column: Any) -> Any:
    def condition(value: Any) -> Any:
        user_id = resource_number(str(value))
        return column == user_id if user_id is not None else sa.false()

    return condition


def _text_equals(column: Any, *, fold: bool = False) -> Any:
    def condition(value: Any) -> Any:
        if not isinstance(value, str):
            return sa.false()
        return column == (value.lower() if fold else value)

    return condition


def _user_name_equals(value: Any) -> Any:
    # Users the identity provider does not manage yet are found by their email, so it can
    # link them (Entra ID and Okta look a user up before creating them).
    if not isinstance(value, str):
        return sa.false()
    value = value.lower()
    return sa.or_(
        User.scim_user_name == value, sa.and_(User.scim_user_name.is_(None), User.email == value)
    )


USER_FILTERS: dict[str, Any] = {
    "id": _id_equals(User.id),
    "username": _user_name_equals,
    "externalid": _text_equals(User.scim_external_id),
    "emails": _text_equals(User.email, fold=True),
    "emails.value": _text_equals(User.email, fold=True),
    "displayname": _text_equals(User.name),
    "active": lambda value: User.is_active.is_(bool(value)),
}


def _has_member(value: Any) -> Any:
    user_id = resource_number(str(value))
    if user_id is None:
        return sa.false()
    return Team.id.in_(sa.select(User.team_id).where(User.id == user_id))


GROUP_FILTERS: dict[str, Any] = {
    "id": _id_equals(Team.id),
    "members": _has_member,
    "members.value": _has_member,
    "displayname": _text_equals(Team.name),
    "externalid": _text_equals(Team.scim_external_id),
}
