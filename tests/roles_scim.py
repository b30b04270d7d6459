"""SCIM provisioning's routes (/scim/v2) in the role matrix: an admin's token with 'scim'."""

from __future__ import annotations

from tests.roles import ADMIN

SCIM = {
    f"scim_api.{name}": ADMIN
    for name in (
        "service_provider_config",
        "list_schemas",
        "get_schema",
        "list_resource_types",
        "get_resource_type",
        "search_everything",
        "list_users",
        "search_users",
        "create_user",
        "get_user",
        "replace_user",
        "patch_user",
        "delete_user",
        "list_groups",
        "search_groups",
        "create_group",
        "get_group",
        "replace_group",
        "patch_group",
        "delete_group",
    )
}
