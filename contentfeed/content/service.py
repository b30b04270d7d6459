"""The library's use cases, as other domains and the adapters reach them.

Each group lives in its own module (items, workflow, variants, library, campaigns); this
module names them in one place so callers keep one import. Never commits; the caller (the
request, a job) commits once.
"""

from __future__ import annotations

from contentfeed.content.campaigns import (
    find_campaign,
    get_campaign,
    list_campaigns,
    save_campaign,
    slugify,
)
from contentfeed.content.compliance import PREVIEW_CODE, Compliance
from contentfeed.content.history import record_event
from contentfeed.content.items import (
    ContentData,
    NewContent,
    add_item,
    create_content,
    update_content,
)
from contentfeed.content.library import (
    SORTS,
    STATUS_FILTERS,
    LibraryPage,
    LibraryQuery,
    escape_like,
    known_languages,
    known_topics,
    library_query,
    list_library,
    load_details,
    topic_clause,
)
from contentfeed.content.preflight import (
    Preflight,
    VariantPreflight,
    check_again,
    link_notes,
    preflight,
)
from contentfeed.content.revisions import (
    approve_revision,
    four_eyes_on,
    is_reviewed,
    may_approve,
    proposed_variant,
    reject_revision,
    revision_changes,
    waiting_changes,
    writers_of,
)
from contentfeed.content.variants import (
    MAX_VARIANTS,
    RENDER_FAILED,
    VariantData,
    add_variant,
    check_body,
    checked_language,
    content_view,
    delete_variant,
    describe_render_failure,
    find_preview_seller,
    get_variant,
    note_render_failures,
    render_problems,
    save_variant,
    seller_view,
    update_variant,
)
from contentfeed.content.visibility import (
    AUTHORS,
    STAFF,
    can_edit,
    can_see_everything,
    get_content,
    get_editable,
    require_edit,
)
from contentfeed.content.workflow import TRANSITIONS, Transition, available_transitions, transition
from contentfeed.db import utcnow

__all__ = [
    "AUTHORS",
    "MAX_VARIANTS",
    "PREVIEW_CODE",
    "RENDER_FAILED",
    "SORTS",
    "STAFF",
    "STATUS_FILTERS",
    "TRANSITIONS",
    "Compliance",
    "ContentData",
    "LibraryPage",
    "LibraryQuery",
    "NewContent",
    "Preflight",
    "Transition",
    "VariantData",
    "VariantPreflight",
    "add_item",
    "add_variant",
    "approve_revision",
    "available_transitions",
    "can_edit",
    "can_see_everything",
    "check_again",
    "check_body",
    "checked_language",
    "content_view",
    "create_content",
    "delete_variant",
    "describe_render_failure",
    "escape_like",
    "find_campaign",
    "find_preview_seller",
    "four_eyes_on",
    "get_campaign",
    "get_content",
    "get_editable",
    "get_variant",
    "is_reviewed",
    "known_languages",
    "known_topics",
    "library_query",
    "link_notes",
    "list_campaigns",
    "list_library",
    "load_details",
    "may_approve",
    "note_render_failures",
    "preflight",
    "proposed_variant",
    "record_event",
    "reject_revision",
    "render_problems",
    "require_edit",
    "revision_changes",
    "save_campaign",
    "save_variant",
    "seller_view",
    "slugify",
    "topic_clause",
    "transition",
    "update_content",
    "update_variant",
    "utcnow",
    "waiting_changes",
    "writers_of",
]
