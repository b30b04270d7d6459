"""The compliance rules posts are checked against: a disclosure appended, words refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PREVIEW_CODE = "preview"


@dataclass(frozen=True)
class Compliance:
    """The compliance rules from config: a disclosure appended to posts, words refused."""

    disclosure: str = ""
    blocked_words: list[str] = field(default_factory=list)
    public_base_url: str = "http://127.0.0.1:5000"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Compliance:
        """Read the rules from an app's config."""
        return cls(
            disclosure=config["COMPLIANCE_DISCLOSURE"],
            blocked_words=list(config["COMPLIANCE_BLOCKED_WORDS"]),
            public_base_url=config["PUBLIC_BASE_URL"],
        )

    @property
    def preview_link(self) -> str:
        """Return the stand-in for a seller's tracked link in previews."""
        return f"{self.public_base_url}/r/{PREVIEW_CODE}"
