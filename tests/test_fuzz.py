"""Schemathesis over the OpenAPI document, in-process against the app (WSGI, no server), on
both databases: no input the document allows (and none it does not) may answer a server error.

Selected with ``-m fuzz`` (deselect with ``-m "not fuzz"``); it runs in the normal suite too,
bounded to a few examples per operation with a fixed seed and derandomised generation, so
every run sends the same requests and a failure reproduces. About a minute of CPU per database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from schemathesis.engine.run import PhaseName

from contentfeed import config, db
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead
from contentfeed.routing import outbox, queue_setup
from contentfeed.routing import service as routing
from contentfeed.routing.models import Strategy
from contentfeed.suggestions import service as suggestions
from tests.test_api import bearer

pytestmark = pytest.mark.fuzz

SEED = 20261201
# Few examples per operation keep the run to a couple of minutes per database on a slow
# machine; the fixed seed and derandomised generation make every run the same run.
MAX_EXAMPLES = 12


def _config(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            # A loaded CI machine must not fail the run for being slow; only answers count.
            "suppress-health-check": ["all"],
            "workers": 1,  # one request at a time: the same order every run
            "headers": {"Authorization": f"Bearer {token}"},
            "checks": {"enabled": False, "not_a_server_error": {"enabled": True}},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "no-shrink": True,
                "database": "none",
            },
            "phases": {
                # Answers to unexpected methods are werkzeug's 405s: nothing to find there.
                "coverage": {"unexpected-methods": []},
                "stateful": {"enabled": True, "max-steps": 10},
            },
        }
    )


def _seed(app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]) -> None:
    """Give every operation a row to act on: content, a queue with a member, a routed lead
    with its CRM message, a seller with a suggestion."""
    rep = make_user("rep")
    seller = make_user("seller", topics=["crm"])
    make_content(topics=["crm"])
    make_content(status="draft")
    with app.app_context():
        s = db.session()
        queue = queue_setup.save_queue(
            s, queue_setup.QueueIn(name="Digital sales", strategy=Strategy.CLAIM)
        )
        queue_setup.set_member(s, queue, rep.id)
        s.commit()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
        )
        s.commit()


def _server_errors(stream: Any, links: list[int]) -> list[str]:
    """Run the engine; return every server error (and engine error) it met, one line each,
    and how many links the stateful phase followed."""
    found: list[str] = []
    for event in stream:
        if (
            isinstance(event, events.PhaseStarted)
            and event.phase.name == PhaseName.STATEFUL_TESTING
            and event.payload is not None
        ):
            links.append(event.payload.transitions_selected)
        if isinstance(event, events.NonFatalError | events.FatalError):
            found.append(f"{getattr(event, 'label', '')}: {event.info.format()}")
        if isinstance(event, events.ScenarioFinished) and event.status == Status.FAILURE:
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status != Status.FAILURE:
                        continue
                    case = event.recorder.cases[case_id].value
                    interaction = event.recorder.interactions.get(case_id)
                    response = interaction.response if interaction else None
                    body = response.content[:300] if response and response.content else b""
                    found.append(
                        f"[{event.phase.name}] {case.method} {case.formatted_path} "
                        f"query={case.query} body={case.body!r:.300} -> "
                        f"{response.status_code if response else '?'} {body!r}"
                    )
    return found


@pytest.mark.timeout(900)
def test_no_input_answers_a_server_error(
    app: Flask,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
) -> None:
    _seed(app, make_user, make_content)
    token = make_token(make_user("admin"), *accounts.SCOPES)
    lead = app.test_client().post(
        "/api/v1/webhooks/leads",
        json={"email": "buyer@acme-industries.com", "external_id": "fuzz-1"},
        headers=bearer(token),
    )
    assert lead.status_code == 202, lead.get_data(as_text=True)
    with app.app_context():
        s = db.session()
        routing.route_pending(s, config.settings_of(app).routing)
        routed = s.scalars(sa.select(Lead)).one()
        outbox.enqueue(s, routed, "lead.routed", utcnow())
        s.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=_config(token))
    links: list[int] = []
    errors = _server_errors(schemathesis.engine.from_schema(schema).execute(), links)
    assert not errors, "\n".join(errors)
    # The document's links let the stateful phase carry ids into approve, resend, suggest-now.
    assert links and links[0] >= 5, links
