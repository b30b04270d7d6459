"""Attribution: the codes a lead carries, its touches (also earlier ones), credit per model."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.leads import attribution
from contentfeed.leads.attribution import MODELS, codes_in, credit_shares, credit_summary
from contentfeed.leads.models import Lead, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def days_ago(days: float, *, now: datetime = NOW) -> datetime:
    return now - timedelta(days=days)


def shares_by_model(times: list[datetime], **kwargs: float) -> dict[str, list[float]]:
    """credit_shares turned around: model -> shares in touch order, rounded for comparing."""
    result = credit_shares(times, converted_at=NOW, **kwargs)
    return {m: [round(share[m], 6) for share in result] for m in MODELS}


# --- credit_shares: hand-computed examples ---------------------------------------------


def test_one_touch_gets_all_credit_under_every_model() -> None:
    assert credit_shares([days_ago(3)], converted_at=NOW) == [dict.fromkeys(MODELS, 1.0)]


def test_two_touches() -> None:
    assert shares_by_model([days_ago(7), days_ago(0)]) == {
        "first_touch": [1.0, 0.0],
        "last_touch": [0.0, 1.0],
        "linear": [0.5, 0.5],
        "u_shaped": [0.5, 0.5],
        # weights 1/2 and 1 -> 1/3, 2/3
        "time_decay": [0.333333, 0.666667],
    }


def test_three_touches() -> None:
    assert shares_by_model([days_ago(14), days_ago(7), days_ago(0)]) == {
        "first_touch": [1.0, 0.0, 0.0],
        "last_touch": [0.0, 0.0, 1.0],
        # 0.333333 * 3 leaves 0.000001, which goes to the first of the (equal) largest
        "linear": [0.333334, 0.333333, 0.333333],
        "u_shaped": [0.4, 0.2, 0.4],
        # weights 1/4, 1/2, 1 -> 1/7, 2/7, 4/7
        "time_decay": [0.142857, 0.285714, 0.571429],
    }


def test_five_touches() -> None:
    assert shares_by_model([days_ago(d) for d in (28, 21, 14, 7, 0)]) == {
        "first_touch": [1.0, 0.0, 0.0, 0.0, 0.0],
        "last_touch": [0.0, 0.0, 0.0, 0.0, 1.0],
        "linear": [0.2, 0.2, 0.2, 0.2, 0.2],
        # 0.2 / 3 = 0.066667 each rounds up by 1e-6 in total; the first 0.4 gives it back
        "u_shaped": [0.399999, 0.066667, 0.066667, 0.066667, 0.4],
        # weights 1/16, 1/8, 1/4, 1/2, 1 -> 1/31, 2/31, 4/31, 8/31, 16/31
        "time_decay": [0.032258, 0.064516, 0.129032, 0.258065, 0.516129],
    }


def test_half_life_is_a_parameter() -> None:
    # With a 14-day half-life, 14 days back weighs half as much as today: 1/3, 2/3.
    shares = shares_by_model([days_ago(14), days_ago(0)], half_life_days=14.0)
    assert shares["time_decay"] == [0.333333, 0.666667]


def test_shares_line_up_with_the_given_times_in_any_order() -> None:
    shares = shares_by_model([days_ago(0), days_ago(14), days_ago(7)])
    assert shares["first_touch"] == [0.0, 1.0, 0.0]
    assert shares["last_touch"] == [1.0, 0.0, 0.0]
    assert shares["u_shaped"] == [0.4, 0.4, 0.2]
    assert shares["time_decay"] == [0.571429, 0.142857, 0.285714]


def test_touches_at_the_same_time_go_by_position() -> None:
    shares = shares_by_model([days_ago(2), days_ago(2)])
    assert shares["first_touch"] == [1.0, 0.0]
    assert shares["last_touch"] == [0.0, 1.0]


def test_touches_far_older_than_the_half_life_still_share() -> None:
    # Thousands of half-lives back: weights must not all underflow to zero.
    shares = shares_by_model([days_ago(20_000), days_ago(20_007)])
    assert shares["time_decay"] == [0.666667, 0.333333]


def test_a_touch_after_the_conversion_counts_as_at_it() -> None:
    shares = shares_by_model([NOW + timedelta(hours=1), days_ago(7)])
    assert shares["time_decay"] == [0.666667, 0.333333]


def test_no_touches_and_bad_half_life() -> None:
    assert credit_shares([], converted_at=NOW) == []
    with pytest.raises(ValueError, match="half_life_days"):
        credit_shares([NOW], converted_at=NOW, half_life_days=0)


def test_every_model_sums_to_exactly_one_for_many_random_touch_sets() -> None:
    rng = random.Random(20250301)
    for _ in range(3000):
        n = rng.randint(1, 25)
        times = [NOW - timedelta(seconds=rng.randint(0, 120 * 86_400)) for _ in range(n)]
        if rng.random() < 0.2:  # many ties
            times = [rng.choice(times[:3]) for _ in range(n)]
        half_life = rng.choice([7.0, 1.0, 0.5, 30.0, rng.uniform(0.1, 60)])
        result = credit_shares(times, converted_at=NOW, half_life_days=half_life)
        assert result == credit_shares(times, converted_at=NOW, half_life_days=half_life)
        assert len(result) == n
        for model in MODELS:
            column = [share[model] for share in result]
            # exact as a plain float sum in touch order; the exactly rounded sum may
            # differ by a few ulps when both cannot hold at once
            assert sum(column) == 1.0, (model, column)
            assert math.fsum(column) == pytest.approx(1.0, abs=1e-14)
            assert all(share >= 0 for share in column)
            assert all(abs(share - round(share, 6)) < 1e-12 for share in column)


# --- codes_in -------------------------------------------------------------------------


def test_codes_from_each_place_in_order() -> None:
    fields = {
        "landing_url": "https://acme.example/p?ref=LandRef1&utm_content=LandUtm1&x=1",
        "cf_ref": "Cookie_01",
        "ref": "Ref-0001",
        "utm_content": "Utm-0001",
    }
    assert codes_in(fields) == [
        ("Utm-0001", "utm_content"),
        ("Ref-0001", "ref"),
        ("Cookie_01", "cookie"),
        ("LandUtm1", "landing_url"),
        ("LandRef1", "landing_url"),
    ]


def test_a_code_found_twice_counts_once_where_first_found() -> None:
    fields = {
        "utm_content": "abcd1234",
        "ref": "abcd1234",
        "cf_ref": "abcd1234",
        "landing_url": "https://acme.example/?utm_content=abcd1234&ref=efgh5678&ref=efgh5678",
    }
    assert codes_in(fields) == [("abcd1234", "utm_content"), ("efgh5678", "landing_url")]


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "abc",
        "spring launch",
        "a" * 17,
        "summer-campaign-2025",
        "ab/cd",
        "é1234",
        "x;y=1",
    ],
)
def test_junk_utm_content_is_ignored(junk: str) -> None:
    assert codes_in({"utm_content": junk, "ref": "abcd1234"}) == [("abcd1234", "ref")]


def test_codes_are_trimmed_and_case_kept() -> None:
    assert codes_in({"utm_content": "  AbCd1234 \n"}) == [("AbCd1234", "utm_content")]


def test_nothing_found_in_empty_or_malformed_fields() -> None:
    assert codes_in({}) == []
    assert codes_in({"landing_url": "http://[::1/?utm_content=abcd1234"}) == []
    assert codes_in({"landing_url": "not a url at all"}) == []


# --- attribute, on the database -------------------------------------------------------


@pytest.fixture
def content(make_content: Callable[..., Content]) -> Content:
    return make_content(url="https://acme.example/whitepaper", campaign="Q4 Cloud Push")


@pytest.fixture
def share_link(app: Flask, content: Content) -> Callable[[User], TrackedLink]:
    """Give a seller a suggestion of the content and return its tracked link."""

    def share(seller: User) -> TrackedLink:
        with app.app_context():
            s = db.session()
            suggestions.fill_feeds(
                s,
                suggestions.feed_settings(config.settings_of(app)),
                only=[seller.id],
                ignore_cadence=True,
                seed=1,
                now=datetime.now(UTC) - timedelta(minutes=1),
            )
            s.commit()
            return s.scalars(
                sa.select(TrackedLink)
                .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
                .where(Suggestion.seller_id == seller.id)
            ).one()

    return share


def add_click(app: Flask, link: TrackedLink, at: datetime, *, is_bot: bool = False) -> int:
    with app.app_context():
        s = db.session()
        click = Click(link_id=link.id, clicked_at=at, is_bot=is_bot)
        s.add(click)
        s.commit()
        return click.id


def submit(
    app: Flask,
    fields: dict[str, str],
    *,
    email: str = "ann@buyer.example",
    at: datetime | None = None,
    lookback_days: int = 90,
) -> tuple[int, list[Touch]]:
    """Store a lead, attribute it, commit, and return its id and its touches as read back."""
    at = at or datetime.now(UTC)
    with app.app_context():
        s = db.session()
        lead = Lead(
            email=email,
            email_domain=email.rpartition("@")[2].lower(),
            submitted_at=at,
            utm_source=fields.get("utm_source", ""),
        )
        s.add(lead)
        returned = attribution.attribute(s, lead, fields, lookback_days=lookback_days, now=at)
        assert [t.touched_at for t in returned] == sorted(t.touched_at for t in returned)
        s.commit()
        lead_id = lead.id
        returned_ids = [t.id for t in returned]
    with app.app_context():
        s = db.session()
        touches = list(
            s.scalars(sa.select(Touch).where(Touch.lead_id == lead_id).order_by(Touch.touched_at))
        )
        assert [t.id for t in touches] == returned_ids
        return lead_id, touches


def test_a_sellers_code_gives_one_touch_with_its_seller_post_content_and_click(
    app: Flask,
    make_user: Callable[..., User],
    share_link: Callable[[User], TrackedLink],
    content: Content,
) -> None:
    seller = make_user("seller")
    link = share_link(seller)
    now = datetime.now(UTC)
    add_click(app, link, now - timedelta(hours=3))
    human = add_click(app, link, now - timedelta(hours=2))
    add_click(app, link, now - timedelta(hours=1), is_bot=True)  # LinkedIn's preview fetcher
    add_click(app, link, now + timedelta(hours=1))  # after the form was sent

    _lead_id, touches = submit(app, {"utm_content": link.code, "utm_source": "linkedin"}, at=now)

    assert len(touches) == 1
    touch = touches[0]
    assert touch.code == link.code
    assert touch.found_in == "utm_content"
    assert touch.link_id == link.id
    assert touch.click_id == human
    assert touch.touched_at == now - timedelta(hours=2)
    assert touch.seller_id == seller.id
    assert touch.suggestion_id == link.suggestion_id
    assert touch.content_id == content.id
    assert content.campaign_id is not None
    assert touch.campaign_id == content.campaign_id
    assert touch.credits == dict.fromkeys(MODELS, 1.0)
    assert credit_summary(touches) == {m: {seller.id: 1.0} for m in MODELS}


def test_without_a_click_the_touch_is_dated_by_the_post_then_the_link(
    app: Flask, make_user: Callable[..., User], share_link: Callable[[User], TrackedLink]
) -> None:
    link = share_link(make_user("seller"))
    add_click(app, link, datetime.now(UTC) - timedelta(hours=1), is_bot=True)

    _, touches = submit(app, {"ref": link.code})
    assert [(t.found_in, t.click_id, t.touched_at) for t in touches] == [
        ("ref", None, link.created_at)
    ]

    posted_at = datetime.now(UTC) - timedelta(hours=5)
    with app.app_context():
        s = db.session()
        suggestion = s.get(Suggestion, link.suggestion_id)
        assert suggestion is not None
        suggestion.posted_at = posted_at
        s.commit()
    _, touches = submit(app, {"cf_ref": link.code}, email="bob@other.example")
    assert [(t.found_in, t.touched_at) for t in touches] == [("cookie", posted_at)]


def test_a_repeat_visitor_credits_the_first_seller_first_and_the_last_seller_last(
    app: Flask, make_user: Callable[..., User], share_link: Callable[[User], TrackedLink]
) -> None:
    seller_a, seller_b = make_user("seller"), make_user("seller")
    link_a, link_b = share_link(seller_a), share_link(seller_b)
    now = datetime.now(UTC)
    add_click(app, link_a, now - timedelta(days=10, hours=1))
    submit(app, {"utm_content": link_a.code}, email="Ann@Buyer.example", at=days_ago(10, now=now))
    add_click(app, link_b, now - timedelta(hours=1))

    _, touches = submit(
        app, {"utm_content": link_b.code}, email="ann@buyer.example", at=now, lookback_days=90
    )

    assert [(t.seller_id, t.found_in) for t in touches] == [
        (seller_a.id, "earlier"),
        (seller_b.id, "utm_content"),
    ]
    assert touches[0].touched_at == now - timedelta(days=10, hours=1)
    assert touches[0].link_id == link_a.id
    assert touches[0].suggestion_id == link_a.suggestion_id
    assert touches[0].click_id is not None
    summary = credit_summary(touches)
    assert summary["first_touch"] == {seller_a.id: 1.0, seller_b.id: 0.0}
    assert summary["last_touch"] == {seller_a.id: 0.0, seller_b.id: 1.0}
    assert summary["linear"] == {seller_a.id: 0.5, seller_b.id: 0.5}
    assert summary["u_shaped"] == {seller_a.id: 0.5, seller_b.id: 0.5}
    # ten days and one hour back against one hour: B's touch weighs 2^(10/7) times A's
    weight_a = 2 ** (-(10 + 1 / 24) / 7)
    weight_b = 2 ** (-(1 / 24) / 7)
    assert summary["time_decay"][seller_b.id] == pytest.approx(
        weight_b / (weight_a + weight_b), abs=1e-6
    )
    for model in MODELS:
        assert sum(t.credits[model] for t in touches) == 1.0


def test_touches_older_than_the_lookback_are_left_out(
    app: Flask, make_user: Callable[..., User], share_link: Callable[[User], TrackedLink]
) -> None:
    seller_a, seller_b, seller_c = (make_user("seller") for _ in range(3))
    link_a, link_b, link_c = share_link(seller_a), share_link(seller_b), share_link(seller_c)
    now = datetime.now(UTC)
    add_click(app, link_a, now - timedelta(days=100))
    submit(app, {"utm_content": link_a.code}, at=now - timedelta(days=100), lookback_days=90)
    add_click(app, link_c, now - timedelta(days=95))  # carried again now, but clicked long ago
    add_click(app, link_b, now - timedelta(hours=1))

    _, touches = submit(app, {"utm_content": link_b.code, "ref": link_c.code}, at=now)

    assert [t.seller_id for t in touches] == [seller_b.id]
    assert touches[0].credits == dict.fromkeys(MODELS, 1.0)

    # A longer lookback brings both back.
    _, touches = submit(
        app, {"utm_content": link_b.code, "ref": link_c.code}, at=now, lookback_days=120
    )
    assert [t.seller_id for t in touches] == [seller_a.id, seller_c.id, seller_b.id]


def test_an_unknown_code_is_ignored(
    app: Flask, make_user: Callable[..., User], share_link: Callable[[User], TrackedLink]
) -> None:
    seller = make_user("seller")
    link = share_link(seller)
    _, touches = submit(app, {"utm_content": "zzzz9999", "ref": link.code})
    assert [(t.code, t.found_in, t.seller_id) for t in touches] == [(link.code, "ref", seller.id)]


def test_a_lead_without_a_code_stays_unattributed_with_its_utm_source(app: Flask) -> None:
    lead_id, touches = submit(app, {"utm_source": "newsletter", "utm_content": "spring launch"})
    assert touches == []
    assert credit_summary(touches) == {m: {} for m in MODELS}
    with app.app_context():
        lead = db.session().get(Lead, lead_id)
        assert lead is not None
        assert lead.utm_source == "newsletter"
        assert lead.touches == []


def test_attributing_a_lead_again_replaces_its_touches(
    app: Flask, make_user: Callable[..., User], share_link: Callable[[User], TrackedLink]
) -> None:
    link = share_link(make_user("seller"))
    lead_id, first = submit(app, {"utm_content": link.code})
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, lead_id)
        assert lead is not None
        again = attribution.attribute(
            s, lead, {"utm_content": link.code}, lookback_days=90, now=datetime.now(UTC)
        )
        s.commit()
        rows = s.scalars(sa.select(Touch).where(Touch.lead_id == lead_id)).all()
        assert [t.id for t in rows] == [t.id for t in again]
        assert [(t.code, t.found_in, t.credits) for t in rows] == [
            (t.code, t.found_in, t.credits) for t in first
        ]


def test_a_code_seen_before_and_carried_again_counts_once(
    app: Flask, make_user: Callable[..., User], share_link: Callable[[User], TrackedLink]
) -> None:
    seller = make_user("seller")
    link = share_link(seller)
    now = datetime.now(UTC)
    add_click(app, link, now - timedelta(days=3))
    submit(app, {"utm_content": link.code}, at=now - timedelta(days=3))
    latest = add_click(app, link, now - timedelta(minutes=5))

    _, touches = submit(app, {"ref": link.code}, at=now)

    assert [(t.code, t.found_in, t.click_id) for t in touches] == [(link.code, "ref", latest)]
    assert touches[0].credits == dict.fromkeys(MODELS, 1.0)
