"""Pre-fill a content item from its page: Open Graph, Twitter card, then <title> and description."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from contentfeed import http
from contentfeed.errors import DomainError
from contentfeed.i18n import _

PREFILL_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Prefill:
    """What a page says about itself; ``note`` explains when it could not be read."""

    title: str = ""
    description: str = ""
    image: str = ""
    site_name: str = ""
    url: str = ""
    note: str = ""
    # Which of og:title, og:description and og:image the page serves (LinkedInBot builds the
    # link preview from them); None when the page was not read.
    og_tags: tuple[str, ...] | None = None


OG_TAGS = ("title", "description", "image")


class _MetaParser(HTMLParser):
    """Collect <meta> properties and the <title> text from the page's head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self.canonical = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and key not in self.meta and values.get("content", "").strip():
                self.meta[key] = values["content"].strip()
        elif tag == "title":
            self._in_title = True
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split():
            self.canonical = values.get("href", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and not self.title:
            self.title = " ".join(data.split())


def _decode(body: bytes, content_type: str) -> str:
    match = re.search(r"charset=([\w-]+)", content_type, re.IGNORECASE)
    if not match:
        match = re.search(rb'<meta[^>]+charset=["\']?([\w-]+)', body[:4096], re.IGNORECASE)  # type: ignore[assignment]
    charset = match.group(1) if match else "utf-8"
    if isinstance(charset, bytes):
        charset = charset.decode("ascii", "replace")
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def parse_page(html: str, base_url: str) -> Prefill:
    """Read title, description, image and site name from a page's markup."""
    parser = _MetaParser()
    parser.feed(html)
    meta = parser.meta

    def first(*keys: str) -> str:
        return next((meta[k] for k in keys if meta.get(k)), "")

    image = first(
        "og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src"
    )
    return Prefill(
        title=first("og:title", "twitter:title") or parser.title,
        description=first("og:description", "twitter:description", "description"),
        image=urljoin(base_url, image) if image else "",
        site_name=first("og:site_name") or (urlsplit(base_url).hostname or ""),
        url=base_url,
        og_tags=tuple(
            name
            for name in OG_TAGS
            if meta.get(f"og:{name}")
            or (name == "image" and first("og:image:secure_url", "og:image:url"))
        ),
    )


def prefill_from_url(url: str) -> Prefill:
    """Fetch a page through the guarded client and read its preview; never raises for the page."""
    try:
        page = http.fetch_user_url(url, max_bytes=PREFILL_MAX_BYTES, accept="text/html,*/*;q=0.5")
    except DomainError as exc:
        return Prefill(
            url=url, note=_("Couldn't read the page to pre-fill: %(problem)s", problem=exc.message)
        )
    if page.status >= 400:
        return Prefill(
            url=url,
            note=_(
                "Couldn't read the page to pre-fill: it answered %(status)s.", status=page.status
            ),
        )
    if "html" not in page.content_type.lower():
        return Prefill(
            url=page.url,
            site_name=urlsplit(page.url).hostname or "",
            note=_("The address is not a web page, so there was nothing to pre-fill."),
        )
    return parse_page(_decode(page.body, page.content_type), page.url)
