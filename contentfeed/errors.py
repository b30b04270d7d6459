"""Domain errors carry their HTTP status; one handler answers HTML pages or JSON under /api/."""

from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from contentfeed import db
from contentfeed.i18n import _, _l

# Each status's page title, in the request's language (str() them where text is needed).
TITLES = {
    400: _l("That request didn't look right"),
    401: _l("Please sign in"),
    403: _l("You don't have access to this page"),
    404: _l("Page not found"),
    405: _l("That action isn't allowed here"),
    409: _l("That conflicts with the current state"),
    410: _l("This link is no longer valid"),
    413: _l("That upload is too large"),
    415: _l("Unsupported content type"),
    422: _l("Some fields need attention"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is briefly unavailable"),
}

# What werkzeug's own exceptions say (in English only), said in the request's language; a
# description given at the raise is kept.
DESCRIPTIONS = {
    400: _l("The browser or client sent a request this server could not understand."),
    401: _l("Sign in, or send valid credentials, to see this."),
    403: _l("You don't have the permission to see this."),
    404: _l(
        "There is nothing at this address. If you typed it, check the spelling; if a link led "
        "here, it may be out of date."
    ),
    405: _l("This address doesn't take that kind of request."),
    409: _l("The request conflicts with the current state of what it changes."),
    410: _l("What this address pointed to is gone."),
    413: _l("What was sent is larger than this server accepts."),
    415: _l("The server doesn't accept content of that type."),
    422: _l("The request was well-formed but could not be followed."),
    429: _l("Too many requests in a short time. Wait a moment and try again."),
    500: _l(
        "The server met an error and could not finish the request. Please try again; if it "
        "keeps happening, tell your admin."
    ),
    503: _l("The service is briefly unavailable. Please try again in a minute."),
}

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class DomainError(Exception):
    """A refusal a user can act on; subclasses set the HTTP status and the error code."""

    status = 400
    code = "bad_request"
    # The SCIM error keyword (RFC 7644 §3.12: "uniqueness", "invalidFilter", ...) a refusal
    # carries when it answers the SCIM endpoints.
    scim_type: str | None = None

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Invalid(DomainError):
    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Gone(DomainError):
    """A link that worked once (or for a while) and no longer does."""

    status = 410
    code = "gone"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_requests"


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class Unavailable(DomainError):
    """The database or another dependency is down; the client should retry later."""

    status = 503
    code = "unavailable"
    retry_after_seconds = 30


def wants_json() -> bool:
    """Tell whether the current request is an API call answered in JSON."""
    return request.path.startswith("/api/")


SCIM_PREFIX = "/scim/"
SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_MEDIA_TYPE = "application/scim+json"
# SCIM knows no 422: a value the rules refuse is a 400 "invalidValue" there (RFC 7644 §3.12).
_SCIM_STATUS = {422: 400}
_SCIM_TYPES = {422: "invalidValue"}


def scim_error_body(status: int, detail: str, scim_type: str | None = None) -> Response:
    """Answer one error the way SCIM clients read it: an Error message, status as a string."""
    shown = _SCIM_STATUS.get(status, status)
    body: dict[str, Any] = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(shown), "detail": detail}
    scim_type = scim_type or _SCIM_TYPES.get(status)
    if scim_type and shown in (400, 409):
        body["scimType"] = scim_type
    response = jsonify(body)
    response.status_code = shown
    response.mimetype = SCIM_MEDIA_TYPE
    if shown == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="contentfeed SCIM"'
    return response


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    fields: dict[str, str] | None = None,
    scim_type: str | None = None,
) -> Response:
    """Render one error as JSON for the API, a SCIM Error under /scim/, or an HTML page.

    The session is rolled back first: after a failed flush it refuses every query until then,
    and the page's layout queries (the signed-in user, the navigation) would fail again.
    """
    _rollback()
    code = code or CODES.get(status, "error")
    if request.path.startswith(SCIM_PREFIX):
        return scim_error_body(status, message, scim_type)
    if wants_json():
        body: dict[str, Any] = {"error": code, "message": message, "fields": fields or {}}
        response = jsonify(body)
    else:
        title = str(TITLES.get(status, _("Something went wrong")))
        response = Response(
            render_template("errors/error.html", status=status, title=title, message=message)
        )
    response.status_code = status
    return response


def _rollback() -> None:
    from contentfeed import db

    # The database may be the thing that failed; the page is rendered all the same.
    with contextlib.suppress(Exception):
        db.session().rollback()


def _domain_error(exc: DomainError) -> Response:
    response = error_response(exc.status, exc.message, exc.code, exc.fields, exc.scim_type)
    if isinstance(exc, Unavailable):
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = _described(exc, status)
    response = error_response(status, message)
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    if exc.response is not None:
        for key in ("Retry-After", "WWW-Authenticate"):
            if key in exc.response.headers:
                response.headers[key] = exc.response.headers[key]
    return response


def _described(exc: HTTPException, status: int) -> str:
    """Return what an HTTP exception says: its own words when given at the raise, else ours
    in the request's language."""
    own = exc.description
    default = getattr(type(exc), "description", None)
    if own and own != default:
        return str(own)
    if status in DESCRIPTIONS:
        return str(DESCRIPTIONS[status])
    return str(own or TITLES.get(status, _("Error")))


def _csrf_error(exc: CSRFError) -> Response:
    return error_response(
        400, _("The form expired or was sent from another site. Reload the page and try again.")
    )


def _database_down(exc: Exception) -> Response:
    """A database that refuses connections or drops them: ask the client to come back."""
    import contextlib

    from flask import current_app

    with contextlib.suppress(Exception):
        db.session().rollback()
    current_app.logger.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.path,
        str(exc).strip().split("\n", 1)[0][:300],
    )
    message = _("The database is briefly unavailable. Please try again in a minute.")
    if "_login_user" not in g:
        # Rendering the page would load the signed-in user (Flask-Login's template context)
        # from the very database that is down; the 5xx page shows no user anyway.
        g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
    try:
        response = error_response(503, message)
    except db.DATABASE_DOWN:
        response = Response(f"{TITLES[503]!s}. {message}\n", mimetype="text/plain")
        response.status_code = 503
    response.headers["Retry-After"] = str(Unavailable.retry_after_seconds)
    return response


# What another request's write that got there first looks like: a unique constraint (someone
# took the name) or a foreign key (someone deleted what this pointed at). PostgreSQL's
# SQLSTATEs, and SQLite's wording. A NOT NULL or CHECK violation is a bug, not a race.
_RACE_SQLSTATES = {"23505", "23503"}
_RACE_SQLITE = ("UNIQUE constraint failed", "FOREIGN KEY constraint failed")


def _lost_race(exc: sa.exc.IntegrityError) -> Response:
    """A unique or foreign-key constraint refused the request's writes when they reached the
    database (as the request's unit of work commits): someone else made a change a moment
    earlier. Nothing of this request is kept. Other constraint errors are bugs: a 500."""
    from flask import current_app

    original = exc.orig
    if getattr(original, "sqlstate", None) not in _RACE_SQLSTATES and not str(original).startswith(
        _RACE_SQLITE
    ):
        return _unexpected(exc)
    current_app.logger.info(
        "constraint refused %s %s: %s",
        request.method,
        request.path,
        str(original).strip().split("\n", 1)[0][:300],
    )
    return error_response(
        409,
        _(
            "Someone else changed this at the same moment, so nothing was saved. "
            "Reload the page to see the current state and try again."
        ),
    )


def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    from flask import current_app

    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, str(DESCRIPTIONS[500]))


def register(app: Flask) -> None:
    """Install the error handlers."""
    app.register_error_handler(DomainError, _domain_error)
    # Connection refused, lost or timed out, SQLite's "database is locked", a session left
    # in a failed transaction by a lost connection, and the drivers' own errors on the
    # hot paths: every way an outage shows answers 503 with Retry-After, never 500.
    for kind in db.DATABASE_DOWN:
        app.register_error_handler(kind, _database_down)
    # Two people acting at once: the loser's commit meets a unique constraint the checks before
    # it could not see yet. A 409 to try again, not a 500.
    app.register_error_handler(sa.exc.IntegrityError, _lost_race)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
