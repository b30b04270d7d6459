"""What the account pages share: their blueprint, and how a form's values reach a use case
and its refusals come back beside the fields."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, flash
from pydantic import BaseModel, ValidationError

from contentfeed.accounts.forms import SellerProfileForm
from contentfeed.accounts.models import Role
from contentfeed.errors import DomainError, Invalid
from contentfeed.i18n import _
from contentfeed.suggestions import notify
from contentfeed.suggestions.notify import WEBHOOK_NAMES
from contentfeed.text import input_problem

M = TypeVar("M", bound=BaseModel)

bp = Blueprint("accounts", __name__)

ADMIN = (Role.ADMIN,)
# A use case's field that a form shows under another name.
FIELD_OF = {"languages": "language"}


def apply_errors(form: object, error: DomainError) -> None:
    """Show a service's field errors beside the form's fields."""
    fields = {FIELD_OF.get(name, name): message for name, message in error.fields.items()}
    for name, message in fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
    if not any(hasattr(form, name) for name in fields):
        flash(error.message, "error")


def form_input(model: type[M], values: dict[str, Any]) -> M:
    """Check a form's values with the use case's model, or refuse them naming each field
    (``apply_errors`` shows the refusal beside them)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for problem in exc.errors():
            message = input_problem(problem)
            name = str(problem["loc"][0]) if problem["loc"] else "form"
            fields.setdefault(name, message[:1].upper() + message[1:])
        raise Invalid(_("Some fields need attention."), fields) from None


def profile_values(form: SellerProfileForm) -> dict[str, Any]:
    """Return a seller-profile form's values (the admin's or the seller's own) as the profile
    use cases take them."""
    return {
        "title": form.title.data or "",
        "region": form.region.data or "",
        "languages": form.chosen_languages(),
        "topics": form.topics.data or "",
        "posts_per_week": form.posts_per_week.data or 0,
        "weekdays": form.weekdays.data or [],
        "linkedin_url": form.linkedin_url.data or "",
        "linkedin_connections": form.linkedin_connections.data or 0,
        "notification_channel": form.notification_channel.data or "email",
        "notification_target": form.notification_target.data or "",
        "is_paused": bool(form.is_paused.data),
    }


def flash_webhook_trial(trial: notify.WebhookTrial) -> None:
    """After a save that set a new Slack or Teams webhook (its test message went out while
    the save was checked, see ``WebhookTrial``), say on the page whether it arrived."""
    result = trial.result
    if result is None:
        return
    name = WEBHOOK_NAMES[trial.channel]
    if result.arrived:
        flash(_("A test message went to %(channel)s and arrived.", channel=name), "success")
    else:
        flash(
            _(
                "The test message to %(channel)s did not arrive: %(why)s Check the webhook "
                "URL and save it again.",
                channel=name,
                why=result.reason,
            ),
            "error",
        )
