"""The last English texts of issue #15, each shown to a German reader.

Routing traces are written once by the routing job (which speaks the default language, English)
and read by many: each reason is kept with its text and values and said in the reader's
language, and a trace stored before that still shows its English reason.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import User
from contentfeed.leads.models import Lead
from tests.conftest import sign_in
from tests.test_leads_ui import seller_lead
from tests.test_queue_ui import rep_in, route

__all__ = ["seller_lead"]

GERMAN = {"Accept-Language": "de"}


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    page = html.unescape(str(response.get_data(as_text=True)))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _absent(page: str, phrases: list[str]) -> None:
    left = [phrase for phrase in phrases if phrase in page]
    assert not left, left


def _german(app: Flask, user: User) -> User:
    with app.app_context():
        s = db.session()
        stored = s.get(User, user.id)
        assert stored is not None
        stored.locale = "de"
        s.commit()
    return user


# --- 1. the routing trace ---------------------------------------------------------------------


def test_a_lead_s_routing_trace_reads_german_for_a_german_rep(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = _german(app, rep_in(app, make_user, "Digital sales", name="Riley Rep"))
    route(app)  # the job speaks English: the trace keeps the texts, not German sentences
    lead_id = int(seller_lead["lead_id"])
    with app.app_context():
        lead = db.session().get(Lead, lead_id)
        assert lead is not None
        trace = lead.routing_trace
        assert trace["queue"]["why"] == "rule 'Everyone else' matched"  # the API's English

    page = _text(sign_in(app.test_client(), rep).get(f"/leads/{lead_id}"))
    for german in (
        "Regel 'Everyone else' hat gegriffen.",  # why the lead is in its queue
        "gegriffen: keine Bedingungen: passt auf jeden Lead",  # the matched rule
        "ist keine Kunden-Domain",  # the failed check of "Known customers"
        "Leads aus dieser Queue werden vom Vertrieb selbst übernommen",  # the assignment
    ):
        assert german in page, german
    _absent(
        page,
        [
            "Rule 'Everyone else' matched",
            "matches every lead",
            "is not a customer domain",
            "reps claim leads from this queue",
        ],
    )


def test_a_trace_stored_before_the_texts_were_kept_still_shows_its_reason(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = _german(app, rep_in(app, make_user, "Digital sales", name="Riley Rep"))
    route(app)
    lead_id = int(seller_lead["lead_id"])
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, lead_id)
        assert lead is not None
        old = dict(lead.routing_trace)
        old["queue"] = {"id": old["queue"]["id"], "name": old["queue"]["name"], "why": "as of old"}
        lead.routing_trace = old
        s.commit()
    page = _text(sign_in(app.test_client(), rep).get(f"/leads/{lead_id}"))
    assert "As of old." in page


def test_the_dry_run_says_why_in_german(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    admin = client_as("admin")
    with app.app_context():
        from contentfeed.routing import service as routing

        routing.ensure_defaults(db.session(), routing.RoutingSettings())
        db.session().commit()
    response = admin.post(
        "/admin/routing/dry-run",
        data={"email": "jane.doe@gmail.com", "country": "DE"},
        headers=GERMAN,
    )
    result = _text(response)
    for german in (
        "gmail.com ist eine Freemail-Adresse",
        "Regel 'Everyone else' hat gegriffen.",
        "Leads aus dieser Queue werden vom Vertrieb selbst übernommen",
    ):
        assert german in result, german
    _absent(result, ["is a free-mail address", "matched", "claim leads from this queue"])
