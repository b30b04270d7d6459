"""A test client for the JSON API that checks every answer against the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.test_api import bearer, check_against_spec


class Api:
    """Call the API and check every answer against the OpenAPI document."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.spec: dict[str, Any] = client.get("/api/v1/openapi.json").json  # type: ignore[assignment]

    def __call__(
        self,
        method: str,
        template: str,
        token: str,
        *,
        json: Any = None,
        query: dict[str, Any] | None = None,
        **path_args: int,
    ) -> TestResponse:
        response = self.client.open(
            template.format(**path_args),
            method=method,
            headers=bearer(token),
            json=json,
            query_string=query,
        )
        status = response.status_code
        documented = self.spec["paths"][template][method.lower()]["responses"]
        assert str(status) in documented, (
            f"{method} {template} answered {status}, not documented: {response.get_data()!r}"
        )
        if status == 204:
            assert response.get_data() == b""
        else:
            check_against_spec(self.spec, template, method.lower(), status, response.json)
        return response
