"""The translation catalogues: extract the texts, bring the catalogues up to date, compile.

The sources are the English texts in the code and the templates (``babel.cfg`` says where);
each language has ``contentfeed/translations/<code>/LC_MESSAGES/messages.po`` (what
translators edit) and its compiled ``messages.mo`` (what the service reads), both in the
repository so a checkout and a wheel speak every language without a build step. The tests
fail when a text has no translation or a compiled catalogue is older than its source.
Maintainers run ``contentfeed translations update`` after changing texts, translate what it
lists, then ``contentfeed translations compile``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from contentfeed import config
from contentfeed.i18n import LOCALES, TRANSLATIONS

DOMAIN = "messages"
HEADER_DATE = datetime(2026, 12, 2, tzinfo=UTC)
SOURCE_LOCALE = LOCALES[0]


@dataclass(frozen=True)
class Gap:
    """A catalogue that does not match the sources."""

    locale: str
    untranslated: tuple[str, ...]
    fuzzy: tuple[str, ...]
    missing: tuple[str, ...]  # in the sources, not in the catalogue
    stale_compiled: bool

    @property
    def is_empty(self) -> bool:
        return not (self.untranslated or self.fuzzy or self.missing or self.stale_compiled)


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


def extract() -> Catalog:
    """Return the template catalogue of every text in the sources (as pybabel extract does)."""
    root = config.ROOT
    method_map, options_map = _read_mapping(root / "babel.cfg")
    catalog = Catalog(project="contentfeed", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root),
        method_map,
        options_map,
        keywords={
            "_": None,
            "_l": None,
            "N_": None,  # marked, stored in English, translated when read (babel.cfg)
            "gettext": None,
            "lazy_gettext": None,
            "ngettext": (1, 2),
            "lazy_ngettext": (1, 2),
        },
        strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _read_mapping(path: Path) -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    from babel.messages.frontend import parse_mapping_cfg

    with path.open(encoding="utf-8") as fileobj:
        return parse_mapping_cfg(fileobj, filename=str(path))


def read_catalogue(locale: str) -> Catalog:
    with po_path(locale).open("rb") as fileobj:
        return read_po(fileobj, locale=locale, domain=DOMAIN)


def update() -> dict[str, int]:
    """Bring every language's catalogue up to the sources; return the untranslated counts."""
    template = extract()
    counts: dict[str, int] = {}
    for locale in LOCALES[1:]:
        path = po_path(locale)
        if path.exists():
            catalog = read_catalogue(locale)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=locale, domain=DOMAIN, project="contentfeed")
        catalog.update(template, no_fuzzy_matching=True)
        _write_po(catalog, path)
        counts[locale] = sum(1 for m in catalog if m.id and not m.string)
    return counts


def _write_po(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    # Sorted, without source locations and with a fixed header: two branches that add texts
    # touch different lines, and an update without new texts changes nothing.
    catalog.fuzzy = False
    catalog.project, catalog.version = "contentfeed", ""
    catalog.copyright_holder = "the contentfeed authors"
    catalog.msgid_bugs_address = ""
    catalog.creation_date = catalog.revision_date = HEADER_DATE
    catalog.last_translator = "contentfeed"
    catalog.language_team = "contentfeed"
    write_po(
        buffer,
        catalog,
        width=96,
        sort_output=True,
        no_location=True,
        ignore_obsolete=True,
        include_previous=False,
    )
    path.write_bytes(buffer.getvalue())


def compiled(locale: str) -> bytes:
    """Return the compiled form of a language's catalogue."""
    catalog = read_catalogue(locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> list[Path]:
    """Compile every language's catalogue next to it."""
    written = []
    for locale in LOCALES[1:]:
        mo_path(locale).write_bytes(compiled(locale))
        written.append(mo_path(locale))
    return written


def _compiled_matches(locale: str) -> bool:
    if not mo_path(locale).exists():
        return False
    with mo_path(locale).open("rb") as fileobj:
        shipped = read_mo(fileobj)
    expected = read_mo(io.BytesIO(compiled(locale)))
    return _messages(shipped) == _messages(expected)


def _messages(catalog: Catalog) -> dict[object, object]:
    # A plural's id and strings come as lists from read_mo: made tuples to compare them.
    def plain(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


def gaps() -> list[Gap]:
    """Return, per language, what the catalogue lacks against the sources and its compiled form."""
    template = extract()
    wanted = {m.id for m in template if m.id}
    found = []
    for locale in LOCALES[1:]:
        catalog = read_catalogue(locale)
        known = {m.id for m in catalog if m.id}
        found.append(
            Gap(
                locale=locale,
                untranslated=tuple(_text(m.id) for m in catalog if m.id and not _done(m.string)),
                fuzzy=tuple(_text(m.id) for m in catalog if m.id and m.fuzzy),
                missing=tuple(sorted(_text(i) for i in wanted - known)),
                stale_compiled=not _compiled_matches(locale),
            )
        )
    return found


def _done(string: str | tuple[str, ...] | list[str] | None) -> bool:
    return all(string) if isinstance(string, tuple | list) else bool(string)


def _text(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]
