"""Lead intake: decode a webhook body (JSON or form) and check its fields into one model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

import pycountry
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from contentfeed.accounts.service import normalise_email
from contentfeed.errors import BadRequest, Invalid, UnsupportedMediaType

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
# Fields we don't know are kept in Lead.extra; these limits keep that honest and small.
MAX_EXTRA_FIELDS = 50
MAX_EXTRA_DEPTH = 3
MAX_EXTRA_TEXT = 2000
# The string fields attribution and reports read, handed on as they were parsed.
ATTRIBUTION_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "ref",
    "cf_ref",
    "landing_url",
    "referrer",
)


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


# Trimmed strings of at most N characters; null counts as empty.
_Empty = BeforeValidator(_none_to_empty)
Text50 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=50)]
Text60 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=60)]
Text64 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=64)]
Text120 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=120)]
Text200 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=200)]
Text2000 = Annotated[str, _Empty, StringConstraints(strip_whitespace=True, max_length=2000)]


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
    consent_text: Text2000 = Field(default="", description="The consent wording or its version")
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
    """Return the body as text; it must be non-empty UTF-8."""
    if not raw.strip():
        raise BadRequest("The body is empty; send the lead's fields.")
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
            problems[name[:100]] = "field names are at most 100 characters"
        elif _depth(value) > MAX_EXTRA_DEPTH:
            problems[name] = f"nested deeper than {MAX_EXTRA_DEPTH} levels"
        elif _longest_text(value) > MAX_EXTRA_TEXT:
            problems[name] = f"text longer than {MAX_EXTRA_TEXT} characters"
    if problems:
        raise Invalid("Some fields need attention.", problems)
    return lead
