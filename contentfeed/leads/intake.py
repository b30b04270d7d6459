"""Lead intake: decode a webhook body (JSON or form) and check its fields into one model."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qsl

import phonenumbers
import pycountry
from babel import Locale, localedata
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
    model_validator,
)
from werkzeug.datastructures import MultiDict

from contentfeed import text
from contentfeed.accounts.service import normalise_email
from contentfeed.errors import BadRequest, DomainError, Invalid, UnsupportedMediaType
from contentfeed.i18n import _
from contentfeed.leads.models import FIELD_ALIASES, UTM_FIELDS

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


# --- countries ---------------------------------------------------------------------------

# The languages whose country names are looked up first (cheap); every other locale Babel has
# is read only when a name is found in none of these.
COMMON_LOCALES = ("en", "de", "fr", "it", "es", "nl", "pt", "pl", "da", "sv", "cs")
# Names people write that no table holds.
COUNTRY_EXTRAS = {"uk": "GB", "great britain": "GB", "england": "GB", "holland": "NL"}
_SPACES = re.compile(r"\s+")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _name_key(name: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip().casefold()


def _spellings(name: str) -> Iterable[str]:
    """A country name as written, without its accents, and with German umlauts spelled out
    ("Österreich", "Osterreich", "Oesterreich")."""
    key = _name_key(name)
    yield key
    yield key.translate(_UMLAUTS)
    yield "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))


def _add_names(table: dict[str, str], names: Iterable[tuple[str, str]]) -> None:
    for name, code in names:
        for spelling in _spellings(name):
            table.setdefault(spelling, code)


@cache
def _alpha_2_codes() -> frozenset[str]:
    return frozenset(str(country.alpha_2) for country in pycountry.countries)


def _territory_names(locales: Iterable[str]) -> Iterable[tuple[str, str]]:
    codes = _alpha_2_codes()
    for identifier in locales:
        for code, name in Locale.parse(identifier).territories.items():
            if code in codes:
                yield name, code


@cache
def _common_country_names() -> dict[str, str]:
    """Codes and names: ISO codes, pycountry's English names, Babel's in COMMON_LOCALES."""
    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = str(country.alpha_2)
        names = [code, str(country.alpha_3)]
        names += [
            str(getattr(country, a))
            for a in ("name", "official_name", "common_name")
            if getattr(country, a, None)
        ]
        _add_names(table, ((name, code) for name in names))
    _add_names(table, ((name, code) for name, code in COUNTRY_EXTRAS.items()))
    _add_names(table, _territory_names(COMMON_LOCALES))
    return table


@cache
def _all_country_names() -> dict[str, str]:
    """Every locale's country names (read once, on the first name not found above)."""
    table = dict(_common_country_names())
    _add_names(table, _territory_names(sorted(localedata.locale_identifiers())))
    return table


def find_country(value: str) -> str | None:
    """Return the ISO alpha-2 code of a country code or name in any language Babel knows
    ("DE", "DEU", "Germany", "Deutschland", "Allemagne"), or None."""
    key = _name_key(value)
    for table in (_common_country_names, _all_country_names):
        for spelling in _spellings(key):
            if spelling in table():
                return table()[spelling]
    return None


def country_code(value: str) -> str:
    """Return the ISO alpha-2 code of a country code or name ("" stays "")."""
    if not value:
        return ""
    code = find_country(value)
    if code is None:
        raise ValueError(
            _("unknown country %(name)s; send an ISO code or the country's name", name=repr(value))
        )
    return code


# --- consent and phone numbers -------------------------------------------------------------

# What forms send for a ticked or unticked box, in the languages they are built in.
CONSENT_WORDS: dict[str, bool] = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "on", "ja", "j", "oui", "si", "sí"), True),
    **dict.fromkeys(("false", "f", "no", "n", "0", "off", "nein", "non", ""), False),
}


def consent_value(value: Any) -> Any:
    """Read a consent answer: true/false, yes/no, ja/nein, oui/non, 1/0, on/off, any case."""
    if isinstance(value, str):
        answer = CONSENT_WORDS.get(value.strip().casefold())
        if answer is None:
            raise ValueError(_("send true or false (yes/no, ja/nein, 1/0, on/off)"))
        return answer
    return value


def phone_number(value: str, country: str = "") -> str:
    """Return a phone number in E.164 ("+491712345678"), read with the lead's country as the
    region of a number without a country code; a number that cannot be read stays as typed."""
    if not value:
        return value
    try:
        number = phonenumbers.parse(value, country or None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- field names ----------------------------------------------------------------------------

_NOT_NAME = re.compile(r"[\s_\-.]+")


def field_key(name: str) -> str:
    """A field name with case, spaces, "_", "-" and "." not counting ("E-Mail" is email)."""
    return _NOT_NAME.sub("", unicodedata.normalize("NFKC", name)).casefold()


class LeadIn(BaseModel):
    """A lead as a website form sends it; fields not listed here are kept as extra data."""

    model_config = ConfigDict(extra="allow")

    email: str = Field(max_length=254, description="Required; normalised to lower case")
    first_name: Text120 = ""
    last_name: Text120 = ""
    company: Text200 = ""
    job_title: Text200 = ""
    country: Text60 = Field(
        default="",
        description="ISO 3166 code or the country's name in English, German or another "
        "language; stored as the alpha-2 code",
    )
    phone: Text50 = Field(
        default="",
        description="Stored in E.164 (+491712345678), read with the country as the region; "
        "kept as sent when it cannot be read as a phone number",
    )
    consent: Annotated[bool, BeforeValidator(consent_value)] = Field(
        default=False,
        description="Forms may send yes/no, ja/nein, oui/non, true/false, 1/0, on/off",
    )
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

    @model_validator(mode="after")
    def _e164(self) -> LeadIn:
        self.phone = phone_number(self.phone, self.country)
        return self

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


def field_names(content_type: str, body: str) -> list[str]:
    """Return the field names a stored delivery sent, for an admin mapping them ([] when
    the body is purged or cannot be read)."""
    if not body:
        return []
    try:
        return [printable(str(name)) for name in read_data(content_type, body)]
    except DomainError:
        return []


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


@cache
def _known_names() -> dict[str, str]:
    """Our field names and the other names forms send them under, by field_key."""
    names = {field_key(name): name for name in LeadIn.model_fields}
    for name, aliases in FIELD_ALIASES.items():
        names.setdefault(field_key(name), name)
        for alias in aliases:
            names.setdefault(field_key(alias), name)
    return names


def our_field(name: str) -> str | None:
    """Return the field of ours a sender's field name means ("Vorname" is first_name)."""
    return _known_names().get(field_key(name))


def rename_fields(
    data: Mapping[str, Any], mapping: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return a delivery's fields under our names: a secret's ``mapping`` first (its value
    one of our fields, another name to keep the field under as extra data, or "" to leave
    it out), then the names forms send out of the box (FIELD_ALIASES: German and English,
    any case or spacing). Fields we do not know keep their names. When two fields mean the
    same one, the one spelled as ours wins (else the first); the other keeps its name."""
    mapped = {field_key(str(k)): str(v or "").strip() for k, v in (mapping or {}).items()}
    wanted: list[tuple[str, str, Any]] = []
    for name, value in data.items():
        key = field_key(name)
        if key in mapped:
            target = mapped[key]
            if not target:
                continue
            wanted.append((our_field(target) or target, name, value))
        else:
            wanted.append((our_field(name) or name, name, value))
    chosen: dict[str, str] = {}
    for target, name, _value in wanted:
        if target not in chosen or name == target:
            chosen[target] = name
    renamed: dict[str, Any] = {}
    for target, name, value in wanted:
        renamed[target if chosen[target] == name else name] = value
    return renamed


# The names the gated form itself uses (leads/gated_views.GatedForm), kept as they are, and
# the fields of ours it takes under its own names.
GATED_OWN_NAMES = frozenset(
    {"name", "email", "company", "job_title", "consent", "website", "csrf_token"}
)
GATED_FORM_FIELDS = frozenset({"email", "company", "job_title"})


def gated_form_data(form: MultiDict[str, str]) -> MultiDict[str, str]:
    """Return a gated form's posted fields under the form's own names, for a page (a
    marketer's own German landing page, say) that posts to it with German or other names:
    vorname and nachname fill name, e-mail email, firma company, position job_title, and
    einwilligung (ja/nein, yes/no, ...) the consent box. The form's own names win."""
    data: MultiDict[str, str] = MultiDict()
    names: dict[str, str] = {}
    for key, value in form.items(multi=True):
        ours = None if key in GATED_OWN_NAMES else our_field(key)
        if ours in ("first_name", "last_name"):
            names[ours] = value.strip()
        elif ours in GATED_FORM_FIELDS:
            if ours not in form:
                data.add(ours, value)
        elif ours == "consent":
            with suppress(ValueError):  # not a yes: the box stays unticked, the form says so
                if "consent" not in form and consent_value(value) is True:
                    data.add("consent", "y")
        elif ours is None and field_key(key) == "name" and "name" not in form:
            data.add("name", value)  # "Name", "NAME"
        else:
            data.add(key, value)
    if names and "name" not in form:
        data.add("name", f"{names.get('first_name', '')} {names.get('last_name', '')}".strip())
    return data


def parse_lead(data: Mapping[str, Any], mapping: Mapping[str, Any] | None = None) -> LeadIn:
    """Check a lead's fields, naming each one at fault (422); the fields are first renamed
    to ours (``rename_fields``, with the signing secret's ``mapping``)."""
    data = rename_fields(data, mapping)
    try:
        lead = LeadIn.model_validate(data)
    except ValidationError as exc:
        # In the request's language: the gated form shows these to its visitor.
        fields = {
            ".".join(str(p) for p in err["loc"]) or "body": text.input_problem(err)
            for err in exc.errors()
        }
        raise Invalid(_("Some fields need attention."), fields) from None
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
