"""Text from outside: which characters it may hold, how web addresses are stored, and how names
compare. One rule for the API's models, the web forms, query strings and the services.

A NUL cannot be stored in PostgreSQL at all, and the other control characters (and lone
surrogates, which cannot be encoded) are never typed by a person: they come from hostile input
or a broken client. They are refused at the edge with an error naming the field, instead of
failing deep inside the database.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import urlsplit

from flask import Flask, request
from pydantic import BaseModel, ValidationInfo, field_validator
from werkzeug.urls import iri_to_uri

from contentfeed.errors import Invalid, NotFound

# C0 controls, DEL, C1 controls and lone surrogates. Multi-line text (summaries, notes, post
# bodies) may also hold tab, line feed and carriage return (browsers send CR LF).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

LINE_PROBLEM = "must not contain control characters such as NUL, tabs or line breaks"
TEXT_PROBLEM = "must not contain control characters such as NUL"


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """Return the first control character the text may not hold, or None."""
    if value.isprintable():  # nearly every text: no control character at all, checked in C
        return None
    found = (_NOT_IN_TEXT if multiline else CONTROL_CHARACTERS).search(value)
    return found.group() if found else None


def control_problem(value: str, *, multiline: bool = False) -> str | None:
    """Say why a text is refused for its control characters, or None when it has none."""
    if control_character(value, multiline=multiline) is None:
        return None
    return TEXT_PROBLEM if multiline else LINE_PROBLEM


def checked_text(field: str, value: str, *, multiline: bool = False) -> str:
    """Return a text as given, or refuse it (422) naming its field when it holds control
    characters: for use cases that take free text from a page and the API alike."""
    problem = control_problem(value, multiline=multiline)
    if problem:
        raise Invalid(f"The {field.replace('_', ' ')} {problem}.", {field: problem})
    return value


def _refuse_control_characters_in_url() -> None:
    """Refuse a query string (every search box, filter and API query) holding control
    characters before any view runs, naming the parameter; no path has them either."""
    if control_problem(request.path):
        raise NotFound("Page not found.")
    for name, value in request.args.items(multi=True):
        problem = control_problem(name) or control_problem(value)
        if problem:
            shown = name if not control_problem(name) else "query"
            raise Invalid(f"The query parameter '{shown}' {problem}.", {shown: problem})


def register(app: Flask) -> None:
    """Check every request's query string before its view runs."""
    app.before_request(_refuse_control_characters_in_url)


def name_key(name: str) -> str:
    """Return the form of a name that uniqueness compares: the same on every database.

    SQLite's lower() folds only ASCII letters, so "Équipe Nord" and "équipe nord" must be
    compared here, not in SQL; NFKC makes composed and decomposed accents equal.
    """
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def web_address(value: str) -> str:
    """Return a user-given URL ready to store and redirect to, or raise ValueError.

    Control characters (CR/LF would split a Location header) are refused; spaces and other
    characters a URL may not hold are percent-encoded, and an international host is IDNA-encoded.
    """
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters such as line breaks or tabs")
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be a full web address starting with https:// or http://")
    if " " in parts.netloc:
        raise ValueError("must not contain spaces in the host name")
    try:
        return iri_to_uri(value)
    except UnicodeError:
        raise ValueError("has a host name that is not valid") from None


class MultiLine:
    """Marks a text field that may hold tabs and line breaks: ``Annotated[str, MultiLine]``."""


# Summaries, descriptions, notes and post bodies: text in which tabs and line breaks belong.
MultiLineText = Annotated[str, MultiLine]


def _allows_lines(annotation: Any) -> bool:
    """Tell whether an annotation (possibly inside Optional or list) carries MultiLine."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        return any(m is MultiLine for m in metadata) or _allows_lines(base)
    if get_origin(annotation) in (Union, UnionType, list, tuple, set, frozenset, dict):
        return any(_allows_lines(arg) for arg in get_args(annotation))
    return False


@cache
def _multiline(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields[name]
    return any(m is MultiLine for m in field.metadata) or _allows_lines(field.annotation)


def _find_problem(value: Any, multiline: bool) -> str | None:
    if isinstance(value, str):
        return control_problem(value, multiline=multiline)
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _find_problem(key, False) or _find_problem(item, multiline)
            if problem:
                return problem
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            problem = _find_problem(item, multiline)
            if problem:
                return problem
    return None


class Input(BaseModel):
    """The base of every model filled from outside (API bodies and queries, forms, imports).

    Every text field, also inside lists and dicts, is refused when it holds control
    characters; a field annotated ``Annotated[str, MultiLine]`` may hold tabs and line breaks.
    """

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None:
            return value
        problem = _find_problem(value, _multiline(cls, info.field_name))
        if problem:
            raise ValueError(problem)
        return value
