"""What every library API handler shares: the token's user, the rules, optional bodies."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from flask import request

from contentfeed import config
from contentfeed.accounts import access
from contentfeed.accounts.access import User
from contentfeed.api import (
    parse_json,
    validate,
)
from contentfeed.content import service
from contentfeed.text import Input

M = TypeVar("M", bound=Input)
TAG = "content"
AUTHORS = service.AUTHORS
STAFF = service.STAFF


def signed_in() -> User:
    return access.signed_in_user()


def upload_folder() -> Path:
    """Return where uploaded files are kept ([library] upload_dir)."""
    return Path(config.current().library.upload_dir)


def compliance_rules() -> service.Compliance:
    return service.Compliance.of(config.current())


def optional_json(model: type[M]) -> M:
    """Parse the JSON body into a model; a request without a body counts as ``{}``."""
    if not request.get_data(cache=True):
        return validate(model, {})
    return parse_json(model)
