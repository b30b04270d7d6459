"""Lead intake: decode a webhook body (JSON or form) and check its fields into one model."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from contentfeed import text
from contentfeed.accounts.service import normalise_email
from contentfeed.errors import BadRequest, Invalid, UnsupportedMediaType
from contentfeed.leads.models import UTM_FIELDS

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
# Fields we don't know are kept in Lead.extra; these limits keep that honest and small.
MAX_EXTRA_FIELDS = 50
MAX_EXTRA_DEPTH = 3
MAX_EXTRA_TEXT = 2000
# The string fields attribution and reports read, handed on as they were parsed.
ATTRIBUTION_FIELDS = (
    *UTM_FIELDS,
    "ref",
    "cf_ref",
    "landing_url",
    "referrer",
)


# Control characters (contentfeed.text) have no place in a lead, and PostgreSQL cannot even
# store NUL. Free text (a message, the consent wording) keeps tabs and line breaks; a one-line
# field takes them as a space, as a browser's one-line input would have.
LINE_BREAKS = re.compile(r"\s*[\t\n\r\v\f]+\s*")


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """Return what is wrong when the text holds a control character it may not hold."""
    char = text.control_character(value, multiline=multiline)
    if char is None:
        return None
    return f"contains a control character (U+{ord(char):04X}); send plain text"


def one_line(value: str) -> str:
    """Turn tabs and line breaks into a space; refuse any other control character."""
    if value.isprintable():
        return value
    value = LINE_BREAKS.sub(" ", value)
    problem = control_character(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def free_text(value: str) -> str:
    """Keep tabs and line breaks; refuse any other control character."""
    problem = control_character(value, multiline=True)
    if problem is not None:
        raise ValueError(problem)
    return value


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


# Trimmed strings of at most N characters; null counts as empty.
_Empty = BeforeValidator(_none_to_empty)
_OneLine = AfterValidator(one_line)
Text16 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=16), _OneLine]
Text50 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=50), _OneLine]
Text60 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=60), _OneLine]
Text64 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=64), _OneLine]
Text120 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=120), _OneLine]
Text200 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=200), _OneLine]
Text2000 = Annotated[
    str, _Empty, StringConstraints(strip_whitespace=True, max_length=2000), _OneLine
]
FreeText2000 = Annotated[
    str,
    _Empty,
    StringConstraints(strip_whitespace=True, max_length=2000),
    AfterValidator(free_text),
]


def checked_email(value: Any) -> Any:
    """Normalise an email address for a pydantic validator (ValueError when invalid).

    Non-strings pass through, so the ``str`` type refuses them with pydantic's own message.
    """
    if not isinstance(value, str):
        return value
    try:
        return normalise_email(value)
    except Invalid as exc:
        raise ValueError(exc.message) from None


def country_code(value: str) -> str:
    """Return the ISO alpha-2 code of a country code or English name ("" stays "")."""
    if not value:
        return ""
    try:
        country = pycountry.countries.lookup(value)
    except LookupError:
        raise ValueError(f"unknown country {value!r}; send an ISO code or name") from None
    return str(country.alpha_2)


class LeadIn(BaseModel):
    """A lead as a website form sends it; fields not listed here are kept as extra data."""

    model_config = ConfigDict(extra="allow")

    email: str = Field(max_length=254, description="Required; normalised to lower case")
    first_name: Text120 = ""
    last_name: Text120 = ""
    company: Text200 = ""
    job_title: Text200 = ""
    country: Text60 = Field(
        default="", description="ISO 3166 code or English name; stored as the alpha-2 code"
    )
    phone: Text50 = ""
    consent: bool = Field(default=False, description="Forms may send yes/true/1/on")
    consent_text: FreeText2000 = Field(default="", description="The consent wording or its version")
    consent_version: Text64 = Field(default="", description="The version of the consent wording")
    consent_locale: Text16 = Field(default="", description="The language the consent was shown in")
    landing_url: Text2000 = ""
    referrer: Text2000 = ""
    utm_source: Text200 = ""
    utm_medium: Text200 = ""
    utm_campaign: Text200 = ""
    utm_content: Text200 = ""
    utm_term: Text200 = ""
    ref: Text64 = Field(default="", description="A tracked-link code")
    cf_ref: Text200 = Field(
        default="", description="The tracked-link cookie's value, when the form forwards it"
    )
    submitted_at: AwareDatetime | None = Field(
        default=None, description="ISO 8601 with an offset; defaults to the time received"
    )
    external_id: Text200 = Field(
        default="", description="The sender's id of this lead; required with a bearer token"
    )

    @field_validator("email", mode="before")
    @classmethod
    def _normalise_email(cls, value: Any) -> Any:
        if isinstance(value, str) and (problem := control_character(value)) is not None:
            raise ValueError(problem)  # named as such, not as a malformed address
        return checked_email(value)

    @field_validator("country")
    @classmethod
    def _alpha_2(cls, value: str) -> str:
        return country_code(value)

    @field_validator("submitted_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def extra_fields(self) -> dict[str, Any]:
        """Return the fields this model does not know, as sent."""
        return dict(self.model_extra or {})

    def attribution_fields(self) -> dict[str, str]:
        """Return the string fields attribution looks at (codes, UTM values, URLs)."""
        return {name: getattr(self, name) for name in ATTRIBUTION_FIELDS}


def media_type(content_type: str) -> str:
    """Return the bare media type of a Content-Type header, lower-cased."""
    return content_type.split(";", 1)[0].strip().lower()


def check_media_type(content_type: str) -> str:
    """Accept JSON or form-encoded bodies (any charset parameter), refuse anything else."""
    kind = media_type(content_type)
    if kind not in (JSON_TYPE, FORM_TYPE):
        raise UnsupportedMediaType(
            f"Send the lead as {JSON_TYPE} or {FORM_TYPE}, not {kind or 'no content type'}."
        )
    return kind


def decode_body(raw: bytes) -> str:
    """Return the body as text; it must be non-empty UTF-8 without raw NUL bytes."""
    if not raw.strip():
        raise BadRequest("The body is empty; send the lead's fields.")
    if b"\x00" in raw:
        # Neither JSON nor a form can carry one unencoded, and PostgreSQL cannot store the
        # raw event with one: refused before anything is stored.
        raise BadRequest("The body contains a raw NUL byte; no lead field may hold one.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.") from None


def read_data(content_type: str, text: str) -> dict[str, Any]:
    """Turn a JSON object or a form-encoded body into a dict of fields, or refuse it (400)."""
    if media_type(content_type) == FORM_TYPE:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        data = json.loads(text)
    except RecursionError:
        raise BadRequest("The JSON body is nested too deeply.") from None
    except ValueError:
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object of fields.")
    return data


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _control_in(value: Any) -> str | None:
    """What is wrong with the first control character in extra data (keys included)."""
    if isinstance(value, str):
        return control_character(value, multiline=True)
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    return next((p for p in map(_control_in, items) if p is not None), None)


def printable(name: str) -> str:
    """Return a field name with its control characters escaped, fit to show and store."""
    return text.CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", name)


def _longest_text(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((_longest_text(v) for v in (*value.keys(), *value.values())), default=0)
    if isinstance(value, list):
        return max((_longest_text(v) for v in value), default=0)
    return 0


def parse_lead(data: dict[str, Any]) -> LeadIn:
    """Check a lead's fields, naming each one at fault (422)."""
    try:
        lead = LeadIn.model_validate(data)
    except ValidationError as exc:
        fields = {
            ".".join(str(p) for p in err["loc"]) or "body": err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        }
        raise Invalid("Some fields need attention.", fields) from None
    extra = lead.extra_fields()
    problems: dict[str, str] = {}
    if len(extra) > MAX_EXTRA_FIELDS:
        problems["body"] = f"at most {MAX_EXTRA_FIELDS} extra fields are kept"
    for name, value in extra.items():
        if len(name) > 100:
            problems[printable(name[:100])] = "field names are at most 100 characters"
        elif control_character(name) is not None:
            problems[printable(name)] = "the field's name contains a control character"
        elif (problem := _control_in(value)) is not None:
            problems[name] = problem
        elif _depth(value) > MAX_EXTRA_DEPTH:
            problems[name] = f"nested deeper than {MAX_EXTRA_DEPTH} levels"
        elif _longest_text(value) > MAX_EXTRA_TEXT:
            problems[name] = f"text longer than {MAX_EXTRA_TEXT} characters"
    if problems:
        raise Invalid("Some fields need attention.", problems)
    return lead
