"""Uploaded files at their stable public addresses."""

from __future__ import annotations

from pathlib import Path

from flask import (
    send_from_directory,
)
from flask.typing import ResponseReturnValue

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.content.assets import asset_path, find_asset
from contentfeed.content.views import bp


@bp.get("/files/<public_id>/<path:filename>")
@access.public
def file(public_id: str, filename: str) -> ResponseReturnValue:
    """Serve an uploaded file at its stable public address (sellers' links point here)."""
    asset = find_asset(db.session(), public_id, filename)
    folder = Path(config.current().library.upload_dir)
    path = asset_path(asset, folder)
    response = send_from_directory(
        folder,
        path.name,
        mimetype=asset.content_type,
        download_name=asset.filename,
        as_attachment=False,
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return response
