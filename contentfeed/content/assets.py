"""Uploaded files: size-limited, typed by their bytes (not their name), stored under a folder."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import IO

import filetype
import sqlalchemy as sa
from flask import Response, send_from_directory
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from contentfeed.accounts.models import User
from contentfeed.content.models import Asset, Content
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import _, _l

# extension -> MIME type, for the kinds of file marketing shares.
ALLOWED_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "mp4": "video/mp4",
}
IMAGE_EXTENSIONS = {"png", "jpg", "gif", "webp"}
_CHUNK = 1 << 16


ALLOWED_TEXT = _l("PDF, PNG, JPEG, GIF, WebP, PowerPoint (PPTX), Word (DOCX), Excel (XLSX) or MP4")


def describe_allowed() -> str:
    """Name the accepted file kinds for people, in the language being spoken."""
    return str(ALLOWED_TEXT)


def store_upload(
    s: Session,
    stream: IO[bytes],
    filename: str,
    *,
    folder: Path,
    max_bytes: int,
    uploaded_by: User | None,
) -> Asset:
    """Check and keep an uploaded file; refuse it when too large or of a kind we don't serve."""
    folder.mkdir(parents=True, exist_ok=True)
    public_id = secrets.token_urlsafe(12)
    partial = folder / f".{public_id}.part"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with partial.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    mb = f"{max_bytes / 1_000_000:.0f}"
                    raise Invalid(
                        _("The file is larger than %(mb)s MB.", mb=mb),
                        {"file": _("Larger than %(mb)s MB.", mb=mb)},
                    )
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid(_("The file is empty."), {"file": _("The file is empty.")})
        kind = filetype.guess(head) if len(head) < size else filetype.guess(partial.read_bytes())
        extension = kind.extension if kind else ""
        if extension not in ALLOWED_TYPES:
            if kind:
                message = _(
                    "This file looks like %(mime)s; upload a %(kinds)s.",
                    mime=kind.mime,
                    kinds=describe_allowed(),
                )
            else:
                message = _(
                    "This file isn't a recognised document, image or video; upload a %(kinds)s.",
                    kinds=describe_allowed(),
                )
            raise Invalid(message, {"file": message})
        target = folder / f"{public_id}.{extension}"
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    clean_name = secure_filename(filename) or f"file.{extension}"
    if not clean_name.lower().endswith(f".{extension}"):
        clean_name = f"{Path(clean_name).stem or 'file'}.{extension}"
    asset = Asset(
        public_id=public_id,
        filename=clean_name,
        content_type=ALLOWED_TYPES[extension],
        extension=extension,
        size=size,
        sha256=digest.hexdigest(),
        uploaded_by_id=uploaded_by.id if uploaded_by else None,
    )
    s.add(asset)
    s.flush()
    return asset


def find_asset(s: Session, public_id: str, filename: str) -> Asset:
    """Return the uploaded file at this public address, or raise NotFound."""
    asset = s.scalar(sa.select(Asset).where(Asset.public_id == public_id))
    if asset is None or asset.filename != filename:
        raise NotFound(_("This file is no longer available."))
    return asset


def public_url(asset: Asset, base_url: str) -> str:
    """Return the stable public address of an uploaded file (served by content.views.file)."""
    return f"{base_url.rstrip('/')}/files/{asset.public_id}/{asset.filename}"


def asset_path(asset: Asset, folder: Path) -> Path:
    """Return where an asset's bytes are kept."""
    return folder / f"{asset.public_id}.{asset.extension}"


def gated_content_id(s: Session, asset: Asset) -> int | None:
    """Return the id of the gated item offering this file behind its lead form, or None:
    such a file is handed to visitors only through the form's signed download link."""
    query = sa.select(Content.id).where(Content.asset_id == asset.id, Content.is_gated.is_(True))
    return s.scalars(query.limit(1)).first()


def send_asset(asset: Asset, folder: Path, max_age: int = 3600) -> Response:
    """Answer a request with an uploaded file's bytes, under a policy that runs nothing in it."""
    response = send_from_directory(
        folder,
        asset_path(asset, folder).name,
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
