"""Post templates: marketer-written Jinja, rendered in a sandbox for one seller.

Post text is plain text (LinkedIn shows it as typed), so nothing is HTML-escaped. Unknown
placeholders are refused rather than rendered empty, and anything that reaches outside
the sandbox (``{{ ''.__class__.__mro__ }}`` and the like) is refused, naming the line.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from types import TracebackType
from typing import Any

from jinja2 import Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from contentfeed.content.linkedin import (
    COMMENT_MAX_CHARS,
    HASHTAGS_AT_MOST,
    POST_MAX_CHARS,
    Note,
    text_notes,
)
from contentfeed.content.sandbox import (
    CHECK_SECONDS,
    POST_SANDBOX,
    RENDER_SECONDS,
    Budget,
    TemplateLimit,
    count_text,
    render_bounded,
)
from contentfeed.errors import Invalid
from contentfeed.i18n import _, _l

LINKEDIN_MAX_CHARS = POST_MAX_CHARS
LINKEDIN_COMMENT_MAX_CHARS = COMMENT_MAX_CHARS
HASHTAG_WARNING_ABOVE = HASHTAGS_AT_MOST
PLACEHOLDERS = (
    "{{ seller.first_name }}",
    "{{ seller.name }}",
    "{{ seller.title }}",
    "{{ content.title }}",
    "{{ content.summary }}",
    "{{ link }}",
)
_TEMPLATE_NAME = "<post variant>"


@dataclass(frozen=True)
class SellerView:
    """What a template may know about the seller."""

    first_name: str
    name: str
    title: str


@dataclass(frozen=True)
class ContentView:
    """What a template may know about the content."""

    title: str
    summary: str
    url: str


SAMPLE_SELLER = SellerView(
    first_name="Alexandra", name="Alexandra Montgomery-Whitfield", title="Senior Account Executive"
)
# Who else a variant is tried for before it is saved: a template that works for the sample
# seller but breaks for a seller with no title or a long name would otherwise pass the check
# and then fail (or run away) for those sellers every time the scheduler fills feeds.
SAMPLE_SELLERS: tuple[tuple[Any, SellerView], ...] = (
    (_l("a seller with a short name"), SellerView("Jo", "Jo Li", "Sales")),
    (_l("a seller with no name or title"), SellerView("", "", "")),
    (_l("a seller without a title"), SellerView("Sam", "Sam Seller", "")),
    (
        _l("a seller with a long name and title"),
        SellerView(
            "Maximiliane-Alexandrine",
            "Maximiliane-Alexandrine Freifrau von Hohenzollern-Sigmaringen-Wittelsbach",
            "Senior Vice President Strategic Enterprise Accounts, Central and Eastern Europe",
        ),
    ),
    (
        _l("a seller with accents and non-Latin letters"),
        SellerView("Zoë", "Zoë Łukasiewicz-Ångström 李小龍", "Directrice générale · 営業部長"),
    ),
)


class TemplateRefused(Invalid):
    """A post template that cannot be used, with the line at fault when known.

    ``reason`` is a few words for summaries ("rendering took too long"); ``is_costly`` says
    the template hit a limit that takes time to reach, so a run stops trying it.
    """

    def __init__(
        self, message: str, line: int | None = None, *, reason: str = "", is_costly: bool = False
    ) -> None:
        text = _("Line %(line)s: %(problem)s", line=line, problem=message) if line else message
        super().__init__(text, {"body": text})
        self.line = line
        self.reason = reason or text
        self.is_costly = is_costly


@lru_cache(maxsize=4096)
def compile_template(body: str) -> Template:
    """Parse a post template once (cached: the scheduler renders the same bodies many times)."""
    try:
        return POST_SANDBOX.from_string(body)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(
            _("the template doesn't parse: %(problem)s", problem=exc.message), exc.lineno
        ) from None


def _template_line(tb: TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_post(
    body: str,
    *,
    seller: SellerView,
    content: ContentView,
    link: str,
    disclosure: str = "",
    deadline: float | None = None,
) -> str:
    """Render a variant for one seller, with the compliance disclosure appended once.

    The rendering is bounded (see the MAX_* limits) and given RENDER_SECONDS, or until
    ``deadline`` (a time.monotonic() value) if that comes first.
    """
    template = compile_template(body)
    limit = time.monotonic() + RENDER_SECONDS
    budget = Budget(min(limit, deadline) if deadline is not None else limit)
    try:
        text = render_bounded(template, budget, seller=seller, content=content, link=link)
    except TemplateLimit as exc:
        line = _template_line(sys.exc_info()[2])
        raise TemplateRefused(
            exc.message, line, reason=exc.reason, is_costly=exc.is_costly
        ) from None
    except SecurityError:
        line = _template_line(sys.exc_info()[2])
        raise TemplateRefused(
            _("the template reaches outside what post templates may use."), line
        ) from None
    except UndefinedError as exc:
        line = _template_line(sys.exc_info()[2])
        allowed = ", ".join(PLACEHOLDERS)
        message = re.sub(
            r"'[\w.]*?(\w+)View object'", lambda m: m.group(1).lower(), exc.message or ""
        )
        raise TemplateRefused(
            _(
                "%(problem)s. Placeholders you can use: %(allowed)s",
                problem=message,
                allowed=allowed,
            ),
            line,
        ) from None
    except Exception as exc:  # a marketer's template must never take a request down
        line = _template_line(sys.exc_info()[2])
        raise TemplateRefused(_("the template failed: %(problem)s", problem=exc), line) from None
    text = text.strip()
    if disclosure and disclosure.lower() not in text.lower():
        text = f"{text}\n\n{disclosure}"
    return text


def blocked_word_in(text: str, blocked_words: list[str]) -> str | None:
    """Return the first blocked word found in the text (whole words, any case), if any."""
    for word in blocked_words:
        if word.strip() and re.search(
            rf"(?<!\w){re.escape(word.strip())}(?!\w)", text, re.IGNORECASE
        ):
            return word.strip()
    return None


@dataclass(frozen=True)
class VariantCheck:
    """What checking a variant found: the sample rendering, its length, and warnings; and
    its first comment's sample rendering ("" for none)."""

    rendered: str
    length: int
    warnings: list[str]
    notes: list[Note] = field(default_factory=list)
    comment: str = ""


def render_comment(
    body: str,
    *,
    seller: SellerView,
    content: ContentView,
    link: str,
    deadline: float | None = None,
) -> str:
    """Render a variant's first comment for one seller (same sandbox and limits as the post,
    no disclosure: that goes with the post); "" when the variant has none."""
    if not body.strip():
        return ""
    try:
        return render_post(body, seller=seller, content=content, link=link, deadline=deadline)
    except TemplateRefused as exc:
        text = exc.message.split(": ", 1)[1] if exc.line else exc.message
        message = _("First comment: %(problem)s", problem=text)
        refused = TemplateRefused(message, reason=exc.reason, is_costly=exc.is_costly)
        refused.fields = {"first_comment": exc.message}
        raise refused from None


def _check_comment_shape(body: str, first_comment: str) -> None:
    """Refuse a first comment whose link would appear twice: the link goes in exactly one of
    the post and its first comment."""
    if not first_comment.strip():
        return
    if "link" in _referenced_names(first_comment) and "link" in _referenced_names(body):
        message = _(
            "Put %(link)s in the post or in its first comment, not both: a post that carries "
            "the link and a comment that repeats it reads as spam.",
            link="{{ link }}",
        )
        refused = TemplateRefused(message)
        refused.fields = {"first_comment": message}
        raise refused


def check_variant(
    body: str,
    *,
    content: ContentView,
    link: str,
    disclosure: str,
    blocked_words: list[str],
    seller: SellerView = SAMPLE_SELLER,
    first_comment: str = "",
) -> VariantCheck:
    """Refuse a variant that doesn't parse, escapes the sandbox, goes beyond a template's
    limits, is too long or uses a blocked word, for the given seller or any of the sample
    sellers; the same for its first comment (LinkedIn takes 1,250 characters in a comment),
    and a link in both; otherwise return its rendering for the given seller, with warnings."""
    if not body.strip():
        raise TemplateRefused(_("Write the post text."))
    word = blocked_word_in(body, blocked_words)
    if word:
        raise TemplateRefused(_blocked_word(word))
    word = blocked_word_in(first_comment, blocked_words)
    if word:
        refused = TemplateRefused(_blocked_word(word))
        refused.fields = {"first_comment": refused.message}
        raise refused
    deadline = time.monotonic() + CHECK_SECONDS
    rendered = comment = ""
    for label, profile in (("", seller), *SAMPLE_SELLERS):
        try:
            text = render_post(
                body,
                seller=profile,
                content=content,
                link=link,
                disclosure=disclosure,
                deadline=deadline,
            )
            _check_rendered(text, blocked_words)
            said = render_comment(
                first_comment, seller=profile, content=content, link=link, deadline=deadline
            )
            _check_rendered_comment(said, blocked_words)
        except TemplateRefused as exc:
            if not label:
                raise
            refused = TemplateRefused(
                _(
                    "%(problem)s (when rendered for %(seller)s)",
                    problem=exc.message.split(": ", 1)[1] if exc.line else exc.message,
                    seller=label,
                ),
                exc.line,
                reason=exc.reason,
                is_costly=exc.is_costly,
            )
            if "first_comment" in exc.fields:
                refused.fields = {"first_comment": refused.message}
            raise refused from None
        rendered = rendered or text
        comment = comment or said
    _check_comment_shape(body, first_comment)  # both parse: they rendered
    names = _referenced_names(body)
    in_comment = bool(first_comment.strip()) and "link" in _referenced_names(first_comment)
    notes = text_notes(rendered, link=link, uses_link="link" in names or in_comment)
    warnings = [note.message for note in notes if note.level == "warning"]
    return VariantCheck(
        rendered=rendered, length=len(rendered), warnings=warnings, notes=notes, comment=comment
    )


def _check_rendered_comment(rendered: str, blocked_words: list[str]) -> None:
    word = blocked_word_in(rendered, blocked_words)
    if word:
        raise TemplateRefused(_blocked_word(word))
    if len(rendered) > LINKEDIN_COMMENT_MAX_CHARS:
        message = _(
            "the first comment is %(n)s characters once rendered; LinkedIn allows %(max)s in a "
            "comment. Shorten it by %(over)s.",
            n=count_text(len(rendered)),
            max=count_text(LINKEDIN_COMMENT_MAX_CHARS),
            over=count_text(len(rendered) - LINKEDIN_COMMENT_MAX_CHARS),
        )
        refused = TemplateRefused(message)
        refused.fields = {"first_comment": message}
        raise refused


def _check_rendered(rendered: str, blocked_words: list[str]) -> None:
    word = blocked_word_in(rendered, blocked_words)
    if word:
        raise TemplateRefused(_blocked_word(word))
    if len(rendered) > LINKEDIN_MAX_CHARS:
        raise TemplateRefused(
            _(
                "the post is %(n)s characters once rendered; LinkedIn allows %(max)s. Shorten "
                "it by %(over)s.",
                n=count_text(len(rendered)),
                max=count_text(LINKEDIN_MAX_CHARS),
                over=count_text(len(rendered) - LINKEDIN_MAX_CHARS),
            )
        )


def _blocked_word(word: str) -> str:
    return _("“%(word)s” is on the compliance list of blocked words; rephrase it.", word=word)


def _referenced_names(body: str) -> set[str]:
    from jinja2 import meta

    return set(meta.find_undeclared_variables(POST_SANDBOX.parse(body)))
