"""What the account pages share: their blueprint and how a refusal is shown on a form."""

from __future__ import annotations

from flask import Blueprint, flash

from contentfeed.accounts.models import Role
from contentfeed.errors import DomainError

bp = Blueprint("accounts", __name__)

ADMIN = (Role.ADMIN,)


def apply_errors(form: object, error: DomainError) -> None:
    """Show a service's field errors beside the form's fields."""
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
    if not any(hasattr(form, name) for name in error.fields):
        flash(error.message, "error")
