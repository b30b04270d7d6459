"""The accounts pages, the error pages and the API's messages in German: each screen speaks the
request's language, with none of its English texts left."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import Team, TeamKind, User
from tests.conftest import PASSWORD, sign_in

GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}


def german_page(client: FlaskClient, path: str, status: int = 200) -> str:
    """Return a page asked for in German, checking its status and its <html lang>."""
    answer = client.get(path, headers=GERMAN)
    page = answer.get_data(as_text=True)
    assert answer.status_code == status, page[:500]
    assert '<html lang="de"' in page
    return page


def shown(page: str) -> str:
    """Return what a person reads or hears: the text, and the attributes that are said aloud."""
    said = re.findall(r'(?:aria-label|placeholder|title|alt|data-confirm)="([^"]*)"', page)
    body = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    return " ".join(html.unescape(" ".join([text, *said])).split())


def assert_no_english(page: str, phrases: list[str]) -> None:
    # Whole words: "Mon" is English, "Montag" (the next posting day, on a Friday) German.
    text = shown(page)
    left = [phrase for phrase in phrases if re.search(rf"\b{re.escape(phrase)}\b", text)]
    assert not left, f"English left on the page: {left}"


def assert_german(page: str, phrases: list[str]) -> None:
    text = shown(page)
    missing = [phrase for phrase in phrases if phrase not in text]
    assert not missing, f"German missing on the page: {missing}"


# The layout and navigation every signed-in page shares.
CHROME = ["Skip to main content", "Log out", "Content enablement for B2B teams", "Home"]


def test_the_login_page_speaks_german(client: FlaskClient) -> None:
    page = german_page(client, "/login")
    assert_no_english(
        page,
        [
            "Sign in to contentfeed",
            "Your library, your suggested posts",
            "Keep me signed in on this device",
            "Password",
            "No account yet?",
            "Skip to main content",
        ],
    )
    assert_german(page, ["Bei contentfeed anmelden", "Passwort", "Anmelden", "Noch kein Konto?"])


def test_a_refused_sign_in_and_the_welcome_speak_german(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    refused = client.post(
        "/login", data={"email": "nobody@example.com", "password": "wrong-password"}, headers=GERMAN
    )
    assert refused.status_code == 401
    assert "E-Mail-Adresse und Passwort passen zu keinem Konto." in shown(
        refused.get_data(as_text=True)
    )

    rep = make_user("rep", name="Rita Rep")
    welcome = client.post("/login", data={"email": rep.email, "password": PASSWORD}, headers=GERMAN)
    assert welcome.status_code == 302
    assert "Willkommen zurück, Rita." in shown(german_page(client, "/"))

    out = client.post("/logout", headers=GERMAN, follow_redirects=True)
    assert "Sie sind abgemeldet." in shown(out.get_data(as_text=True))


def test_the_admin_home_speaks_german(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], make_team: Callable[..., Team]
) -> None:
    make_team("DACH Vertrieb", TeamKind.BUSINESS_DEVELOPMENT)
    admin = make_user("admin", name="Ada Admin")
    sign_in(client, admin)
    page = german_page(client, "/")
    assert_no_english(
        page,
        [
            *CHROME,
            "Signed in as",
            "Your account",
            "Active API tokens",
            "Manage tokens",
            "Edit teams",
            "Recent sign-ins",
            "Add user",
            "Business development",
            " active",
            "Sellers",
            "Good morning",
            "Good afternoon",
            "Good evening",
        ],
    )
    assert_german(
        page,
        [
            "Angemeldet als",
            "Ihr Konto",
            "Aktive API-Tokens",
            "Letzte Anmeldungen",
            "Neukundengewinnung",
            "Vertriebsmitarbeitende",
            "Start",
            "Abmelden",
        ],
    )


def test_the_marketer_and_rep_homes_speak_german(
    client_as: Callable[[str], FlaskClient],
) -> None:
    marketer = german_page(client_as("marketer"), "/")
    assert_no_english(
        marketer,
        [
            *CHROME,
            "Sellers sharing",
            "Posts they ask for each week",
            "Combined LinkedIn reach",
            "Connections of all sellers",
            "Topics sellers follow",
            "Regions",
            "Languages",
            "seller",
        ],
    )
    assert_german(marketer, ["Gesamte LinkedIn-Reichweite", "Regionen", "Sprachen", "Marketing"])

    rep = german_page(client_as("rep"), "/")
    assert_no_english(rep, [*CHROME, "Your team", "You're not on a team yet", "Ask an admin"])
    assert_german(rep, ["Sie sind noch in keinem Team", "Digital Sales"])


def test_a_german_sellers_profile_speaks_german(app: Flask, make_user: Callable[..., User]) -> None:
    seller = make_user("seller", language="de", posts_per_week=3, weekdays=[0, 2, 4])
    client = sign_in(app.test_client(), seller)
    page = german_page(client, "/profile")
    assert_no_english(
        page,
        [
            *CHROME,
            "Your profile",
            "What you share",
            "Your week",
            "Week of",
            "posts a week",
            "New suggestions arrive",
            "Cadence",
            "Posts per week",
            "Preferred weekdays",
            "Pause suggestions",
            "Job title",
            "LinkedIn connections",
            "Notify me by",
            "Email digest",
            "Notification address",
            "Save profile",
            "Helps marketing",
            "Mon",
            "Wed",
            "German",
        ],
    )
    assert_german(
        page,
        [
            "Ihr Profil",
            "Ihre Woche",
            "3 Beiträge pro Woche, am Mo., Mi. und Fr.",
            "Neue Vorschläge kommen",
            "Bevorzugte Wochentage",
            "E-Mail-Zusammenfassung",
            "Deutsch",
            "Profil speichern",
            "Feed",
            "Verlauf",
        ],
    )

    refused = client.post(
        "/profile",
        data={"posts_per_week": "30", "language": "de", "notification_channel": "email"},
        headers=GERMAN,
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert_german(page, ["Noch ist nichts gespeichert: 1 Feld braucht Ihre Aufmerksamkeit."])
    assert "Nothing is saved yet" not in shown(page)

    saved = client.post(
        "/profile",
        data={
            "posts_per_week": "2",
            "weekdays": ["1", "3"],
            "language": "de",
            "notification_channel": "email",
        },
        headers=GERMAN,
        follow_redirects=True,
    )
    assert "Ihr Profil ist gespeichert: 2 Beiträge pro Woche, am Di. und Do." in shown(
        saved.get_data(as_text=True)
    )


def test_the_account_page_speaks_german(client_as: Callable[[str], FlaskClient]) -> None:
    client = client_as("marketer")
    page = german_page(client, "/account")
    assert_no_english(
        page,
        [
            *CHROME,
            "Your account",
            "Details",
            "Full name",
            "Time zone",
            "IANA name such as",
            "Save details",
            "Current password",
            "New password",
            "Change password",
            "At least",
        ],
    )
    assert_german(page, ["Ihr Konto", "Vollständiger Name", "Zeitzone", "Passwort ändern"])

    wrong = client.post(
        "/account",
        data={"password-current_password": "not-it-at-all", "password-new_password": "x" * 12},
        headers=GERMAN,
    )
    assert "Das ist nicht Ihr aktuelles Passwort." in shown(wrong.get_data(as_text=True))


def test_the_users_list_and_form_speak_german(app: Flask, make_user: Callable[..., User]) -> None:
    admin = make_user("admin")
    seller = make_user("seller", name="Sam Seller")
    client = sign_in(app.test_client(), admin)

    users = german_page(client, "/admin/users")
    assert_no_english(
        users,
        [
            *CHROME,
            "users match",
            "Import sellers",
            "Add user",
            "Search name or email",
            "All roles",
            "All teams",
            "Last sign-in",
            "Deactivate",
            "They will no longer be able to sign in",
            "Showing",
        ],
    )
    assert_german(
        users,
        [
            "Personen",
            "Alle Rollen",
            "Filtern",
            "Letzte Anmeldung",
            "Aktiv",
            "Vertrieb",
            "Deaktivieren",
            "Admin",
            "Webhook-Secrets",
        ],
    )
    nobody = german_page(client, "/admin/users?q=nobody-at-all")
    assert_german(nobody, ["Keine passenden Personen", "Filter zurücksetzen"])

    new = german_page(client, "/admin/users/new")
    assert_no_english(
        new,
        [
            "Add a user",
            "Full name",
            "Initial password",
            "At least 10 characters",
            "Create user",
            "Cancel",
            "No team",
            "Marketer",
            "Sales rep",
        ],
    )
    assert_german(new, ["Person hinzufügen", "Startpasswort", "Person anlegen", "Abbrechen"])

    edit = german_page(client, f"/admin/users/{seller.id}")
    assert_no_english(
        edit,
        [
            "Seller profile",
            "New password",
            "joined",
            "Save profile",
            "Preferred weekdays",
            "Microsoft Teams message",
        ],
    )
    assert_german(edit, ["Vertriebsprofil", "Neues Passwort", "dabei seit", "Mo.", "So."])

    taken = client.post(
        "/admin/users/new",
        data={"email": seller.email, "name": "Twin", "role": "seller", "team_id": "0"},
        headers=GERMAN,
    )
    assert taken.status_code == 422
    assert "bereits vergeben" in shown(taken.get_data(as_text=True))


def test_the_teams_pages_speak_german(
    app: Flask, make_user: Callable[..., User], make_team: Callable[..., Team]
) -> None:
    team = make_team("Digital Nord", TeamKind.DIGITAL_SALES)
    client = sign_in(app.test_client(), make_user("admin"))
    page = german_page(client, "/admin/teams")
    assert_no_english(
        page,
        [
            "Teams target content",
            "All teams",
            "Active members",
            "Kind",
            "Add a team",
            "Team name",
            "Description",
            "Add team",
            "Digital sales",
            "Customer development",
        ],
    )
    assert_german(page, ["Alle Teams", "Aktive Mitglieder", "Art", "Digitaler Vertrieb"])

    edit = german_page(client, f"/admin/teams/{team.id}")
    assert_no_english(edit, ["members", "Details", "Save team", "No members yet", "Go to users"])
    assert_german(edit, ["0 Mitglieder", "Team speichern", "Noch keine Mitglieder"])


def test_the_tokens_page_speaks_german(
    app: Flask, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    admin = make_user("admin")
    make_token(admin, "read")
    client = sign_in(app.test_client(), admin)
    page = german_page(client, "/admin/tokens")
    assert_no_english(
        page,
        [
            "Tokens let other systems",
            "Last used",
            "Never",
            "Revoke",
            "Systems using it will be refused",
            "Issue a token",
            "Acts as user",
            "Read everything",
            "Expires after",
            "Leave empty for a token",
            "Issue token",
        ],
    )
    assert_german(
        page,
        ["Mit Tokens rufen andere Systeme", "Nie", "Widerrufen", "Token ausstellen", "read —"],
    )

    issued = client.post(
        "/admin/tokens",
        data={"name": "CRM", "user_id": str(admin.id), "scopes": ["read"]},
        headers=GERMAN,
    )
    text = shown(issued.get_data(as_text=True))
    assert "Der Token „CRM“ ist ausgestellt." in text
    assert "Kopieren Sie ihn jetzt" in text and "Copy it now" not in text


def test_the_sellers_import_speaks_german(app: Flask, make_user: Callable[..., User]) -> None:
    client = sign_in(app.test_client(), make_user("admin"))
    page = german_page(client, "/admin/sellers/import")
    assert_no_english(
        page,
        [
            "Create and update sellers",
            "Download template",
            "Upload a CSV file",
            "Existing sellers",
            "Finds an existing seller",
            "none yet",
            "At most",
            "required",
        ],
    )
    assert_german(page, ["Vorlage herunterladen", "Höchstens 5.000 Zeilen pro Datei.", "Pflicht"])

    csv = "email,name,posts_per_week,weekdays\nnew@example.com,New Seller,30,Mon\n"
    from io import BytesIO

    report = client.post(
        "/admin/sellers/import",
        data={"file": (BytesIO(csv.encode()), "sellers.csv")},
        headers=GERMAN,
        content_type="multipart/form-data",
    )
    text = shown(report.get_data(as_text=True))
    assert "Zwischen 0 und 21 Beiträgen pro Woche (angegeben: „30“)." in text
    assert "Refused rows" not in text and "Abgelehnte Zeilen" in text


def test_the_404_and_403_pages_speak_german(app: Flask, make_user: Callable[..., User]) -> None:
    # A seller's first profile language outranks the browser's: this one's is German.
    client = sign_in(app.test_client(), make_user("seller", language="de"))
    missing = german_page(client, "/no/such/page", status=404)
    assert_no_english(missing, ["Page not found", "Back to home", "The requested URL"])
    assert_german(missing, ["Seite nicht gefunden", "Zur Startseite", "Unter dieser Adresse"])

    forbidden = german_page(client, "/admin/users", status=403)
    assert_no_english(
        forbidden,
        [
            "You don't have access",
            "Your role doesn't include this page",
            "Sign in with another account",
            "You're signed in as",
            "ask an admin",
        ],
    )
    assert_german(
        forbidden,
        [
            "Sie haben keinen Zugriff auf diese Seite",
            "Ihre Rolle umfasst diese Seite nicht.",
            "Mit einem anderen Konto anmelden",
            "mit der Rolle Vertrieb angemeldet",
        ],
    )


def test_the_api_speaks_german_when_asked(
    app: Flask, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    admin = make_user("admin")
    token = make_token(admin, "read", "admin")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}", **GERMAN}

    missing = client.get("/api/v1/users/999999", headers=auth)
    assert missing.status_code == 404
    assert missing.json["message"] == "Diese Person gibt es nicht."

    nowhere = client.get("/api/v1/no-such-thing", headers=auth)
    assert nowhere.status_code == 404
    assert nowhere.json["message"].startswith("Unter dieser Adresse gibt es nichts.")

    refused = client.post("/api/v1/users", json={"email": "x@example.com"}, headers=auth)
    assert refused.status_code == 422
    assert refused.json["message"] == "Einige Felder brauchen Ihre Aufmerksamkeit."
    assert refused.json["fields"]["name"] == "Pflichtfeld"
    assert refused.json["error"] == "validation_failed"  # the codes stay as they are

    unsigned = client.get("/api/v1/users", headers=GERMAN)
    assert unsigned.status_code == 401
    assert "Senden Sie einen API-Token" in unsigned.json["message"]

    english = client.get("/api/v1/users/999999", headers={"Authorization": f"Bearer {token}"})
    assert english.json["message"] == "No such user."


def test_a_users_own_choice_beats_the_browser(app: Flask, make_user: Callable[..., User]) -> None:
    admin = make_user("admin")
    with app.app_context():
        s = db.session()
        stored = s.get(User, admin.id)
        assert stored is not None
        stored.locale = "de"
        s.commit()
    client = sign_in(app.test_client(), admin)
    page = client.get("/admin/teams", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de"' in page and "Alle Teams" in page
