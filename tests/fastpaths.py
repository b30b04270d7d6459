"""Run a hot path's tests twice: through its WSGI fast path and through Flask alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from bench.wsgi import without_fastpath

SERVED_BY = ("fastpath", "flask")


def app_served_both_ways(kind: type[Any]) -> Callable[..., Flask]:
    """Return an ``app`` fixture that gives each test the app with, then without, ``kind``.

    Assign it to ``app`` in a test module: every test there (and every fixture built on
    ``app``, such as ``client``) runs once per way, so both answer alike.
    """

    @pytest.fixture(name="app", params=SERVED_BY)
    def served_app(app: Flask, request: pytest.FixtureRequest) -> Flask:
        if request.param == "flask":
            without_fastpath(app, kind)
        return app

    return served_app
