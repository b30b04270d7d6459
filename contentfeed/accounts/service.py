"""The accounts domain's use cases, as other domains, the CLI and the tests call them.

Each group lives in its own module (users, sign-in, teams, seller profiles, API tokens, the
sellers CSV and its import); this module names them all in one place. Never commits."""

from __future__ import annotations

from contentfeed.accounts.profiles import (
    MAX_CONNECTIONS,
    WEBHOOK_CHANNELS,
    WEEKDAY_NAMES,
    list_sellers,
    seller_profile_problems,
    update_seller_profile,
)
from contentfeed.accounts.seller_import import (
    ImportProblem,
    SellerImportReport,
    SellerImportRow,
    generate_initial_password,
    import_sellers,
)
from contentfeed.accounts.seller_sheet import (
    SELLER_COLUMN_HELP,
    SELLER_COLUMNS,
    SELLER_IMPORT_MAX_ROWS,
    SellerSheet,
    SheetRow,
    read_sellers_csv,
    seller_template_rows,
)
from contentfeed.accounts.signin import (
    authenticate,
)
from contentfeed.accounts.teams import (
    active_member_counts,
    find_team,
    get_team,
    list_teams,
    save_team,
)
from contentfeed.accounts.tokens import (
    SCOPES,
    TOKEN_PREFIX,
    hash_token,
    issue_token,
    list_tokens,
    revoke_token,
    token_for,
)
from contentfeed.accounts.users import (
    MIN_PASSWORD_LENGTH,
    UserPage,
    activate_user,
    check_password_strength,
    check_timezone,
    create_user,
    deactivate_user,
    find_user_by_email,
    get_user,
    list_users,
    normalise_email,
    role_counts,
    set_password,
    update_user,
)

__all__ = [
    "MAX_CONNECTIONS",
    "MIN_PASSWORD_LENGTH",
    "SCOPES",
    "SELLER_COLUMNS",
    "SELLER_COLUMN_HELP",
    "SELLER_IMPORT_MAX_ROWS",
    "TOKEN_PREFIX",
    "WEBHOOK_CHANNELS",
    "WEEKDAY_NAMES",
    "ImportProblem",
    "SellerImportReport",
    "SellerImportRow",
    "SellerSheet",
    "SheetRow",
    "UserPage",
    "activate_user",
    "active_member_counts",
    "authenticate",
    "check_password_strength",
    "check_timezone",
    "create_user",
    "deactivate_user",
    "find_team",
    "find_user_by_email",
    "generate_initial_password",
    "get_team",
    "get_user",
    "hash_token",
    "import_sellers",
    "issue_token",
    "list_sellers",
    "list_teams",
    "list_tokens",
    "list_users",
    "normalise_email",
    "read_sellers_csv",
    "revoke_token",
    "role_counts",
    "save_team",
    "seller_profile_problems",
    "seller_template_rows",
    "set_password",
    "token_for",
    "update_seller_profile",
    "update_user",
]
