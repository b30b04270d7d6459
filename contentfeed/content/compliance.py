"""The compliance rules posts are checked against: a disclosure appended, words refused."""

from __future__ import annotations

from dataclasses import dataclass, field

from contentfeed.config import Settings

PREVIEW_CODE = "preview"


@dataclass(frozen=True)
class Compliance:
    """The compliance rules: a disclosure appended to posts, words refused."""

    disclosure: str = ""
    blocked_words: list[str] = field(default_factory=list)
    public_base_url: str = "http://127.0.0.1:5000"

    @classmethod
    def of(cls, settings: Settings) -> Compliance:
        """Take the rules ([compliance] in config.toml) from the service's settings."""
        return cls(
            disclosure=settings.compliance.disclosure,
            blocked_words=list(settings.compliance.blocked_words),
            public_base_url=settings.public_base_url,
        )

    @property
    def preview_link(self) -> str:
        """Return the stand-in for a seller's tracked link in previews."""
        return f"{self.public_base_url}/r/{PREVIEW_CODE}"
