"""Uploaded files at their stable public addresses."""

from __future__ import annotations

from pathlib import Path

from flask import (
    redirect,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.content.assets import asset_path, find_asset, gated_content_id
from contentfeed.content.models import Asset
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
    return send_asset(asset)


def send_asset(asset: Asset, max_age: int = 3600) -> ResponseReturnValue:
    """Answer with an uploaded file's bytes, under a policy that runs nothing inside it."""
    folder = Path(config.current().library.upload_dir)
    path = asset_path(asset, folder)
    response = send_from_directory(
        folder,
        path.name,
        mimetype=asset.content_type,
        download_name=asset.filename,
        as_attachment=False,
        max_age=max_age,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return response
