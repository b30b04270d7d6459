"""Post templates are bounded: runaway loops, huge texts and slow renders are refused at save,
for every sample seller, and a variant that slips past the check never stalls fill-feeds."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content import templating
from contentfeed.content.models import Content, PostVariant
from contentfeed.content.templating import (
    ContentView,
    SellerView,
    TemplateRefused,
    check_variant,
    render_post,
)
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion
from tests.conftest import sign_in
from tests.test_cli import run

CONTENT = ContentView(title="Zero-downtime migrations", summary="How we ship", url="https://x.ex")
SAM = SellerView(first_name="Sam", name="Sam Seller", title="Account Executive")
LINK = "https://cf.example.com/r/k3J9xQ2a"
NESTED_RANGES = (
    "{% for a in range(300) %}{% for b in range(300) %}{% for c in range(300) %}"
    "{% endfor %}{% endfor %}{% endfor %}{{ link }}"
)
# Fine for the sample seller, breaks for a seller whose profile has no title.
FAILS_WITHOUT_TITLE = (
    "{% if not seller.title %}{{ 'x' * 50000000 }}{% endif %}{{ seller.first_name }}: {{ link }}"
)


def check(body: str, **kwargs: Any) -> Any:
    options = {"content": CONTENT, "link": LINK, "disclosure": "", "blocked_words": []}
    return check_variant(body, **{**options, **kwargs})


def render(body: str, seller: SellerView = SAM) -> str:
    return render_post(body, seller=seller, content=CONTENT, link=LINK)


# --- limits --------------------------------------------------------------------------------


def test_nested_range_loops_are_refused_naming_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # The loop count is what this test is about: give the clock room, so a busy machine that
    # needs more than a quarter of a second for 10,000 steps does not hit the deadline first.
    monkeypatch.setattr(templating, "RENDER_SECONDS", 30.0)
    with pytest.raises(TemplateRefused, match=r"range\(\) may produce at most 100 numbers"):
        check(NESTED_RANGES)
    nested = (
        "{% for a in range(50) %}{% for b in range(50) %}{% for c in range(50) %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(TemplateRefused, match="loops run more than 10,000 times"):
        check(nested)


def test_huge_text_is_refused_before_it_is_built() -> None:
    tracemalloc.start()
    try:
        for body in ("{{ 'x' * 50000000 }}", "{{ ['x'] * 50000000 }}", "{{ 50000000 * 'ab' }}"):
            with pytest.raises(TemplateRefused, match="longer than 10,000 characters"):
                render(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # the 50 MB text was never allocated


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ '{:>100000000}'.format(1) }}", r"\.format\(\) isn't available"),
        ("{{ 'x'.center(100000000) }}", r"\.center\(\) isn't available"),
        ("{{ 'x'|center(100000000) }}", "No filter named 'center'"),
        ("{{ '%100000000d' % 1 }}", "formatting text with % isn't available"),
        ("{{ 'x'.encode() * 50000000 }}", "longer than 10,000 characters"),
        ("{{ ('x' * 5000).translate({120: 'y' * 5000}) }}", r"\.translate\(\) isn't available"),
        ("{{ 9 ** 99999999 }}", "number too big"),
        ("{{ ('x' * 3000)|replace('', 'yyyy') }}", "longer than 10,000 characters"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            "longer than 10,000 characters",
        ),
        ("{% for i in range(100) %}{{ content.title * 10 }}{% endfor %}", "writes more than"),
    ],
)
def test_ways_to_build_a_huge_post_are_refused(body: str, message: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TemplateRefused, match=message):
            render(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_a_render_that_runs_away_is_stopped_with_a_clear_error() -> None:
    # Each call doubles the work: 2**60 calls would never finish; the time budget ends it.
    body = (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(60) }}{{ link }}"
    )
    with pytest.raises(TemplateRefused, match="takes too long to render"):
        check(body)


def test_good_templates_still_render() -> None:
    body = (
        "{{ seller.first_name }} ({{ seller.title }}) recommends {{ content.title }}.\n"
        "{{ content.summary }} {{ seller.name|upper }} {{ content.title|truncate(12) }}\n"
        "{% for tag in ['cloud', 'ops'] %}#{{ tag|title }}{{ ' ' if not loop.last }}{% endfor %}\n"
        "{% if seller.title %}As {{ seller.title|lower }}{% endif %} {{ link }}"
    )
    assert render(body) == (
        "Sam (Account Executive) recommends Zero-downtime migrations.\n"
        "How we ship SAM SELLER Zero-down...\n"
        "#Cloud #Ops"  # trim_blocks: a block tag's newline is dropped
        f"As account executive {LINK}"
    )
    assert check("{{ seller.first_name }} here: {{ content.title }} {{ link }}").rendered


# --- several sellers at save ---------------------------------------------------------------


def test_a_variant_failing_for_one_seller_profile_is_refused_naming_it() -> None:
    assert render(FAILS_WITHOUT_TITLE).startswith("Sam: ")  # fine for a seller with a title
    with pytest.raises(TemplateRefused, match="when rendered for a seller with no name or title"):
        check(FAILS_WITHOUT_TITLE)
    long_name_only = "{{ link }}{% if seller.name|length > 60 %}{{ seller.nickname }}{% endif %}"
    with pytest.raises(TemplateRefused, match=r"nickname.*a seller with a long name"):
        check(long_name_only)


def test_saving_a_runaway_variant_answers_a_field_error(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    marketer = make_user("marketer")
    item = make_content(status="draft", author=marketer)
    sign_in(client, marketer)
    page = client.post(
        f"/library/{item.id}/variants", data={"body": NESTED_RANGES, "language": "en"}
    )
    assert page.status_code == 422
    assert "range() may produce at most 100 numbers" in page.get_data(as_text=True)
    page = client.post(
        f"/library/{item.id}/variants", data={"body": FAILS_WITHOUT_TITLE, "language": "en"}
    )
    assert page.status_code == 422
    assert "when rendered for a seller with no name or title" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(sa.select(PostVariant.body)).all() == [
            "{{ seller.first_name }} here: read {{ content.title }} {{ link }}"
        ]


# --- fill-feeds ----------------------------------------------------------------------------


def _fill(app: Flask, seller_ids: list[int]) -> suggestions.FillResult:
    with app.app_context():
        s = db.session()
        result = suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=seller_ids,
            ignore_cadence=True,
            seed=1,
        )
        s.commit()
        return result


def _suggested(app: Flask, seller: User) -> list[tuple[int, str]]:
    with app.app_context():
        rows = db.session().execute(
            sa.select(Suggestion.content_id, Suggestion.rendered_text).where(
                Suggestion.seller_id == seller.id
            )
        )
        return [(content_id, text) for content_id, text in rows]


def test_a_variant_that_slipped_in_skips_only_its_item_for_the_sellers_it_fails_for(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    # Inserted straight into the database, past the save check, as an old row would be.
    bad = make_content(title="Bad item", priority=5, variants=(FAILS_WITHOUT_TITLE,))
    good = make_content(title="Good item", priority=1)
    titled = make_user("seller", name="Tia Titled", title="Account Executive", posts_per_week=0)
    untitled = [make_user("seller", title="", posts_per_week=0) for _ in range(3)]

    result = _fill(app, [titled.id, *(u.id for u in untitled)])

    assert [content_id for content_id, _ in _suggested(app, titled)] == [bad.id]
    assert _suggested(app, titled)[0][1].startswith("Tia: ")
    for seller in untitled:  # the next-best item instead, rendered for them
        assert [content_id for content_id, _ in _suggested(app, seller)] == [good.id]
    assert result.created == 4 and result.not_rendered == 3
    assert "3 left out because their variant could not be rendered" in str(result)

    marketer = make_user("marketer")
    client = sign_in(app.test_client(), marketer)
    page = client.get(f"/library/{bad.id}").get_data(as_text=True)
    assert "Variant 1 could not be rendered for 3 sellers: it builds too much text" in page

    _fill(app, [u.id for u in untitled])  # a later run adds no second copy of the notice
    page = client.get(f"/library/{bad.id}").get_data(as_text=True)
    assert page.count("Variant 1 could not be rendered for 3 sellers") == 2  # variant + history


def test_a_runaway_variant_does_not_stall_the_run(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runaway = (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(60) }}{{ link }}"
    )
    bad = make_content(title="Runaway", priority=5, variants=(runaway,))
    good = make_content(title="Fine", priority=1)
    sellers = [make_user("seller", posts_per_week=0) for _ in range(6)]
    rendered: list[str] = []
    real_render = suggestions.render_post

    def counting_render(body: str, **kwargs: Any) -> str:
        rendered.append(body)
        return real_render(body, **kwargs)

    monkeypatch.setattr(suggestions, "render_post", counting_render)
    result = _fill(app, [s.id for s in sellers])

    assert result.created == 6 and result.not_rendered == 6
    for seller in sellers:
        assert [content_id for content_id, _ in _suggested(app, seller)] == [good.id]
    # After a few sellers the run stops spending the render budget on it.
    assert rendered.count(runaway) == suggestions.COSTLY_FAILURES_PER_RUN
    marketer = make_user("marketer")
    page = sign_in(app.test_client(), marketer).get(f"/library/{bad.id}").get_data(as_text=True)
    assert "Variant 1 could not be rendered for 6 sellers: rendering took too long" in page


def test_suggest_command_finishes_and_says_what_it_left_out(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content(title="Only item", variants=(FAILS_WITHOUT_TITLE,))
    seller = make_user("seller", title="", posts_per_week=0)
    code, output = run(app, "suggest", "--now", "--seller", seller.email)
    assert code == 0, output
    assert "1 left out because their variant could not be rendered" in output
    assert _suggested(app, seller) == []
