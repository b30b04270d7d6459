"""The library list: search, filters, sorting and pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import (
    current_app,
    render_template,
    request,
    url_for,
)

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.content import service
from contentfeed.content.forms import AUDIENCE_CHOICES
from contentfeed.content.models import (
    Content,
    ContentKind,
)
from contentfeed.content.views import bp
from contentfeed.content.views.common import (
    signed_in,
)
from contentfeed.db import utcnow
from contentfeed.ui import Page, page_number, query_id, url_with

# Sorting by these starts with the largest (newest, most important) first.
DESCENDING_FIRST = {"created", "priority"}
FILTER_ARGS = ("q", "status", "campaign", "topic", "language", "kind", "audience")


@bp.get("/library")
@access.require_role(*service.AUTHORS)
def library() -> str:
    """List library items with search, filters, sorting and pagination."""
    s = db.session()
    user = signed_in()
    args = request.args
    sort = args.get("sort", "created")
    sort = sort if sort in service.SORTS else "created"
    direction = args.get("dir") or ("desc" if sort in DESCENDING_FIRST else "asc")
    direction = "desc" if direction == "desc" else "asc"
    status = args.get("status", "active")
    status = status if status in service.STATUS_FILTERS else "active"
    per_page = config.current().page_size
    number = page_number()
    now = utcnow()
    query = service.LibraryQuery(
        q=args.get("q", "").strip(),
        status=status,
        campaign_id=query_id("campaign"),
        topic=args.get("topic", "").strip(),
        language=args.get("language", "").strip(),
        kind=args.get("kind", ""),
        audience=args.get("audience", ""),
        sort=sort,
        descending=direction == "desc",
        offset=(number - 1) * per_page,
        limit=per_page,
    )
    result = service.list_library(s, user, query, now)
    filters = {k: args[k] for k in FILTER_ARGS if args.get(k)}
    everything = service.LibraryQuery(status="all", limit=1)
    is_library_empty = result.total == 0 and not service.list_library(s, user, everything).total
    awaiting_approval = 0
    if user.role in service.STAFF and status != "in_review":
        waiting = service.LibraryQuery(status="in_review", limit=1)
        awaiting_approval = service.list_library(s, user, waiting).total
    changed: list[Content] = []
    changes_waiting = 0
    if user.role in service.STAFF:
        changed, changes_waiting = service.waiting_changes(s)
    return render_template(
        "content/library.html",
        items=result.items,
        variant_counts=result.variant_counts,
        variant_languages=result.variant_languages,
        page=Page(number, per_page, result.total, lambda n: url_with(page=n)),
        query=query,
        sort=sort,
        direction=direction,
        status_filters=service.STATUS_FILTERS,
        campaigns=[c for c, _ in service.list_campaigns(s)],
        topics=service.known_topics(s),
        languages=service.known_languages(s),
        kinds=list(ContentKind),
        audiences=AUDIENCE_CHOICES,
        is_filtered=status != "active" or any(k != "status" for k in filters),
        is_library_empty=is_library_empty,
        awaiting_approval=awaiting_approval,
        changed=changed,
        changes_waiting=changes_waiting,
        import_url=_sibling_url("content_import.start", "/library/import"),
        export_url=_sibling_url("content_import.export", "/library/export.csv", **filters),
    )


def _sibling_url(endpoint: str, fallback: str, **args: Any) -> str:
    """Link to the import/export pages, built alongside these, by name once they exist."""
    if endpoint in current_app.view_functions:
        return url_for(endpoint, **args)
    return fallback + (f"?{urlencode(args)}" if args else "")
