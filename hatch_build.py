"""Wheel build step: carry the checkout's top-level templates/, static/ and migrations/ inside
the package, where contentfeed.config.shipped() finds them in an installed wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# Folder in the checkout -> its place in the wheel.
SHIPPED_FOLDERS = {
    "templates": "contentfeed/templates",
    "static": "contentfeed/static",
    "migrations": "contentfeed/migrations",
}


class ShippedFoldersHook(BuildHookInterface):  # type: ignore[type-arg]
    """Map the shipped folders into a regular wheel (hatchling's force-include)."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Add the folders to a regular wheel; an editable install reads them in the checkout."""
        if version == "editable":
            # force-include in the config would copy them into site-packages as well, a stale
            # second copy nothing reads: the code finds the checkout's own folders.
            return
        for source, target in SHIPPED_FOLDERS.items():
            build_data["force_include"][str(Path(self.root) / source)] = target
