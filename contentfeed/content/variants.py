"""Post variants: the texts sellers share, checked in the sandbox; and render failures.

Never commits; the caller commits once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.content.compliance import Compliance
from contentfeed.content.history import record_event
from contentfeed.content.models import Content, ContentEvent, ContentStatus, PostVariant
from contentfeed.content.revisions import (
    VARIANT_COMMENT_KEY,
    VARIANT_KEY,
    VARIANT_LANGUAGE_KEY,
    is_reviewed,
    open_revision,
    propose,
    proposed_variant,
)
from contentfeed.content.templating import (
    SAMPLE_SELLER,
    ContentView,
    SellerView,
    VariantCheck,
    check_variant,
)
from contentfeed.content.visibility import require_edit
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.i18n import _, _l, ngettext, number_text
from contentfeed.text import Input, MultiLineText, checked_text

MAX_VARIANTS = 10


LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")


def checked_language(value: str) -> str:
    """Return a variant's language code in lower case, or raise ValueError saying what's wrong.

    There is no default: a variant without a language would otherwise reach the wrong sellers.
    """
    code = (value or "").strip().lower()
    if not code:
        raise ValueError(_("Choose the language this variant is written in."))
    if len(code) > 8 or not LANGUAGE_CODE.fullmatch(code):
        raise ValueError(_("Use a language code such as en or de."))
    return code


class VariantData(Input):
    """A post variant's text: Jinja with {{ seller.first_name }}, {{ link }} and the like."""

    model_config = ConfigDict(extra="forbid")

    body: MultiLineText
    first_comment: MultiLineText = Field(
        default="",
        description="What the seller posts as the first comment under the post, a template "
        "like the body (often just {{ link }}); {{ link }} goes in the body or here, not both",
    )
    language: str = Field(
        default="",
        validate_default=True,
        description="The language the text is in (en, de): sellers with it among their "
        "languages get this variant; required",
    )

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return checked_language(value)


def _language_or_refuse(language: str) -> str:
    """Return the checked language code, or raise Invalid naming the field."""
    try:
        return checked_language(language)
    except ValueError as exc:
        raise Invalid(str(exc), {"language": str(exc)}) from None


def seller_view(user: User | None) -> SellerView:
    """Describe a seller to post templates."""
    if user is None:
        return SAMPLE_SELLER
    title = user.seller_profile.title if user.seller_profile else ""
    return SellerView(first_name=user.first_name, name=user.name, title=title)


def content_view(content: Content) -> ContentView:
    """Describe an item to post templates."""
    return ContentView(title=content.title, summary=content.summary, url=content.url)


def check_body(
    content: Content,
    body: str,
    rules: Compliance,
    seller: User | None = None,
    link: str = "",
    first_comment: str = "",
) -> VariantCheck:
    """Check a variant's text and first comment against the sandbox, the length limits and
    compliance."""
    checked_text("body", body, multiline=True)
    checked_text("first_comment", first_comment, multiline=True)
    return check_variant(
        body,
        content=content_view(content),
        link=link or rules.preview_link,
        disclosure=rules.disclosure,
        blocked_words=rules.blocked_words,
        seller=seller_view(seller),
        first_comment=first_comment,
    )


def add_variant(
    s: Session,
    content: Content,
    body: str,
    *,
    language: str,
    actor: User,
    rules: Compliance,
    first_comment: str = "",
) -> tuple[PostVariant, VariantCheck]:
    """Add a post variant after checking it; return it with the check's warnings."""
    require_edit(actor, content)
    reviewed = is_reviewed(content)
    count = len(content.revision.variants) if reviewed and content.revision else None
    if (count if count is not None else len(content.variants)) >= MAX_VARIANTS:
        raise Conflict(_("An item can have at most %(n)s variants.", n=MAX_VARIANTS))
    code = _language_or_refuse(language)
    check = check_body(content, body, rules, first_comment=first_comment)
    comment = first_comment.strip()
    position = max((v.position for v in content.variants), default=0) + 1
    if reviewed:  # four-eyes: the new variant waits for review, sellers keep the live ones
        revision = open_revision(s, content, actor)
        position = max([position - 1, *(e["position"] for e in revision.variants)]) + 1
        entry = {
            "id": None,
            "position": position,
            "language": code,
            "body": body.strip(),
            "first_comment": comment,
        }
        revision.variants = [*revision.variants, entry]
        propose(
            s,
            content,
            actor,
            {
                VARIANT_KEY % position: ["", entry["body"]],
                VARIANT_LANGUAGE_KEY % position: ["", code],
            },
        )
        return proposed_variant(entry), check
    variant = PostVariant(
        content=content, body=body.strip(), first_comment=comment, language=code, position=position
    )
    s.add(variant)
    s.flush()
    record_event(s, content, actor, "variant_added", changes={"variant": position})
    return variant, check


def save_variant(
    s: Session,
    content: Content,
    body: str,
    *,
    language: str,
    actor: User,
    rules: Compliance,
    variant: PostVariant | None = None,
    first_comment: str = "",
) -> tuple[PostVariant, VariantCheck]:
    """Add a post variant, or change the given one, after checking its text, first comment
    and language."""
    if variant is None:
        return add_variant(
            s,
            content,
            body,
            language=language,
            actor=actor,
            rules=rules,
            first_comment=first_comment,
        )
    check = update_variant(
        s,
        content,
        variant,
        body,
        language=language,
        actor=actor,
        rules=rules,
        first_comment=first_comment,
    )
    if content.revision is not None and is_reviewed(content):
        for entry in content.revision.variants:
            if entry["id"] == variant.id:
                return proposed_variant(entry), check
    return variant, check


def find_preview_seller(s: Session, seller_id: object) -> User | None:
    """Return the active seller a preview is rendered for (None: the sample seller), or refuse."""
    if seller_id is None:
        return None
    seller = None
    if isinstance(seller_id, int) and not isinstance(seller_id, bool):
        seller = s.get(User, seller_id)
    if seller is None or seller.role is not Role.SELLER or not seller.is_active:
        raise Invalid(_("Choose an active seller."), {"seller_id": _("Not a seller.")})
    return seller


def get_variant(content: Content, variant_id: int) -> PostVariant:
    """Return one of an item's variants or raise NotFound."""
    for variant in content.variants:
        if variant.id == variant_id:
            return variant
    raise NotFound(_("No such variant on this item."))


def update_variant(
    s: Session,
    content: Content,
    variant: PostVariant,
    body: str,
    *,
    language: str,
    actor: User,
    rules: Compliance,
    first_comment: str = "",
) -> VariantCheck:
    """Change a variant's text, first comment and language after checking them."""
    require_edit(actor, content)
    code = _language_or_refuse(language)
    check = check_body(content, body, rules, first_comment=first_comment)
    comment = first_comment.strip()
    if is_reviewed(content):
        _propose_variant_change(s, content, variant, body.strip(), code, actor, comment)
        return check
    changes: dict[str, object] = {"variant": variant.position}
    edited = variant.body != body.strip()
    if variant.first_comment != comment:
        changes["first_comment"] = True
        variant.first_comment = comment
        edited = True
    if variant.language != code:
        changes["language"] = code
        variant.language = code
        edited = True
    if edited:
        variant.body = body.strip()
        record_event(s, content, actor, "variant_edited", changes=changes)
    s.flush()
    return check


def _revision_entry(
    s: Session, content: Content, variant: PostVariant, actor: User
) -> dict[str, Any]:
    revision = open_revision(s, content, actor)
    for entry in revision.variants:
        if entry["id"] == variant.id:
            return entry
    raise Conflict(_("This variant is deleted in the change waiting for review."))


def _propose_variant_change(
    s: Session,
    content: Content,
    variant: PostVariant,
    body: str,
    code: str,
    actor: User,
    comment: str = "",
) -> None:
    """Put a new text, first comment or language of a live variant into the pending revision
    (four-eyes)."""
    current = (
        next((e for e in content.revision.variants if e["id"] == variant.id), None)
        if content.revision is not None
        else {
            "position": variant.position,
            "body": variant.body,
            "language": variant.language,
            "first_comment": variant.first_comment,
        }
    )
    if current is not None and (
        current["body"],
        current["language"],
        current.get("first_comment", ""),
    ) == (body, code, comment):
        return  # nothing new
    entry = _revision_entry(s, content, variant, actor)
    changes: dict[str, object] = {}
    if entry["body"] != body:
        changes[VARIANT_KEY % entry["position"]] = [entry["body"], body]
    if entry["language"] != code:
        changes[VARIANT_LANGUAGE_KEY % entry["position"]] = [entry["language"], code]
    if entry.get("first_comment", "") != comment:
        changes[VARIANT_COMMENT_KEY % entry["position"]] = [entry.get("first_comment", ""), comment]
    revision = content.revision
    assert revision is not None
    revision.variants = [
        {**e, "body": body, "language": code, "first_comment": comment} if e is entry else e
        for e in revision.variants
    ]
    propose(s, content, actor, changes)


def delete_variant(s: Session, content: Content, variant: PostVariant, *, actor: User) -> None:
    """Remove a variant; an approved item keeps at least one."""
    require_edit(actor, content)
    if is_reviewed(content):  # four-eyes: the deletion waits for review
        entry = _revision_entry(s, content, variant, actor)
        revision = content.revision
        assert revision is not None
        if len(revision.variants) <= 1:
            raise Conflict(
                _("This item is in use; it needs at least one variant. Add another first.")
            )
        revision.variants = [e for e in revision.variants if e is not entry]
        propose(s, content, actor, {VARIANT_KEY % entry["position"]: [entry["body"], ""]})
        return
    if content.status is not ContentStatus.DRAFT and len(content.variants) <= 1:
        raise Conflict(_("This item is in use; it needs at least one variant. Add another first."))
    content.variants.remove(variant)
    record_event(s, content, actor, "variant_deleted", changes={"variant": variant.position})
    s.flush()


RENDER_FAILED = "variant_failed"
_MAX_FAILED_SELLER_IDS = 1000  # enough to count the sellers of a big team


def note_render_failures(
    s: Session, variant_id: int, reason: str, seller_ids: Sequence[int], now: datetime
) -> None:
    """Record for the item's authors that a variant could not be rendered for some sellers.

    One entry per variant text and reason: later runs that fail the same way add their
    sellers to it instead of filling the item's history with copies.
    """
    variant = s.get(PostVariant, variant_id)
    if variant is None:
        return
    earlier = s.scalars(
        sa.select(ContentEvent)
        .where(
            ContentEvent.content_id == variant.content_id,
            ContentEvent.action == RENDER_FAILED,
            ContentEvent.created_at >= variant.updated_at,
        )
        .order_by(ContentEvent.id.desc())
    )
    for event in earlier:
        if event.changes.get("variant_id") == variant.id and event.changes.get("reason") == reason:
            ids = sorted({*event.changes.get("seller_ids", []), *seller_ids})
            ids = ids[:_MAX_FAILED_SELLER_IDS]
            event.changes = {**event.changes, "seller_ids": ids, "last_at": now.isoformat()}
            return
    ids = sorted(set(seller_ids))[:_MAX_FAILED_SELLER_IDS]
    record_event(
        s,
        variant.content,
        None,
        RENDER_FAILED,
        changes={
            "variant": variant.position,
            "variant_id": variant.id,
            "reason": reason,
            "seller_ids": ids,
            "last_at": now.isoformat(),
        },
    )


def render_problems(content: Content) -> dict[int, list[str]]:
    """Say, per variant, for how many sellers its current text could not be rendered, and why."""
    problems: dict[int, list[str]] = {}
    updated = {v.id: v.updated_at for v in content.variants}
    for event in content.events:
        variant_id = event.changes.get("variant_id")
        if event.action != RENDER_FAILED or variant_id not in updated:
            continue
        if event.created_at < updated[variant_id]:
            continue  # about an earlier text of the variant
        problems.setdefault(variant_id, []).append(describe_render_failure(event))
    return problems


def describe_render_failure(event: ContentEvent) -> str:
    """Say a recorded render failure in words."""
    n = len(event.changes.get("seller_ids", []))
    count = number_text(n) + ("+" if n >= _MAX_FAILED_SELLER_IDS else "")
    reason = event.changes.get("reason") or ""
    return ngettext(
        "Variant %(variant)s could not be rendered for %(count)s seller: %(reason)s",
        "Variant %(variant)s could not be rendered for %(count)s sellers: %(reason)s",
        n,
        variant=event.changes.get("variant", "?"),
        count=count,
        reason=reason_text(reason) if reason else _("unknown reason"),
    )


def reason_text(reason: str) -> str:
    """Say a stored render-failure reason in the viewer's language.

    Reasons are kept in English (the scheduler groups failures by them, whoever reads them
    later); the known ones are translated as they are shown, others are shown as kept.
    """
    known = _RENDER_REASONS.get(reason)
    if known is not None:
        return str(known)
    if method := re.fullmatch(r"it uses \.(\w+)\(\)", reason):
        return _("it uses .%(name)s()", name=method.group(1))
    if numbers := re.fullmatch(r"range\(\) beyond (\d+) numbers", reason):
        return _("range() beyond %(n)s numbers", n=numbers.group(1))
    return reason


# The brief reasons sandbox.py gives (TemplateLimit.reason), as they are shown.
_RENDER_REASONS = {
    "rendering took too long": _l("rendering took too long"),
    "its loops run too many times": _l("its loops run too many times"),
    "it builds too much text": _l("it builds too much text"),
    "it computes huge numbers": _l("it computes huge numbers"),
    "it formats text with %": _l("it formats text with %"),
    "it passes huge numbers": _l("it passes huge numbers"),
    "output too long": _l("output too long"),
}
