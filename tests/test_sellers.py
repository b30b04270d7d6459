"""Sellers: their own profile page (cadence in words, errors beside fields) and the admin's
CSV import (created, updated and refused rows; passwords shown once; the template)."""

from __future__ import annotations

import base64
import io
import re
import socket
from collections.abc import Callable
from datetime import date
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts import seller_import
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import NotificationChannel, Role, TeamKind, User
from contentfeed.accounts.views import describe_cadence
from contentfeed.errors import Invalid
from contentfeed.suggestions.models import SentEmail
from tests.conftest import make_test_app, sign_in

MONDAY = date(2026, 11, 23)


def profile_form(**changes: Any) -> dict[str, Any]:
    """A complete profile form as the page posts it, with some fields changed."""
    form: dict[str, Any] = {
        "title": "Account Executive",
        "region": "DACH",
        "language": "de",
        "topics": "cloud",
        "posts_per_week": "3",
        "weekdays": ["0", "1", "2", "3", "4"],
        "timezone": "",
        "linkedin_url": "",
        "linkedin_connections": "0",
        "notification_channel": "email",
        "notification_target": "",
    }
    form.update(changes)
    return form


def text_of(html: str) -> str:
    """The page's visible words, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def field_errors(html: str, field: str) -> str:
    """The error text shown beside one form field."""
    match = re.search(rf'id="{field}-error">(.*?)</div>', html, re.S)
    return text_of(match.group(1)) if match else ""


def stored(app: Flask, email: str) -> User | None:
    with app.app_context():
        s = db.session()
        user = s.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            _ = user.seller_profile, user.team
        return user


# --- the cadence in words ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_week", "weekdays", "words"),
    [
        (3, [0, 1, 2, 3], "3 posts a week, on Mon, Wed and Thu"),
        (3, [0, 1, 2, 3, 4], "3 posts a week, on Mon, Wed and Fri"),
        (1, [2], "1 post a week, on Wed"),
        (2, [1, 4], "2 posts a week, on Tue and Fri"),
        (5, [0, 2], "5 posts a week: 2 on Mon and 3 on Wed"),
        (0, [0, 1], "No posts planned: choose 1 or more posts a week to get suggestions"),
    ],
)
def test_cadence_is_said_in_words(per_week: int, weekdays: list[int], words: str) -> None:
    cadence = describe_cadence(per_week, weekdays, MONDAY)
    assert cadence.sentence == words
    assert sum(d.posts for d in cadence.week) == per_week
    assert [d.is_today for d in cadence.week] == [True] + [False] * 6


def test_cadence_names_the_next_planned_day() -> None:
    assert describe_cadence(3, [0, 1, 2, 3], MONDAY).next_day == date(2026, 11, 25)
    friday = date(2026, 11, 27)
    assert describe_cadence(3, [0, 1, 2, 3], friday).next_day == date(2026, 11, 30)
    assert [d.is_past for d in describe_cadence(3, [0], friday).week][:5] == [True] * 4 + [False]
    assert describe_cadence(0, [0], friday).next_day is None


# --- the seller's profile page -----------------------------------------------------------


def test_seller_changes_topics_cadence_and_timezone(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    seller = make_user("seller", email="sam@example.com")
    sign_in(client, seller)
    # The profile below is German; Sam reads English.
    client.post("/language", data={"locale": "en"})
    first = client.get("/profile")
    assert first.status_code == 200
    assert "3 posts a week, on Mon, Wed and Fri" in text_of(first.get_data(as_text=True))

    response = client.post(
        "/profile",
        data=profile_form(
            language="en",  # the page speaks a seller's first profile language
            topics="Cloud, security, , cloud",
            posts_per_week="3",
            weekdays=["0", "1", "2", "3"],
            timezone="Asia/Tokyo",
            linkedin_url="https://www.linkedin.com/in/sam",
            linkedin_connections="850",
            notification_channel="slack",
            notification_target="https://hooks.slack.com/services/T0/B0/XYZ",
        ),
    )
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Your profile is saved: 3 posts a week, on Mon, Wed and Thu." in page
    assert "3 posts a week, on Mon, Wed and Thu" in page
    assert "Asia/Tokyo" in page
    user = stored(app, "sam@example.com")
    assert user is not None and user.seller_profile is not None
    assert user.timezone == "Asia/Tokyo"
    assert user.seller_profile.topics == ["cloud", "security"]
    assert user.seller_profile.weekdays == [0, 1, 2, 3]
    assert user.seller_profile.notification_channel is NotificationChannel.SLACK
    assert user.seller_profile.linkedin_connections == 850

    response = client.post(
        "/profile",
        data=profile_form(language="en", posts_per_week="5", weekdays=["0", "2"], is_paused="y"),
    )
    page = text_of(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "5 posts a week: 2 on Mon and 3 on Wed" in page
    assert "Suggestions are paused." in page
    assert "you get no new suggestions" in page


def test_profile_errors_are_shown_beside_their_fields_and_nothing_is_saved(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    seller = make_user("seller", email="sam@example.com", timezone="Europe/Berlin")
    sign_in(client, seller)
    response = client.post(
        "/profile",
        data=profile_form(
            posts_per_week="6",
            notification_channel="slack",
            notification_target="hooks.slack.com/services/T0/B0/XYZ",
        ),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "incoming-webhook URL" in field_errors(html, "notification_target")
    assert field_errors(html, "posts_per_week") == ""
    assert 'value="hooks.slack.com/services/T0/B0/XYZ"' in html  # what was typed stays

    response = client.post(
        "/profile", data=profile_form(posts_per_week="6", timezone="Mars/Olympus_Mons")
    )
    assert response.status_code == 422
    assert "Unknown time zone" in field_errors(response.get_data(as_text=True), "timezone")
    response = client.post("/profile", data=profile_form(posts_per_week="30"))
    assert response.status_code == 422
    assert "21" in field_errors(response.get_data(as_text=True), "posts_per_week")

    user = stored(app, "sam@example.com")
    assert user is not None and user.seller_profile is not None
    assert user.seller_profile.posts_per_week == 3  # the valid half was not saved either
    assert user.timezone == "Europe/Berlin"
    assert user.seller_profile.notification_channel is NotificationChannel.EMAIL


@pytest.mark.parametrize("role", ["rep", "admin", "marketer"])
def test_only_sellers_have_a_profile_page(
    client_as: Callable[[str], FlaskClient], role: str
) -> None:
    assert client_as(role).get("/profile").status_code == 403


# --- importing sellers -------------------------------------------------------------------


def upload(client: FlaskClient, data: bytes, filename: str = "sellers.csv") -> Any:
    return client.post(
        "/admin/sellers/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def passwords_in(html: str) -> dict[str, str]:
    """Map each new seller's email to the initial password shown on the report."""
    found = re.findall(
        r'<div class="table__secondary small muted">([^<]+)</div>.*?'
        r'<code id="password-\d+">([^<]+)</code>',
        html,
        re.S,
    )
    return {unescape(email): unescape(password) for email, password in found}


def test_admin_imports_sellers_who_can_then_sign_in(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    make_user: Callable[..., User],
    make_team: Callable[..., Any],
) -> None:
    make_team("BD DACH", TeamKind.BUSINESS_DEVELOPMENT)
    make_user("seller", email="existing@example.com", name="Erik Existing")
    admin = client_as("admin")
    sheet = (
        "\ufeffEmail;Name;Team;Title;Region;Language;Timezone;Topics;Posts per week;Weekdays;"
        "LinkedIn URL;LinkedIn connections;Notification channel;Notification target;Paused\r\n"
        "Jane.Doe@Example.com;Jane Doe;bd dach;Account Executive;DACH;de;Europe/Berlin;"
        '"Cloud; Security";3;"Mon;Wed;Thu";https://www.linkedin.com/in/jane;1 200;email;;no\r\n'
        "\r\n"
        "existing@example.com;;;;Nordics;;;;5;0,2,3;;;teams;https://example.webhook.office.com/x;yes\r\n"
    ).encode()
    response = upload(admin, sheet)
    assert response.status_code == 200, text_of(response.get_data(as_text=True))[:2000]
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    page = text_of(html)
    assert "Created 1 Updated 1 Refused 0" in page
    # No mail server here: Jane's invitation is kept under Sent email, no password is shown.
    assert passwords_in(html) == {}
    assert "1 new seller was invited to choose a password. No mail server is set up" in page
    assert "posts_per_week, weekdays, notification_channel" in page

    jane = stored(app, "jane.doe@example.com")
    assert jane is not None and jane.seller_profile is not None and jane.team is not None
    assert jane.role is Role.SELLER
    assert jane.team.name == "BD DACH"
    assert jane.timezone == "Europe/Berlin"
    assert jane.password_hash == "" and jane.is_invited
    profile = jane.seller_profile
    assert (profile.region, profile.language, profile.title) == ("DACH", "de", "Account Executive")
    assert profile.topics == ["cloud", "security"]
    assert profile.weekdays == [0, 2, 3]
    assert profile.linkedin_connections == 1200
    assert profile.is_paused is False

    erik = stored(app, "existing@example.com")
    assert erik is not None and erik.seller_profile is not None
    assert erik.name == "Erik Existing"  # empty cells keep what was there
    assert erik.seller_profile.region == "Nordics"
    assert erik.seller_profile.posts_per_week == 5
    assert erik.seller_profile.weekdays == [0, 2, 3]
    assert erik.seller_profile.notification_channel is NotificationChannel.TEAMS
    assert erik.seller_profile.is_paused is True

    newcomer = app.test_client()
    with app.app_context():
        [kept] = db.session().scalars(sa.select(SentEmail)).all()
    assert kept.to == "jane.doe@example.com" and kept.kind == "invitation"
    link = re.search(r"/password/[A-Za-z0-9_-]+", kept.body)
    assert link is not None
    chosen = newcomer.post(link.group(0), data={"password": "janes-own-long-password"})
    assert chosen.status_code == 302
    # Jane's profile language is German (the template's row), so her pages speak German.
    assert "3 Beiträge pro Woche, am Mo., Mi. und Do." in text_of(
        newcomer.get("/profile").get_data(as_text=True)
    )

    again = upload(admin, sheet)
    page = text_of(again.get_data(as_text=True))
    assert "Created 0 Updated 2 Refused 0" in page
    assert "Nothing: already up to date" in page
    assert passwords_in(again.get_data(as_text=True)) == {}


def test_bad_rows_are_refused_with_every_reason(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    make_user: Callable[..., User],
    make_team: Callable[..., Any],
) -> None:
    make_team("BD DACH")
    make_user("marketer", email="mia@example.com")
    admin = client_as("admin")
    sheet = "\n".join(
        [
            "email,name,team,timezone,posts_per_week,paused,notification_channel,weekdays",
            "ok@example.com,Olli Okay,BD DACH,,,,,",
            "team@example.com,Tina Team,BD Atlantis,,,,,",
            "zone@example.com,Zoe Zone,,Mars/Olympus,,,,",
            "many@example.com,Manni Many,,,30,,,",
            "mia@example.com,Mia Marketer,,,,,,",
            "noname@example.com,,,,,,,",
            "worst@example.com,Wanda Worst,Nowhere,,,maybe,pigeon,Funday",
            "not-an-email,Ned,,,,,,",
            "ok@example.com,Olli Again,,,,,,",
            ",No Email,,,,,,",
        ]
    ).encode()
    response = upload(admin, sheet)
    assert response.status_code == 200
    page = text_of(response.get_data(as_text=True))
    assert "Created 1 Updated 0 Refused 9" in page
    for reason in [
        "team No team called “BD Atlantis”",
        "timezone Unknown time zone “Mars/Olympus”",
        "posts_per_week Between 0 and 21 posts a week (got “30”)",
        "email mia@example.com belongs to a marketer, not a seller",
        "name Required for a new seller.",
        "team No team called “Nowhere”",
        "paused “maybe” isn't yes or no.",
        "notification_channel “pigeon” isn't a channel",
        "weekdays “Funday” isn't a weekday",
        "email Already in row 2 of this file.",
        "email Required.",
    ]:
        assert reason in page, reason
    assert re.search(r"9 not-an-email .*email", page)
    assert stored(app, "ok@example.com") is not None
    for email in ["team@example.com", "zone@example.com", "many@example.com", "noname@example.com"]:
        assert stored(app, email) is None, email
    mia = stored(app, "mia@example.com")
    assert mia is not None and mia.role is Role.MARKETER and mia.seller_profile is None


def test_template_downloads_and_imports_cleanly(
    app: Flask, client_as: Callable[[str], FlaskClient], make_team: Callable[..., Any]
) -> None:
    make_team("Digital sales", TeamKind.DIGITAL_SALES)
    make_team("BD Nordics", TeamKind.BUSINESS_DEVELOPMENT)
    admin = client_as("admin")
    template = admin.get("/admin/sellers/import?template=1")
    assert template.status_code == 200
    assert template.mimetype == "text/csv"
    assert "attachment" in template.headers["Content-Disposition"]
    header = template.get_data().decode("utf-8-sig").splitlines()[0]
    assert header.split(",") == list(accounts.SELLER_COLUMNS)

    response = upload(admin, template.get_data(), "contentfeed-sellers-template.csv")
    assert response.status_code == 200
    assert "Created 2 Updated 0 Refused 0" in text_of(response.get_data(as_text=True))
    jane = stored(app, "jane.doe@example.com")
    assert jane is not None and jane.team is not None and jane.seller_profile is not None
    assert jane.team.name == "BD Nordics"
    assert jane.seller_profile.weekdays == [0, 2, 3]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "sellers.csv", "The file is empty"),
        (b"\xef\xbb\xbf\r\n\r\n", "sellers.csv", "The file is empty"),
        (b"email,name\r\n", "sellers.csv", "no sellers below it"),
        (b"PK\x03\x04 workbook bytes", "sellers.csv", "spreadsheet workbook"),
        (b"email,name\n", "sellers.xlsx", "spreadsheet workbook"),
        (b"%PDF-1.7 binary", "sellers.pdf", "isn't a CSV file"),
        (b"name,team\r\nJane,BD\r\n", "sellers.csv", "at least an email column"),
        (b"email,name\r\n\xff\xfej\x00a\x00n\x00e\x00", "sellers.csv", "isn't UTF-8"),
    ],
    ids=[
        "empty",
        "blank-lines",
        "header-only",
        "xlsx-bytes",
        "xlsx-name",
        "pdf",
        "no-email",
        "utf16",
    ],
)
def test_unreadable_files_are_refused_beside_the_file_field(
    client_as: Callable[[str], FlaskClient], data: bytes, filename: str, message: str
) -> None:
    response = upload(client_as("admin"), data, filename)
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True), "file")


def test_import_reads_a_sheet_german_excel_saved(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    """Excel in a German locale saves "CSV" as Windows-1252 with semicolons."""
    sheet = "E-Mail;Name\r\njoerg@example.com;Jörg Neumann\r\n".encode("cp1252")
    response = upload(client_as("admin"), sheet)
    assert response.status_code == 200, text_of(response.get_data(as_text=True))[:2000]
    assert "Created 1 Updated 0 Refused 0" in text_of(response.get_data(as_text=True))
    with app.app_context():
        user = db.session().scalar(sa.select(User).where(User.email == "joerg@example.com"))
        assert user is not None and user.name == "Jörg Neumann"


def test_a_name_too_long_is_refused_for_its_length_not_as_missing(
    client_as: Callable[[str], FlaskClient],
) -> None:
    sheet = ("email,name\r\nlong@example.com," + "W" * 5000 + "\r\n").encode()
    page = text_of(upload(client_as("admin"), sheet).get_data(as_text=True))
    assert "Created 0 Updated 0 Refused 1" in page
    assert "At most 200 characters (this one has 5000)" in page
    assert "Required for a new seller" not in page


def test_import_needs_a_file_and_has_a_row_limit(client_as: Callable[[str], FlaskClient]) -> None:
    admin = client_as("admin")
    missing = admin.post("/admin/sellers/import", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert "Choose a CSV file" in field_errors(missing.get_data(as_text=True), "file")
    rows = "\n".join(f"seller{n}@example.com,Seller {n}" for n in range(5_001))
    too_many = upload(admin, f"email,name\n{rows}\n".encode())
    assert too_many.status_code == 422
    assert "at most 5,000" in field_errors(too_many.get_data(as_text=True), "file")


@pytest.mark.parametrize("role", ["marketer", "seller", "rep"])
def test_only_admins_import_sellers(client_as: Callable[[str], FlaskClient], role: str) -> None:
    client = client_as(role)
    assert client.get("/admin/sellers/import").status_code == 403
    assert client.get("/admin/sellers/import?template=1").status_code == 403
    assert upload(client, b"email,name\nx@example.com,X\n").status_code == 403


def test_a_row_failing_midway_leaves_no_trace_and_the_others_stay(
    app: Flask, monkeypatch: pytest.MonkeyPatch, make_team: Callable[..., Any]
) -> None:
    make_team("BD DACH")
    real_update = accounts.update_seller_profile

    def refuse_bob(s: Any, profile: Any, **values: Any) -> Any:
        if profile.user.email == "bob@example.com":
            raise Invalid("refused", {"notification_target": "Unreachable."})
        return real_update(s, profile, **values)

    monkeypatch.setattr(seller_import, "update_seller_profile", refuse_bob)
    rows = [
        accounts.SheetRow(2, {"email": "ann@example.com", "name": "Ann", "team": "BD DACH"}),
        accounts.SheetRow(3, {"email": "bob@example.com", "name": "Bob", "region": "DACH"}),
        accounts.SheetRow(4, {"email": "cem@example.com", "name": "Cem"}),
    ]
    with app.app_context():
        s = db.session()
        report = accounts.import_sellers(s, rows, new_password=lambda: "a-shown-password")
        s.commit()
    assert [r.outcome for r in report.rows] == ["created", "refused", "created"]
    assert report.refused[0].problems == (
        accounts.ImportProblem("notification_target", "Unreachable."),
    )
    assert report.created[0].password == "a-shown-password"
    assert stored(app, "bob@example.com") is None
    ann, cem = stored(app, "ann@example.com"), stored(app, "cem@example.com")
    assert ann is not None and ann.seller_profile is not None and ann.team is not None
    assert cem is not None and cem.seller_profile is not None


def test_when_the_mail_server_refuses_the_import_shows_a_password_once(
    database_url: str, tmp_path: Any, make_user: Callable[..., User]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the invitation cannot go out
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = make_test_app(
        database_url, tmp_path, smtp_host="127.0.0.1", smtp_port=closed_port, smtp_security="none"
    )
    admin = sign_in(app.test_client(), make_user("admin"))
    response = upload(admin, b"email,name\njane.doe@example.com,Jane Doe\n")
    html = response.get_data(as_text=True)
    passwords = passwords_in(html)
    assert set(passwords) == {"jane.doe@example.com"}
    credentials = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', html)
    assert credentials is not None
    download = base64.b64decode(credentials.group(1)).decode("utf-8-sig")
    assert download.splitlines() == [
        "email,name,password",
        f"jane.doe@example.com,Jane Doe,{passwords['jane.doe@example.com']}",
    ]
    password = passwords["jane.doe@example.com"]
    signed_in = app.test_client().post(
        "/login", data={"email": "jane.doe@example.com", "password": password}
    )
    assert signed_in.status_code == 302
