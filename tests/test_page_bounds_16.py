"""Every listing issue #16 added or changed answers a page number it cannot show with a clear
4xx (or its first page), never a 500: a huge number, a negative one, one that is no number."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.suggestions import notify

HUGE = str(10**30)  # longer than any page number: read as malformed, the first page
BEYOND = str(10**19)  # a number, beyond any listing's end: refused
PAGES = [HUGE, "10000000000000000000", "1000001", "-1", "0", "abc", "1.5", "²", ""]


def test_the_sent_email_list_keeps_page_numbers_in_bounds(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        for n in range(3):
            notify.keep_email(f"kept{n}@example.com", f"Kept {n}", "Hello", kind="digest")
        db.session().commit()
    admin = client_as("admin")
    beyond = admin.get(f"/admin/sent-email?page={BEYOND}")
    assert beyond.status_code == 422
    assert "Page numbers go up to" in beyond.get_data(as_text=True)
    for odd in (HUGE, "-1", "abc", "0"):
        first = admin.get(f"/admin/sent-email?page={odd}")
        assert first.status_code == 200 and "Kept 2" in first.get_data(as_text=True)
    assert "Showing" in admin.get("/admin/sent-email").get_data(as_text=True)
    assert admin.get(f"/admin/sent-email/{HUGE}").status_code == 404


def test_every_16_listing_answers_odd_page_numbers_without_a_500(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
) -> None:
    item = make_content()
    admin = client_as("admin")
    pages = [
        "/admin/users",
        "/admin/sent-email",
        "/library",
        f"/library/{item.id}",
    ]
    for path in pages:
        for number in PAGES:
            answer = admin.get(f"{path}?page={number}")
            assert answer.status_code in {200, 404, 422}, (path, number, answer.status_code)
        assert admin.get(f"{path}?page={BEYOND}").status_code in {200, 422}, path
    headers = {"Authorization": f"Bearer {make_token(make_user('admin'), 'read', 'admin')}"}
    client = app.test_client()
    for path in ("/api/v1/users", "/api/v1/content"):
        for number in PAGES:
            answer = client.get(f"{path}?page={number}", headers=headers)
            assert answer.status_code in {200, 404, 422}, (path, number, answer.status_code)
        huge = client.get(f"{path}?page={BEYOND}", headers=headers)
        assert huge.status_code == 422 and huge.json is not None, path
        assert "page" in huge.json["fields"], huge.json


@pytest.mark.parametrize("page", [0, -1, 10**30])
def test_the_kept_email_use_case_refuses_a_page_outside_its_bounds(app: Flask, page: int) -> None:
    with app.app_context(), pytest.raises(ValueError):
        notify.kept_emails(db.session(), page=page)
