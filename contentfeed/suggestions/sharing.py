"""The share kit: where "Post on LinkedIn" takes a seller, and what it carries.

LinkedIn's composer opens with a text filled in for a signed-in member at
``/feed/?shareActive=true&text=…``. That address is not documented by LinkedIn, so a company
(``[suggestions] linkedin_composer``) or a seller (their profile) can fall back to the share
dialog ``/sharing/share-offsite/?url=…``, which carries only the link: the seller pastes the
copied text there.
"""

from __future__ import annotations

import enum
from urllib.parse import quote

from contentfeed.content.templating import LINKEDIN_MAX_CHARS

COMPOSER = "https://www.linkedin.com/feed/?shareActive=true"
SHARE_OFFSITE = "https://www.linkedin.com/sharing/share-offsite/?url="


class Composer(enum.StrEnum):
    """How "Post on LinkedIn" opens LinkedIn."""

    PREFILL = "prefill"  # the composer with the post filled in
    SHARE_OFFSITE = "share-offsite"  # the share dialog with the link; the seller pastes the text


def chosen_composer(seller_choice: str, default: str) -> Composer:
    """Return the seller's own choice when they made one (their profile), else the company's."""
    for value in (seller_choice, default):
        if value in Composer.__members__.values():
            return Composer(value)
    return Composer.PREFILL


def composer_url(text: str, link: str, composer: Composer) -> str:
    """Return the address "Post on LinkedIn" opens for a post and its tracked link.

    With ``prefill`` it is LinkedIn's composer with the whole text, percent-encoded (line
    breaks as %0A, ``#`` as %23, emoji as their UTF-8 bytes), so the hashtags and the link
    arrive as written. A text LinkedIn would refuse (longer than its 3,000 characters) or an
    empty one is not filled in: the share dialog for the link opens instead, and the seller
    pastes the copied text. Without a link, the empty composer opens.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if composer is Composer.PREFILL and text and len(text) <= LINKEDIN_MAX_CHARS:
        return f"{COMPOSER}&text={quote(text, safe='')}"
    if link:
        return SHARE_OFFSITE + quote(link, safe="")
    return COMPOSER


def is_prefilled(url: str) -> bool:
    """Tell whether a share address opens the composer with the text filled in."""
    return url.startswith(f"{COMPOSER}&text=")
