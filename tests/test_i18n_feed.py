"""The seller's day in German: the feed, the history, the notices of what their posts brought,
and the digest and Slack messages they are sent, each in the seller's own language."""

from __future__ import annotations

import email
import email.policy
import html
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Content
from contentfeed.leads.models import LeadStatus
from contentfeed.links.models import TrackedLink
from contentfeed.routing import jobs, work
from contentfeed.routing.models import SellerNotice
from contentfeed.suggestions.models import Suggestion
from tests import test_notifications as notifications
from tests.conftest import sign_in
from tests.test_feed import suggest
from tests.test_routing import attributed_lead, route

# The notification tests' fixtures: a real SMTP server, Slack/Teams webhooks, an app using both.
smtp_server = notifications.smtp_server
hooks = notifications.hooks
notify_app = notifications.notify_app
factories = notifications.factories


def page_text(client: FlaskClient, url: str) -> str:
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def visible(page: str) -> str:
    """The page's words as a reader meets them: tags and the data-texts attribute gone."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def assert_german(page: str, english: list[str], german: list[str]) -> None:
    assert '<html lang="de"' in page
    words = visible(page)
    # The scripts' texts are keyed by their English wording in <html data-texts>: not shown.
    markup = re.sub(r"data-texts='[^']*'", "", page)
    left = [phrase for phrase in english if phrase in words or phrase in markup]
    assert not left, f"English left on a German page: {left}"
    missing = [phrase for phrase in german if phrase not in words]
    assert not missing, f"German missing: {missing}"


def code_of(app: Flask, suggestion: Suggestion) -> str:
    with app.app_context():
        code = db.session().scalar(
            sa.select(TrackedLink.code).where(TrackedLink.suggestion_id == suggestion.id)
        )
    assert code is not None
    return code


def title_of(app: Flask, suggestion: Suggestion) -> str:
    with app.app_context():
        found = db.session().get(Suggestion, suggestion.id)
        assert found is not None
        return found.content.title


def bring_a_qualified_lead(app: Flask, admin: User, code: str, company: str) -> None:
    """A lead comes in through the seller's link, is routed and worked up to qualified."""
    with app.app_context():
        s = db.session()
        lead = attributed_lead(
            s, f"jane@{company.lower()}.example", code, first_name="Jane", company=company
        )
        route(s)
        s.commit()
        actor = s.get(User, admin.id)
        assert actor is not None
        for status in (LeadStatus.CLAIMED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED):
            work.set_status(s, actor, lead.id, status)
        s.commit()


FEED_ENGLISH = [
    "Your feed",
    "Good morning",
    "Good afternoon",
    "Good evening",
    "ready to share",
    "Nothing waiting right now",
    "shared in the last 30 days",
    "What your posts brought in",
    "Your post brought a lead",
    "filled in a form",
    "team has it now",
    "was qualified",
    "Thank you for sharing",
    "Suggested posts",
    "suggested ",
    "Why you:",
    "matches your topics",
    "Copy post",
    "Post on LinkedIn",
    "opens in a new tab",
    "Opens LinkedIn",
    "Posted it?",
    "Not now",
    "Mark posted",
    "Why skip this one?",
    "Not relevant for my network",
    "I already shared something similar",
    "Too promotional",
    "Anything marketing should know?",
    "Skip it",
    "Your last 30 days",
    "posts shared",
    "post shared",
    " ago",
    "just now",
]

HISTORY_ENGLISH = [
    "What you shared, what you skipped, and what it brought in.",
    "Back to your feed",
    ">Post<",
    ">When<",
    ">Clicks<",
    'data-label="When"',
    'data-label="Clicks"',
    ">Shared<",
    ">Skipped<",
    "Too promotional",
    "Your last 30 days",
    "posts shared",
    " ago",
]


def test_a_german_seller_sees_feed_history_and_notices_in_german(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    for title in ("Zero-Downtime-Migrationen", "Datenbanken im Griff", "Backups ohne Stress"):
        make_content(title=title, topics=["datenbanken"], language="de")
    seller = make_user("seller", name="Gerda Graf", language="de", topics=["datenbanken"])
    admin = make_user(Role.ADMIN, name="Ada Admin")
    first, second, third = suggest(app, seller, times=3)
    bring_a_qualified_lead(app, admin, code_of(app, first), "Acme")

    client = sign_in(app.test_client(), seller)
    # No Accept-Language: the seller's profile language decides.
    marked = client.post(f"/feed/{first.id}/posted", follow_redirects=True)
    flash = html.unescape(marked.get_data(as_text=True))
    assert f"„{title_of(app, first)}“ ist als geteilt markiert" in flash
    assert "is marked shared" not in flash
    client.post(f"/feed/{second.id}/skip")  # no reason given
    refused = page_text(client, "/feed")
    assert "Wählen Sie einen Grund: Für mein Netzwerk nicht relevant" in refused
    assert "Choose a reason" not in refused
    skipped = client.post(
        f"/feed/{second.id}/skip", data={"reason": "too_salesy"}, follow_redirects=True
    )
    skipped_page = html.unescape(skipped.get_data(as_text=True))
    assert f"„{title_of(app, second)}“ übersprungen. Danke" in skipped_page
    assert "Thanks — marketing sees why" not in skipped_page
    again = client.post(f"/feed/{first.id}/skip", data={"reason": "other"}, follow_redirects=True)
    assert "Dieser Beitrag ist bereits als geteilt markiert." in html.unescape(
        again.get_data(as_text=True)
    )

    feed = page_text(client, "/feed")
    assert_german(
        feed,
        FEED_ENGLISH,
        [
            "Ihr Feed",
            "Gerda.",
            "1 Beitrag zum Teilen bereit",
            "1 in den letzten 30 Tagen geteilt",
            "Was Ihre Beiträge gebracht haben",
            "Ihr Beitrag hat einen Lead von Acme gebracht",
            "hat nach Ihrem Beitrag zu „",
            "Unser Vertriebsteam kümmert sich jetzt darum",
            "Der Lead von Acme wurde qualifiziert",
            "Danke fürs Teilen!",
            "vorgeschlagen ",
            "Warum Sie: passt zu Ihren Themen datenbanken",
            "Beitrag kopieren",
            "Auf LinkedIn posten",
            "Öffnet LinkedIn mit Ihrem Beitrag im Beitragsfeld.",
            "Gepostet?",
            "Jetzt nicht",
            "Als gepostet markieren",
            "Warum überspringen Sie diesen Beitrag?",
            "Zu werblich",
            "Sollte das Marketing noch etwas wissen?",
            "Ihre letzten 30 Tage",
            "Beitrag geteilt",
            "Klicks",
        ],
    )
    assert title_of(app, third) in feed
    assert re.search(r"Guten (Morgen|Tag|Abend), Gerda\.", feed)

    history = page_text(client, "/history")
    assert_german(
        history,
        HISTORY_ENGLISH,
        [
            "Verlauf",
            "Was Sie geteilt und übersprungen haben \N{EN DASH} und was es gebracht hat.",
            "Zurück zu Ihrem Feed",
            "Beitrag",
            "Status",
            "Wann",
            "Klicks",
            "Geteilt",
            "Übersprungen",
            "Zu werblich",
        ],
    )
    assert 'data-label="Wann"' in history


def test_a_german_sellers_empty_feed_and_history_are_german(
    app: Flask, make_user: Callable[..., User]
) -> None:
    seller = make_user("seller", language="de")
    client = sign_in(app.test_client(), seller)
    feed = page_text(client, "/feed")
    assert_german(
        feed,
        ["You're all caught up", "New posts arrive", "See your history", "Nothing waiting"],
        ["Sie sind auf dem neuesten Stand", "Gerade wartet nichts", "Zu Ihrem Verlauf"],
    )
    history = page_text(client, "/history")
    assert_german(
        history,
        ["No history yet", "Posts you share or skip", "Go to your feed"],
        ["Noch kein Verlauf", "Zu Ihrem Feed"],
    )


def test_each_seller_is_told_about_their_leads_in_their_own_language(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    """A notice is written once, in its recipient's language: the English seller's is English,
    the German seller's German, whatever the job that wrote them speaks."""
    make_content(
        title="Zero-downtime migrations",
        variants=("Read {{ link }}", ("Lesen Sie {{ link }}", "de")),
    )
    sam = make_user("seller", name="Sam Seller")
    gerda = make_user("seller", name="Gerda Graf", language="de")
    admin = make_user(Role.ADMIN, name="Ada Admin")
    [for_sam] = suggest(app, sam)
    [for_gerda] = suggest(app, gerda)
    bring_a_qualified_lead(app, admin, code_of(app, for_sam), "Acme")
    bring_a_qualified_lead(app, admin, code_of(app, for_gerda), "Globex")
    with app.app_context():
        notices = {
            (n.user_id, n.kind): n.subject
            for n in db.session().scalars(sa.select(SellerNotice).order_by(SellerNotice.id))
        }
    assert notices == {
        (sam.id, "lead"): "Your post brought a lead from Acme",
        (sam.id, "outcome"): "The lead from Acme was qualified",
        (gerda.id, "lead"): "Ihr Beitrag hat einen Lead von Globex gebracht",
        (gerda.id, "outcome"): "Der Lead von Globex wurde qualifiziert",
    }
    # Sam's profile speaks English: his feed is English, even in a German browser.
    english = sign_in(app.test_client(), sam)
    page = html.unescape(
        english.get("/feed", headers={"Accept-Language": "de"}).get_data(as_text=True)
    )
    assert '<html lang="en"' in page and "Copy post" in page
    assert "Your post brought a lead from Acme" in page
    assert "What your posts brought in" in page


def decoded(envelope: Any) -> tuple[str, str]:
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    return str(message["Subject"]), message.get_content()


def test_the_digest_email_speaks_each_sellers_language(
    notify_app: Flask, factories: Any, smtp_server: tuple[Any, int]
) -> None:
    make_user, make_content = factories
    make_content(title="Zero-Downtime-Migrationen", language="de")
    make_content(title="Zero-downtime migrations")  # English: not for Gerda
    gerda = make_user("seller", name="Gerda Graf", language="de", notification_channel="email")
    sam = make_user("seller", name="Sam Seller", notification_channel="email")
    notifications.suggest_to(notify_app, gerda, sam)
    assert notifications.run_notify(notify_app).sent == 2
    mails = {tuple(e.rcpt_tos): decoded(e) for e in smtp_server[0].messages}

    subject, body = mails[(gerda.email,)]
    assert subject == "contentfeed: 1 Beitrag zum Teilen bereit"
    assert body.startswith("Hallo Gerda,")
    assert "Sie haben 1 Beitrag zum Teilen bereit. Kopieren Sie ihn aus Ihrem Feed:" in body
    assert "Zero-Downtime-Migrationen" in body and "https://cf.example.com/feed" in body
    for english in ("Hi ", "ready to share", "Copy it from your feed"):
        assert english not in subject + body

    subject, body = mails[(sam.email,)]
    assert subject == "contentfeed: 1 post ready to share"
    assert body.startswith("Hi Sam,")
    assert "You have 1 post ready to share. Copy it from your feed:" in body


def test_slack_and_teams_messages_speak_each_sellers_language(
    notify_app: Flask, factories: Any, hooks: str
) -> None:
    make_user, make_content = factories
    make_content(title="Webinar: KI-Assistenten", language="de")
    make_content(title="Webinar: AI copilots")
    gerda = make_user(
        "seller",
        name="Gerda Graf",
        language="de",
        notification_channel="slack",
        notification_target=hooks + "/gerda",
    )
    tom = make_user(
        "seller",
        name="Tom Teams",
        language="de",
        notification_channel="teams",
        notification_target=hooks + "/tom",
    )
    sam = make_user(
        "seller",
        name="Sam Seller",
        notification_channel="slack",
        notification_target=hooks + "/sam",
    )
    notifications.suggest_to(notify_app, gerda, tom, sam)
    assert notifications.run_notify(notify_app).sent == 3
    bodies = dict(notifications.Hooks.received)

    assert bodies["/gerda"]["text"].startswith("Gerda, Sie haben 1 Beitrag zum Teilen bereit:")
    assert "Webinar: KI-Assistenten" in bodies["/gerda"]["text"]
    assert bodies["/tom"]["summary"] == "contentfeed: 1 Beitrag zum Teilen bereit"
    assert bodies["/tom"]["text"].startswith("Tom, Sie haben 1 Beitrag zum Teilen bereit:")
    assert bodies["/sam"]["text"].startswith("Sam, you have 1 post ready to share:")


def test_a_seller_notice_email_greets_in_the_sellers_language(
    notify_app: Flask, factories: Any, smtp_server: tuple[Any, int]
) -> None:
    make_user, make_content = factories
    make_content(title="Zero-Downtime-Migrationen", language="de")
    gerda = make_user("seller", name="Gerda Graf", language="de", notification_channel="email")
    admin = make_user(Role.ADMIN, name="Ada Admin")
    notifications.suggest_to(notify_app, gerda)
    with notify_app.app_context():
        [suggestion] = db.session().scalars(sa.select(Suggestion)).all()
    bring_a_qualified_lead(notify_app, admin, code_of(notify_app, suggestion), "Acme")
    with notify_app.app_context():
        s = db.session()
        assert jobs.send_notices(s).sent == 2
        s.commit()
    subjects = sorted(decoded(e)[0] for e in smtp_server[0].messages)
    assert subjects == [
        "Der Lead von Acme wurde qualifiziert",
        "Ihr Beitrag hat einen Lead von Acme gebracht",
    ]
    for envelope in smtp_server[0].messages:
        assert decoded(envelope)[1].startswith("Hallo Gerda,")
