"""Shared helpers for the benchmarks: fresh databases and bulk-built sellers and library."""

from __future__ import annotations

import os
import random
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from contentfeed import create_app, db, models
from contentfeed.accounts.models import SellerProfile, Team, User
from contentfeed.content.models import Campaign, Content, PostVariant
from contentfeed.db import Base

PG_URL = os.environ.get(
    "CONTENTFEED_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TOPICS = [
    "cloud",
    "security",
    "databases",
    "ai",
    "analytics",
    "devops",
    "compliance",
    "sustainability",
]
REGIONS = ["DACH", "Nordics", "UK&I", "Southern Europe", "North America", "APAC"]
LANGUAGES = ["en", "en", "en", "de", "fr", "es"]
ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Madrid"]
# Whom items are for: most reach everyone, some only prospects, a few only customers.
AUDIENCES = ["both", "prospects", "customers"]
AUDIENCE_WEIGHTS = [6, 3, 1]
VARIANTS = (
    "{{ seller.first_name }} here: {{ content.title }} — {{ content.summary }} {{ link }}",
    "Worth ten minutes of your week: {{ content.title }} {{ link }} #cloud",
    "Our team wrote this for leaders like you: {{ link }}",
)


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """Yield the URL of an empty database with every table: a SQLite file or a PostgreSQL schema."""
    models.import_all()
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            engine = sa.create_engine(url)
            Base.metadata.create_all(engine)
            engine.dispose()
            yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    text = url.render_as_string(hide_password=False)
    engine = sa.create_engine(text, poolclass=sa.pool.NullPool)
    Base.metadata.create_all(engine)
    engine.dispose()
    try:
        yield text
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_app(url: str, folder: str, **overrides: object) -> Flask:
    """An app on the given database, isolated from the developer's config."""
    os.environ["CONTENTFEED_CONFIG"] = str(Path(folder) / "none.toml")
    return create_app(
        {
            "database_url": url,
            "secret_key": "bench",
            "instance_path": folder,
            "public_base_url": "https://cf.example.com",
            **overrides,
        }
    )


def build_world(app: Flask, sellers: int, items: int, seed: int = 7) -> None:
    """Bulk-insert teams, sellers with profiles, campaigns and approved items with variants."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with app.app_context():
        s = db.session()
        s.execute(
            sa.insert(Team),
            [
                {
                    "name": f"Team {n}",
                    # One team in five works customers: they get items for customers.
                    "kind": "customer_development" if n % 5 == 4 else "business_development",
                    "description": "",
                    "created_at": now,
                }
                for n in range(50)
            ],
        )
        team_ids = list(s.scalars(sa.select(Team.id)))
        s.execute(
            sa.insert(Campaign),
            [
                {
                    "name": f"Campaign {n}",
                    "slug": f"campaign-{n}",
                    "description": "",
                    "created_at": now,
                }
                for n in range(20)
            ],
        )
        campaign_ids = list(s.scalars(sa.select(Campaign.id)))
        for start in range(0, sellers, 5000):
            chunk = range(start, min(sellers, start + 5000))
            s.execute(
                sa.insert(User),
                [
                    {
                        "email": f"seller{n}@bench.example",
                        "name": f"Seller Number{n}",
                        "role": "seller",
                        "password_hash": "",
                        "team_id": rng.choice(team_ids),
                        "timezone": rng.choice(ZONES),
                        "is_active": True,
                        "created_at": now - timedelta(days=60),
                    }
                    for n in chunk
                ],
            )
        user_ids = list(s.scalars(sa.select(User.id).order_by(User.id)))
        for start in range(0, len(user_ids), 5000):
            s.execute(
                sa.insert(SellerProfile),
                [
                    {
                        "user_id": uid,
                        "title": "Account Executive",
                        "region": rng.choice(REGIONS),
                        # Most read English too, as before languages were per variant.
                        "languages": list(dict.fromkeys([rng.choice(LANGUAGES), "en"])),
                        "topics": rng.sample(TOPICS, 2),
                        "posts_per_week": 3,
                        "weekdays": [0, 1, 2, 3, 4],
                        "linkedin_url": "",
                        "linkedin_connections": rng.randint(100, 5000),
                        "notification_channel": "email",
                        "notification_target": "",
                        "is_paused": False,
                        "updated_at": now,
                    }
                    for uid in user_ids[start : start + 5000]
                ],
            )
        s.execute(
            sa.insert(Content),
            [
                {
                    "title": f"Item {n}: {rng.choice(TOPICS)} insights",
                    "summary": "A practical guide for busy teams.",
                    "url": f"https://www.acme.example/item-{n}",
                    "image_url": "",
                    "site_name": "Acme",
                    "prefill_note": "",
                    "kind": "article",
                    "campaign_id": rng.choice(campaign_ids),
                    "language": rng.choice(LANGUAGES),
                    "topics": rng.sample(TOPICS, 2),
                    "target_team_ids": [],
                    "target_regions": [] if rng.random() < 0.8 else [rng.choice(REGIONS)],
                    "audience": rng.choices(AUDIENCES, weights=AUDIENCE_WEIGHTS)[0],
                    "priority": rng.randint(1, 5),
                    "starts_at": now - timedelta(days=5),
                    "expires_at": now + timedelta(days=30),
                    "status": "approved",
                    "created_at": now - timedelta(days=rng.randint(1, 40)),
                    "updated_at": now,
                    "approved_at": now - timedelta(days=rng.randint(0, 30)),
                }
                for n in range(items)
            ],
        )
        content_languages = dict(s.execute(sa.select(Content.id, Content.language)).all())
        content_ids = list(content_languages)
        s.execute(
            sa.insert(PostVariant),
            [
                {
                    "content_id": cid,
                    "position": p + 1,
                    "language": content_languages[cid],
                    "body": body,
                    "created_at": now,
                    "updated_at": now,
                }
                for cid in content_ids
                for p, body in enumerate(VARIANTS[: rng.randint(1, 3)])
            ],
        )
        s.commit()
