"""The LinkedIn pre-flight: how an item and its posts will look on LinkedIn, as notes.

Nothing here refuses anything (too long a post is refused by the variant check); each finding
is a ``linkedin.Note``. Two kinds of fact are kept in ``Content.preflight`` because reading
them takes the network or a file: ``"page"``, which og: tags the target page served when the
pre-fill (or "Check again") read it, and ``"image"``, the link image's width, height, weight
and format as Pillow reads them from its header. The notes on the posts' text (what falls
below "see more", hashtags) are worked out from the variants each time.

Never commits; the caller commits once.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from contentfeed import http
from contentfeed.accounts.models import User
from contentfeed.content.assets import IMAGE_EXTENSIONS, asset_path
from contentfeed.content.compliance import Compliance
from contentfeed.content.linkedin import (
    IMAGE_BEST_HEIGHT,
    IMAGE_BEST_WIDTH,
    IMAGE_MAX_BYTES,
    IMAGE_RATIO,
    IMAGE_RATIO_TOLERANCE,
    IMAGE_THUMBNAIL_BELOW,
    PREVIEW_CACHE_DAYS,
    Note,
    SeeMore,
    hashtags,
    see_more,
)
from contentfeed.content.models import Asset, Content
from contentfeed.content.prefill import OG_TAGS, Prefill, prefill_from_url
from contentfeed.content.variants import check_body
from contentfeed.content.visibility import require_edit
from contentfeed.errors import DomainError, Invalid
from contentfeed.i18n import _, decimal_text, ngettext, number_text

_OWN_FILE = re.compile(r"/files/([\w-]{1,32})/([^/]+)")


# --- reading an image ---------------------------------------------------------------------


def read_image(stream: IO[bytes], size: int) -> dict[str, Any]:
    """Read an image's width, height and format from its header (no decoding of the pixels).

    ``problem`` says why there are none: "not_image" (not a picture Pillow knows, or broken),
    "bomb" (more pixels than Pillow's MAX_IMAGE_PIXELS: a decompression bomb, or just far too
    big to show)."""
    facts: dict[str, Any] = {"bytes": size, "width": None, "height": None, "format": ""}
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; both are refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                facts.update(width=image.width, height=image.height, format=image.format or "")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        facts["problem"] = "bomb"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        facts["problem"] = "not_image"
    return facts


def _own_asset(s: Session, url: str) -> Asset | None:
    """Return the uploaded file an image address names (…/files/<id>/<name>), if it is ours."""
    match = _OWN_FILE.fullmatch(urlsplit(url).path)
    if match is None:
        return None
    asset = s.scalar(sa.select(Asset).where(Asset.public_id == match.group(1)))
    return asset if asset is not None and asset.filename == match.group(2) else None


def image_source(content: Content) -> str:
    """Return the address of the image LinkedIn would show with the item's link, or ""."""
    if content.image_url:
        return content.image_url
    if content.asset is not None and content.asset.extension in IMAGE_EXTENSIONS:
        return content.url  # an uploaded picture: the link leads to the picture itself
    return ""


def _inspect_image(s: Session, content: Content, files: Path, *, fetch: bool) -> dict[str, Any]:
    """Read the item's image: an uploaded one from disk, another through the guarded client
    when ``fetch``; return its facts ({} when there is no image or it may not be fetched)."""
    source = image_source(content)
    if not source:
        return {}
    asset = content.asset if not content.image_url else _own_asset(s, source)
    if asset is not None:
        try:
            with asset_path(asset, files).open("rb") as stream:
                return {"source": source, **read_image(stream, asset.size)}
        except OSError:
            return {"source": source, "problem": "fetch", "detail": _("the file is missing.")}
    if not fetch:
        return {}
    try:
        page = http.fetch_user_url(source, max_bytes=IMAGE_MAX_BYTES + 1, accept="image/*")
    except http.TooLarge:
        return {"source": source, "problem": "heavy", "bytes": None}
    except DomainError as exc:
        return {"source": source, "problem": "fetch", "detail": exc.message}
    if page.status >= 400:
        detail = _("it answered %(status)s.", status=page.status)
        return {"source": source, "problem": "fetch", "detail": detail}
    return {"source": source, **read_image(io.BytesIO(page.body), len(page.body))}


# --- recording the facts ------------------------------------------------------------------


def _page_facts(content: Content, found: Prefill) -> dict[str, Any] | None:
    if found.og_tags is not None:
        return {"url": content.url, "og": list(found.og_tags)}
    if found.note:
        return {"url": content.url, "og": None, "error": found.note}
    return None


def record_prefill(
    s: Session, content: Content, found: Prefill, files: Path | None, *, read_page: bool
) -> None:
    """Keep what the pre-fill learnt of the page (its og: tags) and read the image when it is
    uploaded, or came from the page the pre-fill just read (``read_page``)."""
    facts: dict[str, Any] = {}
    page = _page_facts(content, found) if read_page else None
    if page is not None:
        facts["page"] = page
    if files is not None:
        fetch = read_page and bool(found.image) and content.image_url == found.image
        image = _inspect_image(s, content, files, fetch=fetch)
        if image:
            facts["image"] = image
    content.preflight = facts


def after_edit(s: Session, content: Content, files: Path | None) -> None:
    """Forget the image's facts when the item now shows another image; read it again at once
    when it is an uploaded file (another address waits for "Check again")."""
    facts = dict(content.preflight or {})
    source = image_source(content)
    if (facts.get("image") or {}).get("source") == source:
        return
    facts.pop("image", None)
    if files is not None:
        image = _inspect_image(s, content, files, fetch=False)
        if image:
            facts["image"] = image
    content.preflight = facts


def check_again(s: Session, content: Content, *, actor: User, files: Path) -> list[Note]:
    """Read the item's page (its og: tags) and image again and keep what they say; return the
    item's notes on its link. Does not count as an edit: the item's history and
    "updated" time stay as they are."""
    require_edit(actor, content)
    facts: dict[str, Any] = {}
    if content.asset is None:
        page = _page_facts(content, prefill_from_url(content.url))
        if page is not None:
            facts["page"] = page
    image = _inspect_image(s, content, files, fetch=True)
    if image:
        facts["image"] = image
    s.execute(
        sa.update(Content)
        .where(Content.id == content.id)
        .values(preflight=facts, updated_at=Content.updated_at)
    )
    set_committed_value(content, "preflight", facts)
    return link_notes(content)


# --- the notes ----------------------------------------------------------------------------


def _size_text(size: int) -> str:
    if size >= 1_000_000:
        return _("%(num)s MB", num=decimal_text(size / 1_000_000, 1))
    return _("%(num)s KB", num=number_text(max(1, round(size / 1000))))


def _pixels(width: int, height: int) -> str:
    return f"{number_text(width)} \u00d7 {number_text(height)}"  # the multiplication sign


def image_notes(content: Content) -> list[Note]:
    """Say how LinkedIn will show the item's image: missing, unread, too heavy, a thumbnail,
    cropped, soft, or as recommended."""
    source = image_source(content)
    best = _pixels(IMAGE_BEST_WIDTH, IMAGE_BEST_HEIGHT)
    if not source:
        return [
            Note(
                "image_missing",
                _(
                    "No image: LinkedIn shows the link as a line of text without a picture. "
                    "Add one of %(best)s pixels.",
                    best=best,
                ),
            )
        ]
    facts = (content.preflight or {}).get("image") or {}
    if facts.get("source") != source:
        return [
            Note(
                "image_unchecked",
                _("The image isn't checked yet: “Check again” reads its size and weight."),
                "info",
            )
        ]
    problem = facts.get("problem", "")
    size = facts.get("bytes")
    max_mb = number_text(IMAGE_MAX_BYTES // (1024 * 1024))
    if problem == "fetch":
        detail = facts.get("detail", "")
        return [Note("image_unreadable", _("Couldn't read the image: %(problem)s", problem=detail))]
    if problem == "not_image":
        return [
            Note(
                "image_not_image",
                _(
                    "The image address doesn't hold a picture LinkedIn can show. Use a JPEG "
                    "or PNG of %(best)s pixels.",
                    best=best,
                ),
            )
        ]
    if problem == "bomb":
        return [
            Note(
                "image_too_many_pixels",
                _(
                    "The image has too many pixels to open safely, and LinkedIn won't show "
                    "it either. Use one of %(best)s pixels.",
                    best=best,
                ),
            )
        ]
    if problem == "heavy" or (size is not None and size > IMAGE_MAX_BYTES):
        weight = _size_text(size) if size else _("over %(max)s MB", max=max_mb)
        return [
            Note(
                "image_too_heavy",
                _(
                    "The image is %(size)s: LinkedIn ignores images over %(max)s MB, so the "
                    "post shows no picture. Save it smaller.",
                    size=weight,
                    max=max_mb,
                ),
            )
        ]
    width, height = int(facts.get("width") or 0), int(facts.get("height") or 0)
    if not width or not height:
        return []
    pixels = _pixels(width, height)
    if width < IMAGE_THUMBNAIL_BELOW:
        return [
            Note(
                "image_thumbnail",
                _(
                    "The image is %(pixels)s pixels: narrower than %(min)s, so LinkedIn shows "
                    "it as a small thumbnail beside the title. Use one of %(best)s pixels.",
                    pixels=pixels,
                    min=IMAGE_THUMBNAIL_BELOW,
                    best=best,
                ),
            )
        ]
    notes = []
    ratio = width / height
    if abs(ratio / IMAGE_RATIO - 1) > IMAGE_RATIO_TOLERANCE:
        notes.append(
            Note(
                "image_ratio",
                _(
                    "The image is %(pixels)s pixels, %(ratio)s:1: LinkedIn shows link images "
                    "at 1.91:1 and crops the rest.",
                    pixels=pixels,
                    ratio=decimal_text(ratio, 2),
                ),
            )
        )
    if width < IMAGE_BEST_WIDTH or height < IMAGE_BEST_HEIGHT:
        notes.append(
            Note(
                "image_small",
                _(
                    "The image is %(pixels)s pixels: it looks sharper at %(best)s.",
                    pixels=pixels,
                    best=best,
                ),
                "info",
            )
        )
    if not notes:
        notes.append(
            Note(
                "image_ok",
                _(
                    "The image is %(pixels)s pixels, 1.91:1, %(size)s: as LinkedIn recommends.",
                    pixels=pixels,
                    size=_size_text(int(size or 0)),
                ),
                "ok",
            )
        )
    return notes


def page_notes(content: Content) -> list[Note]:
    """Say whether the link's target serves the og: tags LinkedInBot builds its preview from."""
    if content.asset is not None:
        if content.is_gated:
            return [
                Note(
                    "og_gated",
                    _("The form page serves og: tags from this item's title, summary and image."),
                    "ok",
                )
            ]
        return [
            Note(
                "og_file",
                _(
                    "The link leads straight to the file, which has no og: tags: LinkedIn "
                    "shows no preview card from it. Offered behind a form it gets one."
                ),
                "info",
            )
        ]
    facts = (content.preflight or {}).get("page") or {}
    if facts.get("url") != content.url:
        return [
            Note(
                "og_unchecked",
                _(
                    "Not checked yet whether the page serves og: tags (the pre-fill checks it "
                    "when it reads the page): “Check again” reads them."
                ),
                "info",
            )
        ]
    if facts.get("og") is None:
        return [
            Note(
                "og_unreadable",
                _(
                    "Couldn't check the page's og: tags: %(problem)s",
                    problem=facts.get("error") or _("it could not be read."),
                ),
            )
        ]
    missing = [f"og:{name}" for name in OG_TAGS if name not in facts["og"]]
    cache = _(
        "LinkedIn keeps a link's preview for about %(days)s days: after changing the page, "
        "refresh it in LinkedIn's Post Inspector.",
        days=PREVIEW_CACHE_DAYS,
    )
    if missing:
        return [
            Note(
                "og_missing",
                ngettext(
                    "The page has no %(tags)s tag: LinkedIn builds the link's preview from "
                    "og:title, og:description and og:image and guesses the rest. %(cache)s",
                    "The page has no %(tags)s tags: LinkedIn builds the link's preview from "
                    "og:title, og:description and og:image and guesses the rest. %(cache)s",
                    len(missing),
                    tags=", ".join(missing),
                    cache=cache,
                ),
            )
        ]
    return [
        Note(
            "og_ok",
            _(
                "The page serves og:title, og:description and og:image, which LinkedIn's "
                "preview is built from. %(cache)s",
                cache=cache,
            ),
            "ok",
        )
    ]


def link_notes(content: Content) -> list[Note]:
    """Return the notes on the item's link preview: its image and the page's og: tags."""
    return [*image_notes(content), *page_notes(content)]


@dataclass(frozen=True)
class VariantPreflight:
    """One variant as a reader meets it: what shows before "see more", and its notes."""

    id: int
    position: int
    language: str
    cut: SeeMore
    hashtags: int
    length: int
    notes: list[Note]


@dataclass(frozen=True)
class Preflight:
    """The item's pre-flight: notes on its link preview and on each variant's text."""

    link: list[Note]
    variants: list[VariantPreflight] = field(default_factory=list)

    @property
    def notes(self) -> list[Note]:
        """Every note, the link's first, then each variant's."""
        return [*self.link, *(note for v in self.variants for note in v.notes)]

    @property
    def warnings(self) -> int:
        """Count the notes that ask for a change."""
        return sum(1 for note in self.notes if note.level == "warning")


def preflight(content: Content, rules: Compliance) -> Preflight:
    """Check an item against LinkedIn's rules: its link preview from the kept facts, and each
    live variant rendered for the sample seller (one that doesn't render is left out: the
    item page shows its problem)."""
    variants = []
    for variant in content.variants:
        try:
            check = check_body(content, variant.body, rules)
        except Invalid:
            continue
        notes = [Note(n.code, n.message, n.level, variant.position) for n in check.notes]
        variants.append(
            VariantPreflight(
                id=variant.id,
                position=variant.position,
                language=variant.language,
                cut=see_more(check.rendered),
                hashtags=len(hashtags(check.rendered)),
                length=check.length,
                notes=notes,
            )
        )
    return Preflight(link=link_notes(content), variants=variants)
