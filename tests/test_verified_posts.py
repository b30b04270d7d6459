"""Verified posts (issue #17 item 2): Mark posted with the LinkedIn post's address.

The post id in the address carries the post's time (``id >> 22`` milliseconds since 1970);
it must fall after the suggestion was made (5 minutes' skew) and not in the future, and one
post counts for one suggestion only. Verified posts show on the history, the item's page,
the leaderboard, the seller's page and the content report. Nothing is fetched from LinkedIn.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Invalid
from contentfeed.suggestions import actions, service
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from contentfeed.suggestions.post_url import PostUrlProblem, parse_post_url
from tests.apiclient import Api
from tests.conftest import make_test_app, sign_in

OPTIONAL = 'LinkedIn post URL <span class="muted">(optional)</span>'
POSTED = "/api/v1/suggestions/{suggestion_id}/posted"
SUGGESTION = "/api/v1/suggestions/{suggestion_id}"

# A fixed example: 7265000000000000000 >> 22 = 1732110977172 ms = 2024-11-20 13:56:17.172 UTC.
FIXED_ID = 7265000000000000000
FIXED_TIME = datetime(2024, 11, 20, 13, 56, 17, 172000, tzinfo=UTC)
FIXED_CANONICAL = f"https://www.linkedin.com/feed/update/urn:li:activity:{FIXED_ID}/"


def activity_id(moment: datetime, sequence: int = 4242) -> int:
    """The id LinkedIn would give a post made at this moment."""
    return int(moment.timestamp() * 1000) << 22 | sequence


def slug_url(post_id: int) -> str:
    """The address LinkedIn's "Copy link to post" gives, tracking parameters and all."""
    return (
        f"https://www.linkedin.com/posts/sam-seller_ai-sales-activity-{post_id}-AbCd"
        "?utm_source=share&utm_medium=member_desktop"
    )


# --- reading the address: fixed examples --------------------------------------------------


def test_the_fixed_example_reads_as_november_2024() -> None:
    assert FIXED_ID >> 22 == 1_732_110_977_172
    post = parse_post_url(slug_url(FIXED_ID))
    assert post.kind == "activity" and post.activity_id == FIXED_ID
    assert post.posted_at == FIXED_TIME
    assert post.url == FIXED_CANONICAL


@pytest.mark.parametrize(
    ("pasted", "kind", "number"),
    [
        (slug_url(FIXED_ID), "activity", FIXED_ID),
        (f"https://www.linkedin.com/feed/update/urn:li:activity:{FIXED_ID}/", "activity", FIXED_ID),
        (f"https://linkedin.com/feed/update/urn:li:activity:{FIXED_ID}", "activity", FIXED_ID),
        (f"http://m.linkedin.com/feed/update/urn:li:activity:{FIXED_ID}/", "activity", FIXED_ID),
        (f"  www.linkedin.com/posts/x_y-activity-{FIXED_ID}-zz  ", "activity", FIXED_ID),
        (
            f"https://de.linkedin.com/posts/anna_thema-activity-{FIXED_ID}-Q1w2",
            "activity",
            FIXED_ID,
        ),
        (
            f"https://www.linkedin.com/feed/update/urn%3Ali%3Aactivity%3A{FIXED_ID}/",
            "activity",
            FIXED_ID,
        ),
        (
            f"https://www.linkedin.com/feed/update/urn:li:share:{FIXED_ID + 1}/",
            "share",
            FIXED_ID + 1,
        ),
        (
            f"https://www.linkedin.com/feed/update/urn:li:ugcPost:{FIXED_ID + 2}/",
            "ugcPost",
            FIXED_ID + 2,
        ),
        (
            f"https://www.linkedin.com/embed/feed/update/urn:li:ugcPost:{FIXED_ID}",
            "ugcPost",
            FIXED_ID,
        ),
        (f"urn:li:activity:{FIXED_ID}", "activity", FIXED_ID),
        (f"HTTPS://WWW.LINKEDIN.COM/feed/update/urn:li:activity:{FIXED_ID}/", "activity", FIXED_ID),
    ],
)
def test_the_address_forms_sellers_paste(pasted: str, kind: str, number: int) -> None:
    post = parse_post_url(pasted)
    assert (post.kind, post.activity_id) == (kind, number)
    assert post.posted_at == FIXED_TIME  # the low 22 bits do not move the time
    assert post.url == f"https://www.linkedin.com/feed/update/urn:li:{kind}:{number}/"


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("", "Paste the address"),
        (f"https://example.com/posts/x-activity-{FIXED_ID}-a", "not a LinkedIn address"),
        (
            f"https://linkedin.com.evil.example/feed/update/urn:li:activity:{FIXED_ID}",
            "not a LinkedIn",
        ),
        (f"https://evil-linkedin.com/feed/update/urn:li:activity:{FIXED_ID}", "not a LinkedIn"),
        ("https://lnkd.in/eAbCdEf", "lnkd.in"),
        ("https://www.linkedin.com/in/sam-seller/", "names no post"),
        ("https://www.linkedin.com/feed/", "names no post"),
        (f"ftp://www.linkedin.com/feed/update/urn:li:activity:{FIXED_ID}", "not a web address"),
        (f"javascript:alert({FIXED_ID})", "not a LinkedIn address"),
        ("https://[::1/feed", "not a web address"),
        (
            "https://www.linkedin.com/feed/update/urn:li:activity:99999999999999999999/",
            "not a LinkedIn post id",
        ),
        (
            "https://www.linkedin.com/feed/update/urn:li:activity:9999999999999999999/",
            "not a LinkedIn post id",
        ),
        (
            "https://www.linkedin.com/feed/update/urn:li:activity:" + "9" * 500,
            "not a LinkedIn post id",
        ),
        ("https://www.linkedin.com/feed/update/urn:li:activity:12/", "not a LinkedIn post id"),
        ("https://www.linkedin.com/posts/" + "a" * 10_000, "too long"),
    ],
)
def test_addresses_that_name_no_post_are_refused(pasted: str, says: str) -> None:
    with pytest.raises(PostUrlProblem, match=says):
        parse_post_url(pasted)


# --- the use case: the time window and one post for one suggestion --------------------------


@pytest.fixture
def suggest(app: Flask) -> Callable[..., int]:
    """Give a seller one suggestion (as Suggest now does), made at ``made`` if given."""

    def make(seller: User, made: datetime | None = None) -> int:
        with app.app_context():
            s = db.session()
            settings = service.feed_settings(config.settings_of(app))
            [suggestion] = actions.suggest_now(s, settings, seller.id)
            if made is not None:
                suggestion.created_at = made
            s.commit()
            return suggestion.id

    return make


def _mark(app: Flask, seller: User, suggestion_id: int, url: str, now: datetime) -> Suggestion:
    with app.app_context():
        s = db.session()
        data = actions.PostedIn(post_url=url)
        done = actions.mark_posted(s, s.get(User, seller.id), suggestion_id, data, now=now)
        s.commit()
        s.refresh(done)
        s.expunge(done)
        return done


def test_the_post_must_be_made_after_the_suggestion_and_not_in_the_future(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    suggest: Callable[..., int],
) -> None:
    for n in range(4):
        make_content(title=f"Guide {n}")
    sam = make_user("seller", name="Sam Seller")
    made = datetime(2024, 11, 20, 13, 0, tzinfo=UTC)
    now = made + timedelta(hours=2)
    ids = [suggest(sam, made) for _ in range(4)]

    too_early = activity_id(made - timedelta(minutes=6))
    with pytest.raises(Invalid, match="before the suggestion") as early:
        _mark(app, sam, ids[0], slug_url(too_early), now)
    assert "post_url" in early.value.fields
    future = activity_id(now + timedelta(minutes=6))
    with pytest.raises(Invalid, match="in the future"):
        _mark(app, sam, ids[0], slug_url(future), now)

    # Within five minutes' clock skew either side, it counts.
    skewed_early = _mark(app, sam, ids[1], slug_url(activity_id(made - timedelta(minutes=4))), now)
    assert skewed_early.verified
    skewed_late = activity_id(now + timedelta(minutes=4))
    assert _mark(app, sam, ids[2], slug_url(skewed_late), now).verified

    # The fixed example, made 56 minutes after the suggestion.
    done = _mark(app, sam, ids[3], slug_url(FIXED_ID), now)
    assert done.status is SuggestionStatus.POSTED and done.verified
    assert done.post_url == FIXED_CANONICAL
    assert done.post_activity_id == FIXED_ID
    assert done.post_time == done.posted_at == FIXED_TIME

    with app.app_context():
        first = db.session().get(Suggestion, ids[0])
        assert first is not None and first.status is SuggestionStatus.PENDING
        assert first.post_activity_id is None


def test_one_post_counts_for_one_suggestion_only(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    suggest: Callable[..., int],
) -> None:
    for n in range(3):
        make_content(title=f"Guide {n}")
    sam, olga = make_user("seller"), make_user("seller")
    made = datetime(2024, 11, 20, 13, 0, tzinfo=UTC)
    now = made + timedelta(hours=2)
    first, second, hers = suggest(sam, made), suggest(sam, made), suggest(olga, made)
    _mark(app, sam, first, slug_url(FIXED_ID), now)

    # The same post in another form of address, for another suggestion: refused.
    same_post = f"https://www.linkedin.com/feed/update/urn:li:activity:{FIXED_ID}/"
    with pytest.raises(Conflict, match="already counted") as taken:
        _mark(app, sam, second, same_post, now)
    assert "post_url" in taken.value.fields
    with pytest.raises(Conflict, match="already counted"):
        _mark(app, olga, hers, same_post, now)
    # Marking the first again with its own post changes nothing; with another post, refused.
    assert _mark(app, sam, first, same_post, now).post_activity_id == FIXED_ID
    with pytest.raises(Conflict, match="another LinkedIn post"):
        _mark(app, sam, first, slug_url(FIXED_ID + 7), now)

    # The database holds the rule too (two requests at once): a unique index on the id.
    with app.app_context():
        s = db.session()
        row = s.get(Suggestion, second)
        assert row is not None
        row.post_activity_id = FIXED_ID
        with pytest.raises(sa.exc.IntegrityError):
            s.flush()
        s.rollback()


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


def test_the_api_resource_says_verified_and_carries_the_posts_time(
    api: Api,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
    suggest: Callable[..., int],
) -> None:
    for n in range(4):
        make_content(title=f"Guide {n}")
    sam, olga = make_user("seller"), make_user("seller")
    plain, verified, twin, hers = suggest(sam), suggest(sam), suggest(sam), suggest(olga)
    token = make_token(sam, "read", "suggestions:write")

    fresh = api("GET", SUGGESTION, token, suggestion_id=plain).json
    assert fresh is not None and fresh["verified"] is False and fresh["post_url"] is None

    # No body at all, as before: posted, not verified.
    answer = api("POST", POSTED, token, suggestion_id=plain)
    assert answer.status_code == 200 and answer.json is not None
    assert answer.json["status"] == "posted" and answer.json["verified"] is False
    assert answer.json["post_url"] is None

    made = utcnow() - timedelta(seconds=30)
    post_id = activity_id(made)
    answer = api(
        "POST", POSTED, token, json={"post_url": slug_url(post_id)}, suggestion_id=verified
    )
    assert answer.status_code == 200 and answer.json is not None
    assert answer.json["verified"] is True
    assert (
        answer.json["post_url"]
        == f"https://www.linkedin.com/feed/update/urn:li:activity:{post_id}/"
    )
    posted_at = datetime.fromisoformat(answer.json["posted_at"])
    assert posted_at == datetime.fromtimestamp((post_id >> 22) / 1000, UTC)
    assert api("GET", SUGGESTION, token, suggestion_id=verified).json == answer.json

    # The same post again, for another suggestion of the seller's or another seller's: 409.
    again = api("POST", POSTED, token, json={"post_url": slug_url(post_id)}, suggestion_id=twin)
    assert again.status_code == 409 and again.json is not None
    assert again.json["fields"]["post_url"] == (
        "This LinkedIn post is already counted for another suggestion."
    )
    olga_token = make_token(olga, "read", "suggestions:write")
    urn = {"post_url": f"urn:li:activity:{post_id}"}
    assert api("POST", POSTED, olga_token, json=urn, suggestion_id=hers).status_code == 409
    assert api("GET", SUGGESTION, token, suggestion_id=twin).json["status"] == "pending"  # type: ignore[index]

    # Hostile input: 422 naming the field, never 500.
    for body in (
        {"post_url": f"https://www.linkedin.com/feed/update/urn:li:activity:{'9' * 40}/"},
        {"post_url": f"https://www.linkedin.com/posts/x-activity-{post_id}\x00-a"},
        {"post_url": "https://www.linkedin.com/posts/" + "x" * 10_000},
        {"post_url": "https://example.com/"},
        {"post_url": 12},
    ):
        refused = api("POST", POSTED, token, json=body, suggestion_id=twin)
        assert refused.status_code == 422, body
        assert refused.json is not None and "post_url" in refused.json["fields"]
    unknown = api("POST", POSTED, token, json={"url": "x"}, suggestion_id=twin)
    assert unknown.status_code == 422


def test_a_required_address_is_asked_for(
    database_url: str,
    tmp_path: Path,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    make_token: Callable[..., str],
    suggest: Callable[..., int],
) -> None:
    make_content(title="Guide")
    sam = make_user("seller")
    suggestion = suggest(sam)
    token = make_token(sam, "read", "suggestions:write")
    strict = make_test_app(
        database_url, tmp_path / "strict", suggestions={"require_post_url": True}
    )
    api = Api(strict.test_client())
    refused = api("POST", POSTED, token, suggestion_id=suggestion)
    assert refused.status_code == 422 and refused.json is not None
    assert refused.json["fields"]["post_url"].startswith("Paste the address of your LinkedIn post")
    assert api("POST", POSTED, token, json={}, suggestion_id=suggestion).status_code == 422

    client = sign_in(strict.test_client(), sam)
    feed = client.get("/feed").get_data(as_text=True)
    assert 'name="post_url"' in feed and " required>" in feed and OPTIONAL not in feed
    page = client.post(f"/feed/{suggestion}/posted", data={"post_url": ""})
    assert page.status_code == 422
    assert "Paste the address of your LinkedIn post" in page.get_data(as_text=True)

    good = {"post_url": slug_url(activity_id(utcnow()))}
    assert api("POST", POSTED, token, json=good, suggestion_id=suggestion).json["verified"]  # type: ignore[index]


# --- the card -----------------------------------------------------------------------------


def _card(html: str, suggestion_id: int) -> str:
    start = html.index(f'id="suggestion-{suggestion_id}"')
    return html[start : html.index("</li>", start)]


def test_the_card_takes_the_address_beside_mark_posted(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    suggest: Callable[..., int],
) -> None:
    for n in range(3):
        make_content(title=f"Guide {n}")
    sam, olga = make_user("seller"), make_user("seller")
    first, second = suggest(sam), suggest(sam)
    hers = suggest(olga)
    client = sign_in(app.test_client(), sam)

    card = _card(client.get("/feed").get_data(as_text=True), first)
    assert 'name="post_url"' in card and OPTIONAL in card
    assert card.index('name="post_url"') < card.index("Mark posted")

    # A wrong address: the card says why, keeps what was typed, and nothing is marked.
    wrong = client.post(f"/feed/{first}/posted", data={"post_url": "https://lnkd.in/abc"})
    assert wrong.status_code == 422
    card = _card(wrong.get_data(as_text=True), first)
    assert "Short lnkd.in links" in card and 'value="https://lnkd.in/abc"' in card
    assert 'aria-invalid="true"' in card
    assert "Short lnkd.in" not in _card(wrong.get_data(as_text=True), second)
    nul = client.post(f"/feed/{first}/posted", data={"post_url": "https://linkedin.com/\x00"})
    assert nul.status_code == 422

    post = slug_url(activity_id(utcnow()))
    done = client.post(f"/feed/{first}/posted", data={"post_url": post}, follow_redirects=True)
    assert "is marked shared and verified" in done.get_data(as_text=True)
    assert f'id="suggestion-{first}"' not in done.get_data(as_text=True)

    # The same post on another card: refused on that card.
    twice = client.post(f"/feed/{second}/posted", data={"post_url": post})
    assert twice.status_code == 409
    assert "already counted for another suggestion" in _card(twice.get_data(as_text=True), second)
    olga_client = sign_in(app.test_client(), olga)
    assert olga_client.post(f"/feed/{hers}/posted", data={"post_url": post}).status_code == 409

    # Without an address the post is marked as before, not verified.
    plain = client.post(f"/feed/{second}/posted", data={"post_url": ""}, follow_redirects=True)
    assert "is marked shared. Its clicks" in plain.get_data(as_text=True)
    with app.app_context():
        rows = {x.id: x for x in db.session().scalars(sa.select(Suggestion))}
    assert rows[first].verified and not rows[second].verified
    assert rows[second].status is SuggestionStatus.POSTED and not rows[hers].verified


def test_the_card_speaks_german(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    suggest: Callable[..., int],
) -> None:
    make_content(title="Leitfaden", language="de")
    gerda = make_user("seller", language="de")
    suggestion = suggest(gerda)
    client = sign_in(app.test_client(), gerda)
    card = _card(client.get("/feed").get_data(as_text=True), suggestion)
    assert "Adresse des LinkedIn-Beitrags" in card and "Als gepostet markieren" in card
    wrong = client.post(f"/feed/{suggestion}/posted", data={"post_url": "https://example.com/x"})
    assert wrong.status_code == 422
    assert "Das ist keine LinkedIn-Adresse." in _card(wrong.get_data(as_text=True), suggestion)
    early = slug_url(activity_id(utcnow() - timedelta(days=3)))
    too_early = client.post(f"/feed/{suggestion}/posted", data={"post_url": early})
    assert "vor dem Vorschlag" in _card(too_early.get_data(as_text=True), suggestion)
    good = slug_url(activity_id(utcnow()))
    done = client.post(f"/feed/{suggestion}/posted", data={"post_url": good}, follow_redirects=True)
    assert "als geteilt markiert und verifiziert" in done.get_data(as_text=True)
    assert "Verifiziert" in client.get("/history").get_data(as_text=True)


# --- where verified posts show ------------------------------------------------------------


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_verified_posts_show_on_history_item_page_leaderboard_and_reports(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    make_token: Callable[..., str],
    suggest: Callable[..., int],
) -> None:
    item = make_content(title="Zero-downtime migrations")
    sam = make_user("seller", name="Sam Seller")
    olga = make_user("seller", name="Olga Other")
    mine, hers = suggest(sam), suggest(olga)
    post_id = activity_id(utcnow())
    canonical = f"https://www.linkedin.com/feed/update/urn:li:activity:{post_id}/"
    sam_client = sign_in(app.test_client(), sam)
    sam_client.post(f"/feed/{mine}/posted", data={"post_url": slug_url(post_id)})
    sign_in(app.test_client(), olga).post(f"/feed/{hers}/posted", data={"post_url": ""})

    history = sam_client.get("/history").get_data(as_text=True)
    assert f'href="{canonical}"' in history and "✓ Verified" in history
    assert "<strong>1</strong> verified" in history
    olga_history = sign_in(app.test_client(), olga).get("/history").get_data(as_text=True)
    assert "✓ Verified" not in olga_history and "Shared" in olga_history

    admin = make_user("admin")
    staff = sign_in(app.test_client(), admin)
    detail = staff.get(f"/library/{item.id}").get_data(as_text=True)
    assert "shared by 2" in detail and "1 verified" in detail
    assert detail.count("✓ Verified") == 1 and f'href="{canonical}"' in detail

    # The leaderboard: posts 1 each, verified 1 for Sam, 0 for Olga; the CSV says the same.
    board = staff.get("/reports/sellers").get_data(as_text=True)
    assert "1 verified" in board  # the posts tile: 2 posts, 1 verified
    sam_row = board[board.index(">Sam Seller<") :]
    sam_row = sam_row[: sam_row.index("</tr>")]
    assert 'data-label="Verified"><span class="verified-mark">✓ 1</span>' in sam_row
    olga_row = board[board.index(">Olga Other<") :]
    olga_row = olga_row[: olga_row.index("</tr>")]
    assert 'data-label="Verified">0</td>' in olga_row
    rows = _csv(staff.get("/reports/sellers.csv").data)
    verified = rows[0].index("Verified")
    assert rows[0][verified - 1] == "Posts"
    assert {r[1]: (r[verified - 1], r[verified]) for r in rows[1:]} == {
        "Sam Seller": ("1", "1"),
        "Olga Other": ("1", "0"),
    }
    token = make_token(admin, "read")
    api = Api(app.test_client())
    answer = api("GET", "/api/v1/reports/sellers", token).json
    assert answer is not None
    figures = {r["seller"]["name"]: r["figures"] for r in answer["rows"]}
    assert figures["Sam Seller"]["verified"] == 1 and figures["Olga Other"]["verified"] == 0
    assert answer["totals"]["posts"] == 2 and answer["totals"]["verified"] == 1

    # The seller's own page and report.
    page = sam_client.get(f"/reports/sellers/{sam.id}").get_data(as_text=True)
    assert "1 verified" in page and f'href="{canonical}"' in page
    report = api("GET", "/api/v1/reports/sellers/{seller_id}", token, seller_id=sam.id).json
    assert report is not None and report["totals"]["verified"] == 1
    assert [(p["verified"], p["post_url"]) for p in report["history"]] == [(True, canonical)]
    own_csv = _csv(sam_client.get(f"/reports/sellers/{sam.id}.csv").data)
    assert own_csv[1][own_csv[0].index("Verified post")] == canonical

    # The content report: posted 2, verified 1, on the page, the CSV and the API.
    content = staff.get("/reports").get_data(as_text=True)
    assert "1 verified" in content
    table = _csv(staff.get("/reports.csv").data)
    header = table[0]
    by_label = {r[0]: dict(zip(header, r, strict=True)) for r in table[1:]}
    assert by_label["Zero-downtime migrations"]["Posted"] == "2"
    assert by_label["Zero-downtime migrations"]["Verified"] == "1"
    assert header.index("Verified") == header.index("Posted") + 1
    dashboard = api("GET", "/api/v1/reports/content", token).json
    assert dashboard is not None
    assert dashboard["total"]["posted"] == 2 and dashboard["total"]["verified"] == 1
