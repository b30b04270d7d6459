"""Reading a LinkedIn post's address: which post it names, and when that post was made.

Nothing is fetched from LinkedIn. A post's address carries its id (``…-activity-7265…-AbCd``
or ``urn:li:activity:7265…``), a number below 2**63 whose top 41 of 63 bits are the Unix time
in milliseconds the post was made: ``id >> 22``. ``urn:li:share:`` and ``urn:li:ugcPost:`` ids,
which LinkedIn shows for some posts, use the same scheme and are accepted too.

The checks here are about the address alone; whether its time fits the suggestion and whether
another suggestion already claimed it is the use case's (``actions.mark_posted``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from contentfeed.i18n import _

MAX_LENGTH = 2000  # longer than any real post address with its tracking parameters
MAX_ID = 2**63 - 1  # ids are signed 64-bit numbers (and fit a BIGINT)
KINDS = ("activity", "share", "ugcPost")

# The post's id in the path: the slug form /posts/<name>_<slug>-activity-<id>-<suffix>, or a
# URN (/feed/update/urn:li:activity:<id>/, /embed/feed/update/urn:li:share:<id>).
_SLUG_ID = re.compile(r"-(activity|share|ugcPost)-([0-9]+)(?![0-9])")
_URN_ID = re.compile(r"urn:li:(activity|share|ugcPost):([0-9]+)(?![0-9])")
_HOST = re.compile(r"(?:[a-z0-9-]{1,20}\.)?linkedin\.com")


class PostUrlProblem(ValueError):
    """The address names no LinkedIn post we can read; the message says why to a person."""


@dataclass(frozen=True)
class PostRef:
    """The post an address names: its kind and id, its time, and its canonical address."""

    kind: str
    activity_id: int

    @property
    def posted_at(self) -> datetime:
        """When LinkedIn made the post: the id's top 41 bits, milliseconds since 1970 (UTC)."""
        return datetime.fromtimestamp((self.activity_id >> 22) / 1000, UTC)

    @property
    def url(self) -> str:
        """The post's address without its slug and tracking: it opens the post on LinkedIn."""
        return f"https://www.linkedin.com/feed/update/urn:li:{self.kind}:{self.activity_id}/"


def parse_post_url(text: str) -> PostRef:
    """Read the post a pasted address (or a bare ``urn:li:activity:…``) names, or raise
    PostUrlProblem saying why not."""
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise PostUrlProblem(
            _(
                "This address is too long for a LinkedIn post (at most %(max)s characters).",
                max=MAX_LENGTH,
            )
        )
    if not text:
        raise PostUrlProblem(_("Paste the address of your LinkedIn post."))
    if text.startswith("urn:li:"):
        return _post_id(text)
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise PostUrlProblem(_("This is not a web address.")) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise PostUrlProblem(_("This is not a web address."))
    if host == "lnkd.in":
        raise PostUrlProblem(
            _(
                "Short lnkd.in links can't be read without visiting LinkedIn. Open the post, "
                "choose “Copy link to post” and paste that."
            )
        )
    if not _HOST.fullmatch(host):
        raise PostUrlProblem(_("This is not a LinkedIn address."))
    path = unquote(parts.path)
    return _post_id(path)


def _post_id(path: str) -> PostRef:
    found = _URN_ID.search(path) or _SLUG_ID.search(path)
    if found is None:
        raise PostUrlProblem(
            _(
                "This LinkedIn address names no post. Open your post, choose “Copy link to "
                "post” and paste that."
            )
        )
    kind, digits = found.group(1), found.group(2)
    if len(digits) > 19 or int(digits) > MAX_ID or int(digits) >> 22 == 0:
        raise PostUrlProblem(_("The post id in this address is not a LinkedIn post id."))
    return PostRef(kind, int(digits))
