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
from contentfeed.i18n import _, _l

# C0 controls, DEL, C1 controls and lone surrogates. Multi-line text (summaries, notes, post
# bodies) may also hold tab, line feed and carriage return (browsers send CR LF).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# What a refused text is told, after its field's name, in English; control_problem says it in
# the request's language.
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
    if multiline:
        return _("must not contain control characters such as NUL")
    return _("must not contain control characters such as NUL, tabs or line breaks")


def checked_text(field: str, value: str, *, multiline: bool = False) -> str:
    """Return a text as given, or refuse it (422) naming its field when it holds control
    characters: for use cases that take free text from a page and the API alike."""
    problem = control_problem(value, multiline=multiline)
    if problem:
        message = _("The %(field)s %(problem)s.", field=field.replace("_", " "), problem=problem)
        raise Invalid(message, {field: problem})
    return value


def _refuse_control_characters_in_url() -> None:
    """Refuse a query string (every search box, filter and API query) holding control
    characters before any view runs, naming the parameter; no path has them either."""
    if control_problem(request.path):
        raise NotFound(_("Page not found."))
    for name, value in request.args.items(multi=True):
        problem = control_problem(name) or control_problem(value)
        if problem:
            shown = name if not control_problem(name) else "query"
            message = _("The query parameter '%(name)s' %(problem)s.", name=shown, problem=problem)
            raise Invalid(message, {shown: problem})


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
        raise ValueError(_("must not contain control characters such as line breaks or tabs"))
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(_("must be a full web address starting with https:// or http://"))
    if " " in parts.netloc:
        raise ValueError(_("must not contain spaces in the host name"))
    try:
        return iri_to_uri(value)
    except UnicodeError:
        raise ValueError(_("has a host name that is not valid")) from None


# pydantic's words for the problems people meet most (English only in pydantic), in the
# request's language; the placeholders are filled from the error's context.
_INPUT_PROBLEMS = {
    "missing": _l("Field required"),
    "extra_forbidden": _l("Extra inputs are not permitted"),
    "string_type": _l("Input should be a valid string"),
    "string_too_short": _l("String should have at least %(min_length)s characters"),
    "string_too_long": _l("String should have at most %(max_length)s characters"),
    # a length checked after the value was read (the intake's text fields)
    "too_long": _l("Too long: at most %(max_length)s, not %(actual_length)s"),
    "int_type": _l("Input should be a valid integer"),
    "int_parsing": _l("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": _l("Input should be a valid integer, got a number with a fractional part"),
    "greater_than_equal": _l("Input should be greater than or equal to %(ge)s"),
    "less_than_equal": _l("Input should be less than or equal to %(le)s"),
    "greater_than": _l("Input should be greater than %(gt)s"),
    "less_than": _l("Input should be less than %(lt)s"),
    "bool_type": _l("Input should be a valid boolean"),
    "bool_parsing": _l("Input should be a valid boolean, unable to interpret input"),
    "list_type": _l("Input should be a valid list"),
    "enum": _l("Input should be %(expected)s"),
    "literal_error": _l("Input should be %(expected)s"),
}


def input_problem(error: Any) -> str:
    """Say what pydantic found wrong in one field (an item of ``ValidationError.errors()``) in
    the request's language: our wording for the common kinds, a validator's own message (raised
    translated) without pydantic's "Value error, ", else pydantic's words."""
    text = _INPUT_PROBLEMS.get(error.get("type", ""))
    if text is None:
        return str(error.get("msg", "")).removeprefix("Value error, ")
    context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    try:
        return str(text) % context
    except (KeyError, ValueError, TypeError):
        return str(error.get("msg", ""))


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
