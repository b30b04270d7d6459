"""An item's click ledger under /api/v1/content/<id>/clicks: what the item page shows."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import json_response, operation
from contentfeed.content import service
from contentfeed.content.api import bp
from contentfeed.content.api.common import AUTHORS, TAG, signed_in
from contentfeed.links import ledger
from contentfeed.links.api import LedgerEntryOut, RequestsOut, entry_out, requests_out


class ClicksOut(BaseModel):
    """Every recorded request for the item's tracked links, by reason, and the newest ones."""

    content_id: int
    requests: RequestsOut
    latest: list[LedgerEntryOut] = Field(
        description=f"The newest {ledger.LATEST} recorded requests, newest first"
    )


@bp.get("/content/<int:content_id>/clicks")
@access.require_scope("read", *AUTHORS)
@operation(summary="An item's click ledger", tag=TAG, response=ClicksOut, errors=(404,))
def content_clicks(content_id: int) -> Response:
    """Return human clicks and filtered requests with their reasons, as on the item page."""
    s = db.session()
    user = signed_in()
    content = service.get_content(s, content_id, user)
    found = ledger.content_ledger(s, user, content.id)
    return json_response(
        ClicksOut(
            content_id=content.id,
            requests=requests_out(found.breakdown),
            latest=[entry_out(e) for e in found.latest],
        )
    )
