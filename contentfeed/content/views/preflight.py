"""The item page's LinkedIn pre-flight: reading the page and the image again."""

from __future__ import annotations

from flask import flash, redirect, url_for
from werkzeug.wrappers import Response

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.content import service
from contentfeed.content.views import bp
from contentfeed.content.views.common import signed_in, upload_folder
from contentfeed.i18n import _


@bp.post("/library/<int:content_id>/preflight")
@access.require_role(*service.AUTHORS)
def preflight_check(content_id: int) -> Response:
    """Read the item's page (its og: tags) and image again for the LinkedIn pre-flight."""
    s = db.session()
    user = signed_in()
    content = service.get_editable(s, content_id, user)
    notes = service.check_again(s, content, actor=user, files=upload_folder())
    warnings = [note for note in notes if note.level == "warning"]
    if warnings:
        for note in warnings:
            flash(_("LinkedIn: %(note)s", note=note.message), "warning")
    else:
        flash(_("Checked again: LinkedIn's preview of the link has nothing to fix."), "success")
    return redirect(url_for("content.detail", content_id=content_id) + "#preflight")
