"""Getting people in: invitations and password resets, through a real SMTP server.

An admin adds a user without a password and the user receives an email with a single-use,
expiring link to choose one; "Forgot password?" on the sign-in page sends a link the same
way, answers alike for every address, and is rate-limited."""

from __future__ import annotations

import email
import email.policy
import io
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import SignInLink, User
from contentfeed.db import utcnow
from contentfeed.suggestions.models import SentEmail
from tests.conftest import PASSWORD, isolate_from_environment, make_test_app, sign_in
from tests.test_notifications import (  # noqa: F401 - the SMTP fixture
    Inbox,
    mailing_app,
    smtp_server,
)

BASE = "https://cf.example.com"
LINK = re.compile(re.escape(BASE) + r"/password/([A-Za-z0-9_-]+)")
NEW_PASSWORD = "my-own-long-password"


@pytest.fixture
def app(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: tuple[Inbox, int],  # noqa: F811
) -> Flask:
    """The app with email set up: mail goes to the test's SMTP server."""
    isolate_from_environment(monkeypatch, tmp_path)
    return mailing_app(database_url, tmp_path, smtp_server[1], public_base_url=BASE)


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int]) -> Inbox:  # noqa: F811
    return smtp_server[0]


def mails(inbox: Inbox, to: str) -> list[email.message.EmailMessage]:
    """The messages the SMTP server took for one address, oldest first."""
    found = []
    for envelope in inbox.messages:
        if to in envelope.rcpt_tos:
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            found.append(message)
    return found  # type: ignore[return-value]


def body(message: email.message.EmailMessage) -> str:
    return str(message.get_content())


def link_in(message: email.message.EmailMessage) -> str:
    """The path of the link an email carries (/password/<token>)."""
    match = LINK.search(body(message))
    assert match, body(message)
    return f"/password/{match.group(1)}"


def text_of(response: Any) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def stored(app: Flask, address: str) -> User | None:
    with app.app_context():
        return db.session().scalar(sa.select(User).where(User.email == address))


def add_seller(admin: FlaskClient, address: str, **fields: Any) -> Any:
    data = {"email": address, "name": "Jörg Neumann", "role": "seller", "team_id": 0}
    return admin.post("/admin/users/new", data={**data, **fields})


def test_an_added_seller_is_invited_chooses_a_password_and_signs_in(
    app: Flask, client_as: Callable[[str], FlaskClient], inbox: Inbox
) -> None:
    admin = client_as("admin")
    response = add_seller(admin, "joerg@example.com")
    assert response.status_code == 302
    flashed = text_of(admin.get(response.headers["Location"]))
    assert "Jörg Neumann is invited as Seller: the invitation went to joerg@example.com" in flashed
    assert "Invited" in flashed and "Send the invitation again" in flashed
    stored_user = stored(app, "joerg@example.com")
    assert stored_user is not None and stored_user.password_hash == ""

    listing = text_of(admin.get("/admin/users?q=joerg"))
    assert "Invited" in listing and "Send again" in listing

    [invitation] = mails(inbox, "joerg@example.com")
    assert "You are invited to contentfeed" in invitation["Subject"]
    assert "Hi Jörg," in body(invitation) and "works once and for 7 days" in body(invitation)
    link = link_in(invitation)
    with app.app_context():  # only a hash of the token is kept
        hashes = db.session().scalars(sa.select(SignInLink.token_hash)).all()
    assert link.rsplit("/", 1)[1] not in hashes

    newcomer = app.test_client()
    page = newcomer.get(link)
    assert page.status_code == 200 and "Choose your password" in text_of(page)
    too_short = newcomer.post(link, data={"password": "short"})
    assert too_short.status_code == 422
    chosen = newcomer.post(link, data={"password": NEW_PASSWORD})
    assert chosen.status_code == 302
    home = newcomer.get(chosen.headers["Location"], follow_redirects=True)
    assert home.status_code == 200 and "Your password is set. Welcome, Jörg." in text_of(home)

    again = app.test_client().get(link)
    assert again.status_code == 410
    assert "expired or has already been used" in text_of(again)
    assert "Ask for a new link" in text_of(again)
    assert "Invited" not in text_of(admin.get("/admin/users?q=joerg"))
    sign_in(app.test_client(), stored(app, "joerg@example.com"), NEW_PASSWORD)  # type: ignore[arg-type]


def test_send_again_retires_the_first_link(
    app: Flask, client_as: Callable[[str], FlaskClient], inbox: Inbox
) -> None:
    admin = client_as("admin")
    add_seller(admin, "late@example.com")
    user = stored(app, "late@example.com")
    assert user is not None
    resent = admin.post(f"/admin/users/{user.id}/invite")
    assert resent.status_code == 302
    first, second = mails(inbox, "late@example.com")
    assert app.test_client().get(link_in(first)).status_code == 410
    assert app.test_client().get(link_in(second)).status_code == 200


def test_an_expired_invitation_is_refused(
    app: Flask, client_as: Callable[[str], FlaskClient], inbox: Inbox
) -> None:
    add_seller(client_as("admin"), "slow@example.com")
    link = link_in(mails(inbox, "slow@example.com")[0])
    with app.app_context():
        s = db.session()
        s.execute(sa.update(SignInLink).values(expires_at=utcnow() - timedelta(minutes=1)))
        s.commit()
    client = app.test_client()
    assert client.get(link).status_code == 410
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 410
    user = stored(app, "slow@example.com")
    assert user is not None and user.password_hash == ""


def test_the_role_field_starts_at_seller(client_as: Callable[[str], FlaskClient]) -> None:
    html = client_as("admin").get("/admin/users/new").get_data(as_text=True)
    role_select = re.search(r'<select[^>]*name="role".*?</select>', html, re.S)
    assert role_select is not None
    chosen = re.findall(r"<option[^>]*\bselected\b[^>]*>([^<]*)<", role_select.group(0))
    assert chosen == ["Seller"]


def test_the_api_invites_a_user_created_without_a_password(
    app: Flask, make_user: Callable[..., User], make_token: Callable[..., str], inbox: Inbox
) -> None:
    token = make_token(make_user("admin"), "admin")
    client = app.test_client()
    created = client.post(
        "/api/v1/users",
        json={"email": "api.made@example.com", "name": "Api Made", "role": "marketer"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.json
    assert created.json is not None and created.json["invited"] is True
    [invitation] = mails(inbox, "api.made@example.com")
    assert client.post(link_in(invitation), data={"password": NEW_PASSWORD}).status_code == 302


KEPT_LINK = re.compile(r"/password/([A-Za-z0-9_-]+)")


def kept_link(app: Flask, address: str, kind: str) -> str:
    """The path of the link in the newest email kept for an address (no mail server)."""
    with app.app_context():
        body = db.session().scalar(
            sa.select(SentEmail.body)
            .where(SentEmail.to == address, SentEmail.kind == kind)
            .order_by(SentEmail.id.desc())
        )
    assert body, f"no {kind} kept for {address}"
    match = KEPT_LINK.search(body)
    assert match, body
    return f"/password/{match.group(1)}"


def test_without_email_the_invitation_is_kept_under_sent_email(
    database_url: str,
    tmp_path: Path,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    plain = make_test_app(database_url, tmp_path / "no-mail")  # no SMTP host
    admin_user = make_user("admin")
    admin = sign_in(plain.test_client(), admin_user)
    form = text_of(admin.get("/admin/users/new"))
    assert "the invitation is kept under Admin → Sent email" in form
    page = admin.post(
        "/admin/users/new",
        data={"email": "nomail@example.com", "name": "No Mail", "role": "seller", "team_id": 0},
    )
    assert page.status_code == 302
    flashed = text_of(admin.get(page.headers["Location"]))
    assert "No Mail is invited as Seller. No mail server is set up" in flashed
    assert "kept under Admin → Sent email, copy its link from there" in flashed
    assert "went to" not in flashed
    listing = text_of(admin.get("/admin/users?q=nomail"))
    assert "Invited" in listing and "Send again" in listing
    sent = text_of(admin.get("/admin/sent-email"))
    assert "nomail@example.com" in sent and "Invitation" in sent

    resent = admin.post(f"/admin/users/{stored(plain, 'nomail@example.com').id}/invite")  # type: ignore[union-attr]
    assert "the new invitation for nomail@example.com is kept" in text_of(
        admin.get(resent.headers["Location"])
    )
    newcomer = plain.test_client()
    link = kept_link(plain, "nomail@example.com", "invitation")
    assert newcomer.post(link, data={"password": NEW_PASSWORD}).status_code == 302

    german = admin
    made = german.post(
        "/admin/users/new",
        data={"email": "ohne@example.com", "name": "Ohne Mail", "role": "seller", "team_id": 0},
        headers={"Accept-Language": "de"},
    )
    words = text_of(german.get(made.headers["Location"], headers={"Accept-Language": "de"}))
    assert "Kein Mailserver eingerichtet" in words and "Gesendete E-Mails" in words

    token = make_token(admin_user, "admin")
    answer = plain.test_client().post(
        "/api/v1/users",
        json={"email": "api.nomail@example.com", "name": "Api No Mail", "role": "seller"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201 and answer.json is not None
    assert answer.json["invited"] is True and answer.json["invitation"] == "kept"
    assert kept_link(plain, "api.nomail@example.com", "invitation")
    with_password = plain.test_client().post(
        "/api/v1/users",
        json={"email": "pw@example.com", "name": "Pw", "role": "seller", "password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert with_password.json is not None and with_password.json["invitation"] is None


def test_without_email_the_csv_import_keeps_the_invitations(
    database_url: str, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    plain = make_test_app(database_url, tmp_path / "no-mail")
    admin = sign_in(plain.test_client(), make_user("admin"))
    assert "the invitations are kept under Admin → Sent email" in text_of(
        admin.get("/admin/sellers/import")
    )
    data = "email,name\ncsv.nomail@example.com,Csv Seller\n"
    report = admin.post(
        "/admin/sellers/import",
        data={"file": (io.BytesIO(data.encode()), "sellers.csv")},
        content_type="multipart/form-data",
    )
    words = text_of(report)
    assert "1 new seller was invited to choose a password. No mail server is set up" in words
    assert "Initial password" not in words
    link = kept_link(plain, "csv.nomail@example.com", "invitation")
    assert plain.test_client().post(link, data={"password": NEW_PASSWORD}).status_code == 302


def test_without_email_a_reset_answers_alike_and_keeps_the_link(
    database_url: str, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    plain = make_test_app(database_url, tmp_path / "no-mail")
    seller = make_user("seller")
    client = plain.test_client()
    known = client.post("/password/forgot", data={"email": seller.email})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert text_of(known).replace(seller.email, "X") == text_of(unknown).replace(
        "nobody@example.com", "X"
    )
    link = kept_link(plain, seller.email, "password_reset")
    with plain.app_context():
        kept_for = db.session().scalars(sa.select(SentEmail.to)).all()
    assert kept_for == [seller.email]
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 302


def test_the_csv_import_invites_new_sellers_in_their_language(
    app: Flask, client_as: Callable[[str], FlaskClient], inbox: Inbox
) -> None:
    admin = client_as("admin")
    data = "email,name,languages\nanna@example.com,Anna Berger,de\nbob@example.com,Bob Ray,en\n"
    report = admin.post(
        "/admin/sellers/import",
        data={"file": (io.BytesIO(data.encode()), "sellers.csv")},
        content_type="multipart/form-data",
    )
    assert report.status_code == 200
    words = text_of(report)
    assert "2 new sellers were emailed an invitation to choose a password" in words
    assert "Initial password" not in words
    [german] = mails(inbox, "anna@example.com")
    assert german["Subject"].startswith("Ihre Einladung zu contentfeed")
    assert "Hallo Anna," in body(german)
    [english] = mails(inbox, "bob@example.com")
    assert "You are invited" in english["Subject"]
    client = app.test_client()
    assert client.post(link_in(german), data={"password": NEW_PASSWORD}).status_code == 302


def test_forgot_password_answers_alike_and_mails_a_link_that_works_once(
    app: Flask, make_user: Callable[..., User], inbox: Inbox
) -> None:
    seller = make_user("seller", name="Sam Seller")
    elsewhere = sign_in(app.test_client(), seller)  # still signed in on another device
    assert elsewhere.get("/account").status_code == 200
    client = app.test_client()
    login = text_of(client.get("/login"))
    assert "Forgot password?" in login
    known = client.post("/password/forgot", data={"email": seller.email})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert text_of(known).replace(seller.email, "X") == text_of(unknown).replace(
        "nobody@example.com", "X"
    )
    assert "a link to choose a new password is on its way" in text_of(known)
    assert mails(inbox, "nobody@example.com") == []
    [reset] = mails(inbox, seller.email)
    assert "works once and for 60 minutes" in body(reset)
    link = link_in(reset)
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 302
    assert client.get("/account").status_code == 200
    assert app.test_client().get(link).status_code == 410
    signed_out = elsewhere.get("/account")  # the reset ended the other sign-in
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    refused = app.test_client().post("/login", data={"email": seller.email, "password": PASSWORD})
    assert refused.status_code == 401
    sign_in(app.test_client(), seller, NEW_PASSWORD)


def test_reset_requests_are_limited_per_address(
    app: Flask, make_user: Callable[..., User], inbox: Inbox
) -> None:
    seller = make_user("seller")
    client = app.test_client()
    answers = [
        client.post("/password/forgot", data={"email": seller.email}).status_code for _ in range(6)
    ]
    assert answers == [200] * 5 + [429]
    last = client.post("/password/forgot", data={"email": seller.email})
    assert "Too many requests for a new password" in text_of(last)
    assert len(mails(inbox, seller.email)) == 5
    # another address from another client is not held up
    other_user = make_user("seller")
    other = app.test_client().post(
        "/password/forgot",
        data={"email": other_user.email},
        environ_overrides={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other.status_code == 200


def test_reset_requests_are_limited_per_client(app: Flask, inbox: Inbox) -> None:
    client = app.test_client()
    answers = {
        client.post("/password/forgot", data={"email": f"guess{n}@example.com"}).status_code
        for n in range(26)
    }
    assert answers == {200, 429}
    assert client.post("/password/forgot", data={"email": "x@example.com"}).status_code == 429


def test_a_german_seller_gets_the_reset_email_in_german(
    app: Flask, make_user: Callable[..., User], inbox: Inbox
) -> None:
    seller = make_user("seller", name="Jana Krause", language="de")
    app.test_client().post("/password/forgot", data={"email": seller.email})
    [reset] = mails(inbox, seller.email)
    assert reset["Subject"] == "Ihr neues contentfeed-Passwort"
    assert "Hallo Jana," in body(reset) and "60 Minuten" in body(reset)
    page = app.test_client().get(link_in(reset), headers={"Accept-Language": "de"})
    assert "Passwort wählen" in text_of(page)


def test_a_used_link_says_so_in_german(
    app: Flask, make_user: Callable[..., User], inbox: Inbox
) -> None:
    seller = make_user("seller", language="de")
    client = app.test_client()
    client.post("/password/forgot", data={"email": seller.email})
    link = link_in(mails(inbox, seller.email)[0])
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 302
    gone = app.test_client().get(link, headers={"Accept-Language": "de"})
    assert gone.status_code == 410
    words = text_of(gone)
    assert "Dieser Link ist nicht mehr gültig" in words and "Neuen Link anfordern" in words
    assert "expired" not in words
    forgot = text_of(app.test_client().get("/password/forgot", headers={"Accept-Language": "de"}))
    assert "Passwort vergessen?" in forgot and "Link senden" in forgot
