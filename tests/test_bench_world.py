"""The benchmarks' world builder keeps up with the schema (a bench that cannot start measures
nothing, and no other test runs it)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from bench.common import build_world
from contentfeed import config, db
from contentfeed.accounts.models import SellerProfile
from contentfeed.content.models import Content, PostVariant
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion
from contentfeed.suggestions.planning import feed_settings


def test_the_bench_world_builds_and_its_sellers_get_suggestions(app: Flask) -> None:
    build_world(app, sellers=40, items=12)
    with app.app_context():
        s = db.session()
        assert s.scalar(sa.select(sa.func.count()).select_from(SellerProfile)) == 40
        assert s.scalar(sa.select(sa.func.count()).select_from(Content)) == 12
        languages = set(s.scalars(sa.select(PostVariant.language)))
        assert languages and "" not in languages
        settings = feed_settings(config.settings_of(app))
        suggestions.fill_feeds(s, settings, ignore_cadence=True, seed=1)
        s.commit()
        assert s.scalar(sa.select(sa.func.count()).select_from(Suggestion)) > 0
