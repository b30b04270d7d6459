"""Uploaded files at their stable public addresses."""

from __future__ import annotations

from pathlib import Path

from flask import redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.content.assets import find_asset, gated_content_id, send_asset
from contentfeed.content.views import bp


@bp.get("/files/<public_id>/<path:filename>")
@access.public
def file(public_id: str, filename: str) -> ResponseReturnValue:
    """Serve an uploaded file at its stable public address (sellers' links point here).

    A gated item's file is handed to visitors only by the form's signed download link: a
    visitor who has its plain address (a link shared before it was gated) is sent to the form.
    """
    s = db.session()
    asset = find_asset(s, public_id, filename)
    gated_id = gated_content_id(s, asset)
    if gated_id is not None and not current_user.is_authenticated:
        return redirect(url_for("gated.page", content_id=gated_id))
    return send_asset(asset, Path(config.current().library.upload_dir))
