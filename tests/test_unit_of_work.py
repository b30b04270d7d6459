"""The request is the unit of work: an answer below 400 keeps the handler's writes, any other
answer (returned or raised) keeps none, and a named unit of work keeps its write regardless."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Blueprint, Flask

from contentfeed import db
from contentfeed.accounts.models import Team, TeamKind
from contentfeed.errors import Conflict

bp = Blueprint("uow_probe", __name__)


def _add_team(name: str) -> None:
    db.session().add(Team(name=name, kind=TeamKind.DIGITAL_SALES))
    db.session().flush()


@bp.post("/_probe/<int:status>")
def answer(status: int) -> tuple[str, int]:
    _add_team(f"answered {status}")
    return "done", status


@bp.post("/_probe/raise")
def refuse() -> str:
    _add_team("raised")
    raise Conflict("no")


@bp.post("/_probe/kept-anyway")
def kept_anyway() -> tuple[str, int]:
    with db.unit_of_work() as own:
        own.add(Team(name="kept anyway", kind=TeamKind.DIGITAL_SALES))
    _add_team("not kept")
    return "refused", 429


@bp.post("/_probe/same-name")
def same_name() -> tuple[str, int]:
    # As a second admin's request would: the name was free when checked, taken by commit time.
    db.session().add(Team(name="answered 200", kind=TeamKind.DIGITAL_SALES))
    db.session().add(Team(name="also new", kind=TeamKind.DIGITAL_SALES))
    return "saved", 201


@pytest.fixture
def probed(app: Flask) -> Flask:
    app.register_blueprint(bp)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _team_names(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session().scalars(sa.select(Team.name)))


@pytest.mark.parametrize("status", [200, 201, 302])
def test_an_answer_below_400_keeps_the_handlers_writes(probed: Flask, status: int) -> None:
    assert probed.test_client().post(f"/_probe/{status}").status_code == status
    assert f"answered {status}" in _team_names(probed)


@pytest.mark.parametrize("status", [400, 409, 422, 503])
def test_an_error_answer_keeps_nothing(probed: Flask, status: int) -> None:
    assert probed.test_client().post(f"/_probe/{status}").status_code == status
    assert f"answered {status}" not in _team_names(probed)


def test_a_refusal_raised_by_the_handler_keeps_nothing(probed: Flask) -> None:
    assert probed.test_client().post("/_probe/raise").status_code == 409
    assert "raised" not in _team_names(probed)


def test_a_named_unit_of_work_keeps_its_write_whatever_the_request_answers(
    probed: Flask,
) -> None:
    assert probed.test_client().post("/_probe/kept-anyway").status_code == 429
    names = _team_names(probed)
    assert "kept anyway" in names
    assert "not kept" not in names


def test_a_write_that_loses_a_race_at_commit_answers_409_and_keeps_nothing(
    probed: Flask,
) -> None:
    client = probed.test_client()
    assert client.post("/_probe/200").status_code == 200
    answer = client.post("/_probe/same-name")
    assert answer.status_code == 409
    assert "Someone else changed this" in answer.get_data(as_text=True)
    assert "also new" not in _team_names(probed)
