"""LinkedIn's rules for a post and its link preview, and the notes a post's text earns.

The figures are LinkedIn's public ones: a post holds 3,000 characters and shows about 210
before "see more" on a desktop (about 140 on a phone); the link preview is built by
LinkedInBot from the page's og:title, og:description and og:image (1200 by 627 pixels
recommended, narrower than about 400 shows as a small thumbnail, over 5 MB is ignored) and
kept for about a week. Pure functions: the pre-flight (``preflight.py``) and the variant
check (``templating.check_variant``) both take their post notes from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from contentfeed.i18n import _, ngettext

POST_MAX_CHARS = 3000
COMMENT_MAX_CHARS = 1250  # a comment, such as the first comment that carries the link
SEE_MORE_DESKTOP = 210
SEE_MORE_PHONE = 140
HASHTAGS_AT_MOST = 3
IMAGE_BEST_WIDTH, IMAGE_BEST_HEIGHT = 1200, 627
IMAGE_RATIO = 1.91
IMAGE_RATIO_TOLERANCE = 0.05  # 1.81 to 2.01 is cropped too little to notice
IMAGE_THUMBNAIL_BELOW = 400
IMAGE_MAX_BYTES = 5 * 1024 * 1024
PREVIEW_CACHE_DAYS = 7

HASHTAG = re.compile(r"(?<![\w&])#\w+")
# The end of the first sentence: . ! ? or … followed by a space or the end, or a line break.
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)|\n")

Level = Literal["warning", "info", "ok"]


@dataclass(frozen=True)
class Note:
    """One pre-flight finding: a code for machines, a sentence for people, how much it matters,
    and the variant's position when it is about one variant's text."""

    code: str
    message: str
    level: Level = "warning"
    variant: int | None = None


@dataclass(frozen=True)
class SeeMore:
    """What a reader sees of a post before "see more", on a desktop and on a phone."""

    text: str
    desktop: str
    phone: str

    @property
    def is_cut(self) -> bool:
        """Tell whether the post is longer than a desktop shows before "see more"."""
        return len(self.text) > SEE_MORE_DESKTOP

    @property
    def is_cut_on_phone(self) -> bool:
        """Tell whether the post is longer than a phone shows before "see more"."""
        return len(self.text) > SEE_MORE_PHONE


def see_more(text: str) -> SeeMore:
    """Cut a rendered post where LinkedIn puts "see more" (about; LinkedIn also counts lines)."""
    return SeeMore(text=text, desktop=text[:SEE_MORE_DESKTOP], phone=text[:SEE_MORE_PHONE])


def hashtags(text: str) -> list[str]:
    """Return the hashtags of a post in order (#Cloud, #security; not &#39; or mid-word #)."""
    return HASHTAG.findall(text)


def hook_end(text: str) -> int:
    """Return where the first sentence (the hook) ends: after its punctuation or line."""
    match = _SENTENCE_END.search(text)
    return match.end() if match else len(text)


def _opens_with_hashtags(text: str) -> bool:
    """Tell whether every hashtag stands in a run at the very start of the post."""
    tags = list(HASHTAG.finditer(text))
    if not tags:
        return False
    return re.fullmatch(r"(?:\s*#\w+)+\s*", text[: tags[-1].end()]) is not None


def text_notes(text: str, *, link: str, uses_link: bool) -> list[Note]:
    """Return the notes on a post as one seller will share it: hashtags, its tracked link,
    and what falls below "see more"."""
    notes: list[Note] = []
    tags = hashtags(text)
    if len(tags) > HASHTAGS_AT_MOST:
        notes.append(
            Note(
                "hashtags_many",
                _(
                    "%(n)s hashtags: posts with more than %(max)s tend to reach fewer people.",
                    n=len(tags),
                    max=HASHTAGS_AT_MOST,
                ),
            )
        )
    if _opens_with_hashtags(text):
        notes.append(
            Note(
                "hashtags_first",
                ngettext(
                    "The post opens with its hashtag, so readers see it before what you say. "
                    "Put it at the end.",
                    "The post opens with its hashtags, so readers see them before what you say. "
                    "Put them at the end.",
                    len(tags),
                ),
            )
        )
    if not uses_link:
        notes.append(
            Note(
                "link_missing",
                _(
                    "No %(link)s: clicks on this post can't be tracked back to the seller.",
                    link="{{ link }}",
                ),
            )
        )
    at = text.find(link) if link and uses_link else -1
    if at >= 0:
        end = at + len(link)
        if end > SEE_MORE_DESKTOP:
            notes.append(
                Note(
                    "link_below_fold",
                    _(
                        "The link ends at character %(end)s, after the “see more” cut at about "
                        "%(cut)s characters: most readers never see it. Move %(link)s into the "
                        "first lines.",
                        end=end,
                        cut=SEE_MORE_DESKTOP,
                        link="{{ link }}",
                    ),
                )
            )
        elif end > SEE_MORE_PHONE:
            notes.append(
                Note(
                    "link_below_fold_phone",
                    _(
                        "On phones the link falls below “see more” (about %(cut)s characters "
                        "show there).",
                        cut=SEE_MORE_PHONE,
                    ),
                    "info",
                )
            )
    hook = hook_end(text)
    if hook > SEE_MORE_DESKTOP:
        notes.append(
            Note(
                "hook_below_fold",
                _(
                    "The first sentence runs past the “see more” cut at about %(cut)s "
                    "characters, so readers see it broken off. Open with a shorter sentence.",
                    cut=SEE_MORE_DESKTOP,
                ),
            )
        )
    elif hook > SEE_MORE_PHONE:
        notes.append(
            Note(
                "hook_below_fold_phone",
                _(
                    "On phones the first sentence is cut by “see more” (about %(cut)s "
                    "characters show there).",
                    cut=SEE_MORE_PHONE,
                ),
                "info",
            )
        )
    return notes
