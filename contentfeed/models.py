"""One place that imports every domain's models, so the metadata is complete."""

from __future__ import annotations


def import_all() -> None:
    """Import every models module (for migrations, create_all in tests, the shell)."""
    import contentfeed.accounts.models
    import contentfeed.content.models
    import contentfeed.customers.models
    import contentfeed.leads.models
    import contentfeed.links.models
    import contentfeed.reports.models
    import contentfeed.routing.models
    import contentfeed.suggestions.models  # noqa: F401
