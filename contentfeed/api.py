"""The JSON API's shared parts: the /api/v1 root, request parsing, and the OpenAPI 3.1 document.

Each API view declares itself with ``@operation(...)``; the OpenAPI document is built from the
app's URL map and those declarations, so it cannot drift from the routes that exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from pydantic import AfterValidator, BaseModel, ValidationError
from werkzeug.routing import IntegerConverter

from contentfeed import config
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.errors import CODES, Invalid
from contentfeed.i18n import _
from contentfeed.text import Input, input_problem


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: the operation (endpoint and method) a success answer leads to, and
    where its parameters come from, e.g. ``{"content_id": "$response.body#/id"}``."""

    endpoint: str
    method: str
    parameters: Mapping[str, str]


def _operation_id(endpoint: str, method: str) -> str:
    return endpoint.replace(".", "_") + "_" + method.lower()


# Every model filled from a request is an Input: no text field escapes the control-character
# check, and mypy refuses a plain BaseModel here.
M = TypeVar("M", bound=Input)
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class ErrorBody(BaseModel):
    """Every API error has this shape."""

    error: str
    message: str
    fields: dict[str, str]


class UserRef(BaseModel):
    """A user, by id and name."""

    id: int
    name: str


class QueueRef(BaseModel):
    """A queue, by id and name."""

    id: int
    name: str


class Me(BaseModel):
    """The token's user and what the token may do."""

    id: int
    email: str
    name: str
    role: Role
    team: str | None
    scopes: list[str]


def operation(
    *,
    summary: str,
    tag: str,
    response: type[BaseModel] | None = None,
    status: int = 200,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    query: type[BaseModel] | None = None,
    errors: tuple[int, ...] = (),
    content_type: str = "application/json",
    response_type: str | None = None,
    links: Mapping[str, Link] | None = None,
) -> Callable[[F], F]:
    """Describe an API view for the OpenAPI document.

    ``content_type`` is the request body's media type (``body_required=False``: the body may
    be left out); ``response_type`` names a success
    answer that is not a JSON model (a CSV file, say), described as text of that type.
    ``links`` name the operations a success answer leads to (OpenAPI links), so clients and
    the fuzzer can follow an id from one answer into the next call.
    """

    def decorator(view: F) -> F:
        view.openapi = {  # type: ignore[attr-defined]
            "summary": summary,
            "tag": tag,
            "response": response,
            "status": status,
            "body": body,
            "body_required": body_required,
            "query": query,
            "errors": errors,
            "content_type": content_type,
            "response_type": response_type,
            "links": dict(links or {}),
            "doc": (view.__doc__ or "").strip(),
        }
        return view

    return decorator


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# API answers give every time in UTC, whatever offset it was stored or sent with.
Timestamp = Annotated[datetime, AfterValidator(_as_utc)]


def json_response(model: BaseModel, status: int = 200) -> Response:
    """Answer with a model as JSON."""
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def parse_json(model: type[M]) -> M:
    """Parse the request's JSON body into a model, or refuse it naming the fields at fault."""
    if not request.is_json:
        raise Invalid(_("Send a JSON body with 'Content-Type: application/json'."))
    data = request.get_json(silent=True)
    if data is None:
        raise Invalid(_("The body is not valid JSON."))
    return validate(model, data)


def parse_query(model: type[M]) -> M:
    """Parse query-string parameters into a model, naming the parameters at fault."""
    return validate(model, request.args.to_dict())


def validate(model: type[M], data: Any) -> M:
    """Validate data against a model, turning pydantic's errors into field messages."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = {
            ".".join(str(p) for p in err["loc"]) or "body": input_problem(err)
            for err in exc.errors()
        }
        raise Invalid(_("Some fields need attention."), fields) from None


_RULE_ARG = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


def build_openapi(app: Flask) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document from the URL map and each view's declaration."""
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error_ref = ref(ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = _RULE_ARG.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "operationId": _operation_id(rule.endpoint, method),
                "summary": meta["summary"],
                "tags": [meta["tag"]],
                "responses": {},
            }
            if meta["doc"]:
                op["description"] = meta["doc"]
            parameters = [
                {"name": arg, "in": "path", "required": True, "schema": _arg_schema(rule, arg)}
                for arg in sorted(rule.arguments)
            ]
            if meta["query"] is not None:
                query_schema = meta["query"].model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                schemas.update(query_schema.pop("$defs", {}))
                required = set(query_schema.get("required", []))
                for name, prop in query_schema.get("properties", {}).items():
                    parameters.append(
                        {"name": name, "in": "query", "required": name in required, "schema": prop}
                    )
            if parameters:
                op["parameters"] = parameters
            if meta["body"] is not None:
                op["requestBody"] = {
                    "required": meta.get("body_required", True),
                    "content": {meta["content_type"]: {"schema": ref(meta["body"])}},
                }
            success: dict[str, Any] = {"description": "Success"}
            if meta["response"] is not None:
                success["content"] = {"application/json": {"schema": ref(meta["response"])}}
            elif meta["response_type"] is not None:
                success["content"] = {meta["response_type"]: {"schema": {"type": "string"}}}
            if meta["links"]:
                success["links"] = {
                    name: {
                        "operationId": _operation_id(link.endpoint, link.method),
                        "parameters": dict(link.parameters),
                    }
                    for name, link in meta["links"].items()
                }
            op["responses"][str(meta["status"])] = success
            scope = getattr(view, "required_scope", None)
            statuses = set(meta["errors"])
            if scope is not None:
                op["security"] = [{"bearerToken": [scope]}]
                statuses |= {401, 403}
            else:
                op["security"] = []
            if meta["body"] is not None or meta["query"] is not None:
                statuses.add(422)
            for code in sorted(statuses):
                op["responses"][str(code)] = {
                    "description": CODES.get(code, "error").replace("_", " ").capitalize(),
                    "content": {"application/json": {"schema": error_ref}},
                }
            paths.setdefault(path, {})[method.lower()] = op
    _check_links(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "contentfeed API",
            "version": "1",
            "description": (
                "Library content, suggestions, tracked links, leads and routing. "
                "Authenticate with 'Authorization: Bearer <token>'; admins issue scoped tokens "
                "under Admin → API tokens or with `contentfeed create-token`. Errors always "
                'answer {"error": code, "message": text, "fields": {field: problem}}.'
            ),
        },
        "servers": [{"url": config.current().public_base_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A contentfeed API token (cf_…); scopes are checked per call.",
                }
            },
        },
    }


def _check_links(paths: dict[str, dict[str, Any]]) -> None:
    """Fail loudly when a declared link names an operation that does not exist."""
    operations = [op for methods in paths.values() for op in methods.values()]
    known = {op["operationId"] for op in operations}
    for op in operations:
        for answer in op["responses"].values():
            for name, link in answer.get("links", {}).items():
                if link["operationId"] not in known:
                    raise LookupError(f"{op['operationId']}: link {name!r} leads nowhere")


def _arg_schema(rule: Any, arg: str) -> dict[str, Any]:
    converter = rule._converters.get(arg)
    if isinstance(converter, IntegerConverter):
        schema: dict[str, Any] = {"type": "integer"}
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    return {"type": "string"}


@bp.get("/openapi.json")
@access.public
def openapi() -> Response:
    """Serve the OpenAPI 3.1 document describing every endpoint under /api/v1."""
    return jsonify(build_openapi(current_app))


@bp.get("/me")
@access.require_scope("read")
@operation(summary="The token's user and scopes", tag="accounts", response=Me)
def me() -> Response:
    """Return who the token belongs to, so a client can check its set-up."""
    token = g.api_token
    user = token.user
    body = Me(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        team=user.team.name if user.team else None,
        scopes=token.scopes,
    )
    return jsonify(body.model_dump(mode="json"))
