"""Why routing decided what it did, kept so that any reader gets it in their language.

A routing trace (``Lead.routing_trace``, JSON) is written once, by a job that speaks no one's
language, and read by many people. So each reason is kept three ways: ``why``, the sentence in
English (what the API and the traces stored before these fields give), ``why_text``, the
English text with its named placeholders as the catalogue knows it (marked with ``N_``), and
``why_args``, the values that fill them. An argument may itself be a reason (a text such as
"(none)" that is translated too) or a list of reasons (joined with "; ").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contentfeed.i18n import _

Reason = dict[str, Any]  # {"why": …, "why_text": …, "why_args": {…}}


def reason(text: str, **args: Any) -> Reason:
    """Keep a reason: ``text`` is a msgid marked with ``N_``, ``args`` its named values."""
    entry: Reason = {"why_text": text, "why_args": args}
    return {"why": _say(entry, translate=False), **entry}


def why_of(entry: Any) -> str:
    """Say a trace entry's reason in the reader's language; an entry stored before reasons
    were kept this way (or one that does not fit its text) says its stored ``why``."""
    if not isinstance(entry, Mapping):
        return ""
    if isinstance(entry.get("why_text"), str):
        try:
            return _say(entry, translate=True)
        except (KeyError, TypeError, ValueError):
            pass
    return str(entry.get("why") or "")


def _say(entry: Mapping[str, Any], *, translate: bool) -> str:
    text = str(entry["why_text"])
    raw = entry.get("why_args") or {}
    args = {key: _arg(value, translate) for key, value in raw.items()}
    if translate:
        return _(text, **args)
    return text % args if args else text


def _arg(value: Any, translate: bool) -> Any:
    if isinstance(value, Mapping) and "why_text" in value:
        return _say(value, translate=translate)
    if isinstance(value, list):
        return "; ".join(str(_arg(item, translate)) for item in value)
    return value
