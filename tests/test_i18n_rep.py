"""The digital sales rep's day in German: the queue, a lead's page with its history and notes,
the lead actions' messages, the leads list, and the API's refusal in the request's language.

Leads come in through the real webhook and the routing job (tests.test_queue_ui), as in
production; the rep chose German (``locale = "de"``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from contentfeed import db
from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import lead_history
from contentfeed.routing.models import LeadActivity
from tests.conftest import sign_in
from tests.test_api import bearer
from tests.test_leads_ui import seller_lead
from tests.test_queue_ui import _text, rep_in, route

__all__ = ["seller_lead"]

GERMAN = {"Accept-Language": "de"}
# A German date and time as the pages write them: "02.12.2026, 14:30".
GERMAN_MOMENT = re.compile(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}")


def _speaks_german(user: User, app: Flask) -> User:
    with app.app_context():
        s = db.session()
        stored = s.get(User, user.id)
        assert stored is not None
        stored.locale = "de"
        s.commit()
    return user


def _german_rep(app: Flask, make_user: Callable[..., User]) -> User:
    return _speaks_german(rep_in(app, make_user, "Digital sales", name="Riley Rep"), app)


def _absent(page: str, phrases: list[str]) -> None:
    left = [phrase for phrase in phrases if phrase in page]
    assert not left, left


def _jane(seller_lead: dict[str, Any]) -> int:
    return int(seller_lead["lead_id"])


def test_the_queue_speaks_german(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = _german_rep(app, make_user)
    route(app)
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, _jane(seller_lead))
        assert lead is not None
        lead.due_at = utcnow() - timedelta(minutes=12)
        s.commit()
    client = sign_in(app.test_client(), rep)
    response = client.get("/queue")
    raw = response.get_data(as_text=True)
    assert '<html lang="de"' in raw
    page = _text(response)
    for german in (
        "Welchen Lead rufe ich als Nächstes an?",
        "Nächsten übernehmen",
        "Fällig",
        "Unternehmen",
        "Quelle",
        "1 überfällig",
        "12 Min. überfällig",
        "war fällig",
        "SLA 60 Min.",
        "Wartet",
    ):
        assert german in page, german
    _absent(
        page,
        [
            "Which lead do I call next?",
            "Most urgent first",
            "Claim next",
            "Company",
            "Source",
            "overdue",
            "was due",
            "Waiting",
            "Website form",
            " min ",
        ],
    )


def test_a_german_rep_claims_works_and_notes_a_lead(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = _german_rep(app, make_user)
    route(app)
    client = sign_in(app.test_client(), rep)
    lead_id = _jane(seller_lead)

    claimed = client.post(f"/leads/{lead_id}/claim", follow_redirects=True)
    assert "Der Lead gehört jetzt Ihnen." in _text(claimed)
    contacted = client.post(
        f"/leads/{lead_id}/status", data={"status": "contacted"}, follow_redirects=True
    )
    assert "Als „kontaktiert“ markiert." in _text(contacted)
    noted = client.post(
        f"/leads/{lead_id}/notes",
        data={"text": "Demo am Dienstag vereinbart."},
        follow_redirects=True,
    )
    assert "Notiz hinzugefügt." in _text(noted)
    skipped = client.post(
        f"/leads/{lead_id}/status", data={"status": "converted"}, follow_redirects=True
    )
    refusal = _text(skipped)
    assert "Ein Lead mit dem Status „kontaktiert“ kann zu" in refusal
    assert "can move to" not in refusal
    empty = client.post(f"/leads/{lead_id}/notes", data={"text": " "}, follow_redirects=True)
    assert "Schreiben Sie zuerst etwas." in _text(empty)

    response = client.get(f"/leads/{lead_id}")
    raw = response.get_data(as_text=True)
    assert '<html lang="de"' in raw
    page = _text(response)
    for german in (
        "Lead bearbeiten",
        "Qualifizieren",
        "Notiz hinzufügen",
        "Zeitverlauf",
        "Zeiten in Ihrer Zeitzone",
        "Formular gesendet",
        "Eingegangen",
        "per signiertem Webhook",
        "Erstkontakt",
        "Woher die Person kam",
        "Formulardaten",
        "Anteil je Attributionsmodell",
        "Letzter Kontaktpunkt",
        "Erster Kontaktpunkt",
        "Notizen und Verlauf",
        "Übernommen von Riley Rep.",
        "Kontaktiert von Riley Rep.",
        "Notiz von Riley Rep:",
        "Demo am Dienstag vereinbart.",
        "Was das Routing gesehen hat",
        "An Digital sales geroutet",
        "Kontaktiert",
    ):
        assert german in page, german
    assert GERMAN_MOMENT.search(page), "dates are written the German way"
    assert "100 %" in page  # the credit table's shares
    _absent(
        page,
        [
            "Work this lead",
            "Release to the queue",
            "Add note",
            "Timeline",
            "Times in your",
            "Form sent",
            "Reached us",
            "by signed webhook",
            "First contact",
            "Where they came from",
            "Form data",
            "Credit per attribution model",
            "Last touch",
            "First touch",
            "Notes and activity",
            "Claimed by",
            "Contacted by",
            "Note by",
            "What routing saw",
            "Rules tried",
            "Who works it",
            "Routed to",
            "Job title",
            "Consent",
            "Landing page",
            "Nobody yet",
            "marked posted",
            "found in",
            " AM",
            " PM",
        ],
    )


def test_claim_next_says_the_sla_in_german(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = _german_rep(app, make_user)
    route(app)
    client = sign_in(app.test_client(), rep)
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, _jane(seller_lead))
        assert lead is not None and lead.queue_id is not None
        queue_id = lead.queue_id
    first = _text(client.post(f"/queue/{queue_id}/claim-next", follow_redirects=True))
    assert "Sie haben jetzt" in first and "SLA: noch" in first
    assert "You have" not in first
    empty = _text(client.post(f"/queue/{queue_id}/claim-next", follow_redirects=True))
    assert "In dieser Queue wartet gerade nichts." in empty
    mine = _text(client.get("/queue"))
    assert "Ihre Leads · 1 offen" in mine and "Übernommen" in mine


def test_the_leads_list_speaks_german(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User]
) -> None:
    rep = _german_rep(app, make_user)
    route(app)
    client = sign_in(app.test_client(), rep)
    response = client.get("/leads")
    assert '<html lang="de"' in response.get_data(as_text=True)
    assert 'aria-label="Leads filtern"' in response.get_data(as_text=True)
    page = _text(response)
    for german in ("2 Leads", "Alle Status", "Nicht zugeordnet", "Übernommen"):
        assert german in page, german
    _absent(page, ["All statuses", "Attributed", "Unattributed", "Search", "When"])
    filtered = _text(client.get("/leads?status=converted"))
    assert "Keine passenden Leads" in filtered and "Filter zurücksetzen" in filtered


def test_an_admin_sees_the_personal_data_page_in_german(
    app: Flask, make_user: Callable[..., User]
) -> None:
    admin = _speaks_german(make_user(Role.ADMIN), app)
    response = sign_in(app.test_client(), admin).get("/admin/privacy")
    page = _text(response)
    assert "Personenbezogene Daten" in page and "Exportieren (JSON-Download)" in page
    _absent(page, ["Export or erase everything", "Export (JSON download)"])


def test_the_api_refuses_a_status_jump_in_the_requests_language(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    rep = rep_in(app, make_user, "Digital sales")  # no language of their own
    route(app)
    token = make_token(rep, "read", "routing:write")
    path = f"/api/v1/leads/{_jane(seller_lead)}/status"
    client = app.test_client()
    body = {"status": "converted"}
    german = client.post(path, json=body, headers={**bearer(token), **GERMAN})
    assert german.status_code == 409
    message = german.json["message"]
    assert message.startswith("Ein Lead mit dem Status „neu“ kann zu „übernommen“ oder"), message
    english = client.post(path, json=body, headers=bearer(token))
    assert (
        "A new lead can move to claimed or disqualified, not to converted"
        in (english.json["message"])
    )


def test_the_leads_export_has_german_headers_for_a_german_reader(
    app: Flask,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    token = make_token(make_user(Role.MARKETER), "read")
    client = app.test_client()
    german = client.get("/api/v1/leads.csv", headers={**bearer(token), **GERMAN})
    rows = list(csv.reader(io.StringIO(german.get_data(as_text=True))))
    assert "E-Mail" in rows[0] and "Vertriebsmitarbeitende (letzter Kontaktpunkt)" in rows[0]
    assert "Neu" in [row[rows[0].index("Status")] for row in rows[1:]]
    english = client.get("/api/v1/leads.csv", headers=bearer(token))
    assert next(csv.reader(io.StringIO(english.get_data(as_text=True))))[:3] == [
        "id",
        "submitted_at",
        "status",
    ]


@pytest.mark.parametrize("locale", ["de", "en"])
def test_history_lines_are_worded_for_each_reader(
    app: Flask, seller_lead: dict[str, Any], make_user: Callable[..., User], locale: str
) -> None:
    """A line is stored in English and worded again in the reader's language; a line whose
    facts were not kept keeps its stored text."""
    from contentfeed import i18n
    from contentfeed.routing import work

    rep = rep_in(app, make_user, "Digital sales", name="Ann Rep")
    route(app)
    with app.app_context(), app.test_request_context():
        s = db.session()
        lead_id = _jane(seller_lead)
        work.claim(s, s.get(User, rep.id), lead_id)
        work.set_status(s, s.get(User, rep.id), lead_id, LeadStatus.CONTACTED)
        old = LeadActivity(lead_id=lead_id, kind="routed", text="Routed long ago.", detail={})
        s.add(old)
        s.flush()
        entries = lead_history.history(s, lead_id)
        stored = [e.text for e in entries if e.kind in ("claimed", "status")]
        assert stored == ["Claimed by Ann Rep.", "Contacted by Ann Rep."]
        with i18n.speaking(locale):
            worded = {e.kind: lead_history.describe(s, e) for e in entries if e.actor}
            assert lead_history.describe(s, old) == "Routed long ago."
        if locale == "de":
            assert worded == {
                "claimed": "Übernommen von Ann Rep.",
                "status": "Kontaktiert von Ann Rep.",
            }
        else:
            assert worded == {"claimed": "Claimed by Ann Rep.", "status": "Contacted by Ann Rep."}
        s.rollback()
