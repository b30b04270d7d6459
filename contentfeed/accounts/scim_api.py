"""SCIM 2.0 endpoints under /scim/v2 (RFC 7644): Users, Groups and the discovery documents.

Parses SCIM messages with scim2-models, calls the use cases in ``accounts/scim.py`` and
answers ``application/scim+json``; refusals are SCIM Error messages (``errors.py``). Every
call needs an admin's API token with the ``scim`` scope (docs/scim.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, json, request
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    ListResponse,
    Meta,
    Patch,
    PatchOp,
    Required,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
)
from scim2_models import Group as ScimGroup
from scim2_models import User as ScimUser
from scim2_models.resources.schema import Attribute

from contentfeed import config, db
from contentfeed.accounts import access, scim
from contentfeed.accounts.models import Role, Team, User
from contentfeed.errors import SCIM_MEDIA_TYPE
from contentfeed.i18n import set_request_locale

bp = Blueprint("scim_api", __name__, url_prefix="/scim/v2")

T = TypeVar("T")


@bp.before_request
def _speak_english() -> None:
    """SCIM's error details are read by machines and their admins' logs: English."""
    set_request_locale("en")


def _guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    return access.require_scope("scim", Role.ADMIN)(view)


def base_url() -> str:
    """The address of the SCIM endpoints as this request reached them."""
    return request.url_root.rstrip("/") + bp.url_prefix  # type: ignore[operator]


def settings() -> scim.ScimSettings:
    sso = config.current().sso
    return scim.ScimSettings(
        base_url=base_url(), default_role=sso.default_role, group_roles=dict(sso.group_roles)
    )


def answer(body: dict[str, Any], status: int = 200, location: str | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype=SCIM_MEDIA_TYPE)
    if location:
        response.headers["Location"] = location
    return response


def _refused(exc: ValidationError | SCIMException) -> scim.ScimRefusal:
    if isinstance(exc, SCIMException):
        return scim.refusal_of(exc)
    error = Error.from_validation_errors(exc)[0]
    return scim.ScimRefusal(error.status or 400, error.detail or "invalid", error.scim_type)


def body_of(model: type[T], context: Context) -> T:
    """Read the request's JSON body as a SCIM message, or refuse it (400)."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise scim.invalid("the body is not a JSON object", "invalidSyntax")
    try:
        with scim.POLICY:
            return model.model_validate(data, scim_ctx=context)  # type: ignore[attr-defined, no-any-return]
    except (ValidationError, SCIMException) as exc:
        raise _refused(exc) from None


def search_of(model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return SearchRequest[model].model_validate(data, scim_ctx=Context.SEARCH_REQUEST)  # type: ignore[valid-type]
    except (ValidationError, SCIMException) as exc:
        raise _refused(exc) from None


def shown(model: type[Any]) -> Any:
    """The ``attributes`` and ``excludedAttributes`` the request asks for."""
    try:
        return ResponseParameters[model].model_validate(  # type: ignore[valid-type]
            {
                "attributes": request.args.get("attributes"),
                "excludedAttributes": request.args.get("excludedAttributes"),
            }
        )
    except (ValidationError, SCIMException) as exc:
        raise _refused(exc) from None


def dump(resource: Any, context: Context, parameters: Any = None) -> dict[str, Any]:
    return resource.model_dump(scim_ctx=context, response_parameters=parameters)  # type: ignore[no-any-return]


def listed(page: scim.Page, resources: list[Any], model: type[Any], parameters: Any) -> Response:
    body = ListResponse[model](  # type: ignore[valid-type]
        total_results=page.total,
        start_index=page.start_index,
        items_per_page=len(resources),
        resources=resources or None,
    )
    return answer(dump(body, Context.SEARCH_RESPONSE, parameters))


# --- discovery -----------------------------------------------------------------------------

# What each resource publishes: the attributes this service keeps, with the rules of its data
# model (every account has a name, an email and a state; a member is a user). Others are
# read but not kept, so they are not published (docs/scim.md).
_USER_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "userName": {},
    "displayName": {"required": True},
    "preferredLanguage": {"canonical_values": ["de", "en"]},
    "active": {"required": True},
    "emails": {"required": True, "sub_attributes": ("value",), "required_sub": "value"},
    "groups": {"sub_attributes": ("value", "$ref", "display")},
}
_GROUP_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "displayName": {},
    "members": {"sub_attributes": ("value", "$ref", "type"), "type_values": ["User"]},
}


def _published(model: type[Any], keep: dict[str, dict[str, Any]]) -> Schema:
    schema: Schema = model.to_schema()
    attributes: list[Attribute] = []
    for attribute in schema.attributes or []:
        rules = keep.get(attribute.name or "")
        if rules is None:
            continue
        if rules.get("required"):
            attribute.required = Required.true
        if "canonical_values" in rules:
            attribute.canonical_values = rules["canonical_values"]
        if "sub_attributes" in rules:
            attribute.sub_attributes = [
                sub for sub in attribute.sub_attributes or [] if sub.name in rules["sub_attributes"]
            ]
            for sub in attribute.sub_attributes:
                if sub.name == rules.get("required_sub"):
                    sub.required = Required.true
                if sub.name == "type" and "type_values" in rules:
                    sub.canonical_values = rules["type_values"]
        attributes.append(attribute)
    schema.attributes = attributes
    schema.meta = Meta(resource_type="Schema", location=f"{base_url()}/Schemas/{schema.id}")
    return schema


def schemas() -> list[Schema]:
    return [_published(ScimUser, _USER_ATTRIBUTES), _published(ScimGroup, _GROUP_ATTRIBUTES)]


def resource_types() -> list[ResourceType]:
    types = []
    for model in (ScimUser, ScimGroup):
        resource_type = ResourceType.from_resource(model)
        resource_type.meta = Meta(
            resource_type="ResourceType",
            location=f"{base_url()}/ResourceTypes/{resource_type.id}",
        )
        types.append(resource_type)
    return types


@bp.get("/ServiceProviderConfig")
@_guarded
def service_provider_config() -> Response:
    """What this SCIM service supports: PATCH and filters (eq), not bulk, sort, ETags or
    password changes."""
    config_ = ServiceProviderConfig(
        documentation_uri="https://github.com/contentfeed/contentfeed/blob/main/docs/scim.md",
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=scim.MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="API token",
                description="A contentfeed API token of an admin, with the 'scim' scope",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig", location=f"{base_url()}/ServiceProviderConfig"
        ),
    )
    return answer(dump(config_, Context.RESOURCE_QUERY_RESPONSE))


@bp.get("/Schemas")
@_guarded
def list_schemas() -> Response:
    items = schemas()
    page = scim.Page(total=len(items), start_index=1, items=items)
    return listed(page, items, Schema, None)


@bp.get("/Schemas/<schema_id>")
@_guarded
def get_schema(schema_id: str) -> Response:
    for schema in schemas():
        if schema.id == schema_id:
            return answer(dump(schema, Context.RESOURCE_QUERY_RESPONSE))
    raise scim.not_found("Schema", schema_id)


@bp.get("/ResourceTypes")
@_guarded
def list_resource_types() -> Response:
    items = resource_types()
    page = scim.Page(total=len(items), start_index=1, items=items)
    return listed(page, items, ResourceType, None)


@bp.get("/ResourceTypes/<type_id>")
@_guarded
def get_resource_type(type_id: str) -> Response:
    for resource_type in resource_types():
        if resource_type.id == type_id:
            return answer(dump(resource_type, Context.RESOURCE_QUERY_RESPONSE))
    raise scim.not_found("ResourceType", type_id)


@bp.post("/.search")
@_guarded
def search_everything() -> Response:
    """Searching users and groups at once is not offered (RFC 7644 §3.4.3 lets it answer 501)."""
    raise scim.ScimRefusal(501, "search across resource types is not supported: use /Users/.search")


# --- users ---------------------------------------------------------------------------------


def _user_out(user: User, context: Context, parameters: Any = None) -> dict[str, Any]:
    return dump(scim.user_resource(user, base_url()), context, parameters)


def _list_users(search: Any) -> Response:
    page = scim.list_users(
        db.session(),
        access.signed_in_user(),
        filter_ast=search.filter.ast if search.filter else None,
        start_index=search.start_index,
        count=search.count,
    )
    resources = [scim.user_resource(u, base_url()) for u in page.items]
    return listed(page, resources, scim.UserResource, search)


@bp.get("/Users")
@_guarded
def list_users() -> Response:
    """List users: ``filter`` (eq on userName, externalId, emails.value, id, displayName,
    active, with and/or), ``startIndex`` and ``count`` (at most 200)."""
    return _list_users(search_of(scim.UserResource, request.args.to_dict()))


@bp.post("/Users/.search")
@_guarded
def search_users() -> Response:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise scim.invalid("the body is not a JSON object", "invalidSyntax")
    return _list_users(search_of(scim.UserResource, data))


@bp.post("/Users")
@_guarded
def create_user() -> Response:
    resource = body_of(scim.UserResource, Context.RESOURCE_CREATION_REQUEST)
    user = scim.provision_user(db.session(), access.signed_in_user(), resource, settings())
    body = _user_out(user, Context.RESOURCE_CREATION_RESPONSE)
    return answer(body, 201, location=body["meta"]["location"])


@bp.get("/Users/<user_id>")
@_guarded
def get_user(user_id: str) -> Response:
    user = scim.get_user(db.session(), access.signed_in_user(), user_id)
    return answer(_user_out(user, Context.RESOURCE_QUERY_RESPONSE, shown(scim.UserResource)))


@bp.put("/Users/<user_id>")
@_guarded
def replace_user(user_id: str) -> Response:
    s, actor = db.session(), access.signed_in_user()
    scim.get_user(s, actor, user_id)  # 404 before reading the body
    resource = body_of(scim.UserResource, Context.RESOURCE_REPLACEMENT_REQUEST)
    user = scim.replace_user(s, actor, user_id, resource)
    return answer(_user_out(user, Context.RESOURCE_REPLACEMENT_RESPONSE))


@bp.patch("/Users/<user_id>")
@_guarded
def patch_user(user_id: str) -> Response:
    s, actor = db.session(), access.signed_in_user()
    scim.get_user(s, actor, user_id)
    patch = body_of(PatchOp[scim.UserResource], Context.RESOURCE_PATCH_REQUEST)
    user = scim.patch_user(s, actor, user_id, patch, settings())
    return answer(_user_out(user, Context.RESOURCE_PATCH_RESPONSE))


@bp.delete("/Users/<user_id>")
@_guarded
def delete_user(user_id: str) -> Response:
    scim.delete_user(db.session(), access.signed_in_user(), user_id)
    return Response(status=204)


# --- groups --------------------------------------------------------------------------------


def _group_out(team: Team, context: Context, parameters: Any = None) -> dict[str, Any]:
    members = scim.team_members(db.session(), team)
    return dump(scim.group_resource(team, base_url(), members), context, parameters)


def _list_groups(search: Any) -> Response:
    s = db.session()
    page = scim.list_groups(
        s,
        access.signed_in_user(),
        filter_ast=search.filter.ast if search.filter else None,
        start_index=search.start_index,
        count=search.count,
    )
    wants_members = "members" not in (request.args.get("excludedAttributes") or "")
    resources = [
        scim.group_resource(t, base_url(), scim.team_members(s, t) if wants_members else [])
        for t in page.items
    ]
    return listed(page, resources, scim.GroupResource, search)


@bp.get("/Groups")
@_guarded
def list_groups() -> Response:
    """List groups (teams): ``filter`` (eq on displayName, externalId, id), paging."""
    return _list_groups(search_of(scim.GroupResource, request.args.to_dict()))


@bp.post("/Groups/.search")
@_guarded
def search_groups() -> Response:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise scim.invalid("the body is not a JSON object", "invalidSyntax")
    return _list_groups(search_of(scim.GroupResource, data))


@bp.post("/Groups")
@_guarded
def create_group() -> Response:
    resource = body_of(scim.GroupResource, Context.RESOURCE_CREATION_REQUEST)
    team = scim.provision_group(db.session(), access.signed_in_user(), resource, settings())
    body = _group_out(team, Context.RESOURCE_CREATION_RESPONSE)
    return answer(body, 201, location=body["meta"]["location"])


@bp.get("/Groups/<team_id>")
@_guarded
def get_group(team_id: str) -> Response:
    team = scim.get_group(db.session(), access.signed_in_user(), team_id)
    return answer(_group_out(team, Context.RESOURCE_QUERY_RESPONSE, shown(scim.GroupResource)))


@bp.put("/Groups/<team_id>")
@_guarded
def replace_group(team_id: str) -> Response:
    s, actor = db.session(), access.signed_in_user()
    scim.get_group(s, actor, team_id)
    resource = body_of(scim.GroupResource, Context.RESOURCE_REPLACEMENT_REQUEST)
    team = scim.replace_group(s, actor, team_id, resource, settings())
    return answer(_group_out(team, Context.RESOURCE_REPLACEMENT_RESPONSE))


@bp.patch("/Groups/<team_id>")
@_guarded
def patch_group(team_id: str) -> Response:
    s, actor = db.session(), access.signed_in_user()
    scim.get_group(s, actor, team_id)
    patch = body_of(PatchOp[scim.GroupResource], Context.RESOURCE_PATCH_REQUEST)
    team = scim.patch_group(s, actor, team_id, patch, settings())
    return answer(_group_out(team, Context.RESOURCE_PATCH_RESPONSE))


@bp.delete("/Groups/<team_id>")
@_guarded
def delete_group(team_id: str) -> Response:
    scim.delete_group(db.session(), access.signed_in_user(), team_id)
    return Response(status=204)
