"""The code stays in modules a person can read whole: none over 600 lines (the redesign's
rule; split along a seam when a module grows past it)."""

from __future__ import annotations

from pathlib import Path

import contentfeed

MOST_LINES = 600


def test_no_module_is_over_600_lines() -> None:
    package = Path(contentfeed.__file__).parent
    sizes = {
        str(path.relative_to(package)): len(path.read_text(encoding="utf-8").splitlines())
        for path in package.rglob("*.py")
    }
    assert sizes, "no modules found"
    too_long = {name: lines for name, lines in sizes.items() if lines > MOST_LINES}
    assert too_long == {}, f"split these modules along a seam: {too_long}"
