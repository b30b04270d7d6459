"""Time one full fill-feeds run: N sellers x M items, suggestions and links written.

    python bench/suggest.py [--sellers 10000] [--items 2000] [--db sqlite|postgresql|both]

Every seller is due (as with ``suggest --now``), so the run decides and writes one suggestion
and one tracked link per seller. The baseline, measured in the same run on the same database,
is the bare cost of writing that many suggestion and link rows with no decisions at all.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import Flask

from bench.common import bench_app, build_world, fresh_database
from contentfeed import config, db
from contentfeed.links.models import TrackedLink
from contentfeed.suggestions import service
from contentfeed.suggestions.models import Suggestion


def bare_write(app: Flask, sellers: list[int], content_ids: list[int]) -> float:
    """Insert one suggestion and one link per seller, with nothing decided: the floor."""
    now = datetime.now(UTC)
    with app.app_context():
        s = db.session()
        start = time.perf_counter()
        rows = [
            {
                "seller_id": sid,
                "content_id": content_ids[i % len(content_ids)],
                "variant_id": None,
                "day": date(2001, 1, 1),
                "slot": 0,
                "rendered_text": "x" * 180,
                "status": "pending",
                "score": 0.0,
                "score_parts": {},
                "created_at": now,
                "skip_reason": "",
                "skip_note": "",
            }
            for i, sid in enumerate(sellers)
        ]
        ids = []
        for chunk in range(0, len(rows), 2000):
            ids += list(
                s.scalars(
                    sa.insert(Suggestion).returning(Suggestion.id), rows[chunk : chunk + 2000]
                )
            )
        s.execute(
            sa.insert(TrackedLink),
            [
                {
                    "code": f"b{n:09d}",
                    "suggestion_id": sid,
                    "target_url": "https://www.acme.example/x?utm_source=linkedin",
                    "created_at": now,
                }
                for n, sid in enumerate(ids)
            ],
        )
        s.commit()
        elapsed = time.perf_counter() - start
        s.execute(sa.delete(TrackedLink))
        s.execute(sa.delete(Suggestion))
        s.commit()
        return elapsed


def run(kind: str, sellers: int, items: int) -> None:
    with fresh_database(kind) as url, tempfile.TemporaryDirectory() as folder:
        app = bench_app(url, folder)
        t0 = time.perf_counter()
        build_world(app, sellers, items)
        built = time.perf_counter() - t0
        with app.app_context():
            s = db.session()
            seller_ids = list(s.scalars(sa.text("SELECT id FROM user_account ORDER BY id")))
            content_ids = list(s.scalars(sa.text("SELECT id FROM content ORDER BY id")))
        baseline = bare_write(app, seller_ids, content_ids)
        with app.app_context():
            s = db.session()
            start = time.perf_counter()
            result = service.fill_feeds(
                s, service.feed_settings(config.settings_of(app)), ignore_cadence=True, seed=1
            )
            s.commit()
            elapsed = time.perf_counter() - start
            links = s.scalar(sa.select(sa.func.count()).select_from(TrackedLink))
        assert result.created == sellers == links, (result, links)
        print(
            f"{kind:<10} sellers={sellers:>7,} items={items:>6,}  fill-feeds {elapsed:6.2f} s"
            f"  bare write {baseline:5.2f} s  ratio {elapsed / baseline:4.1f}x"
            f"  (world built in {built:.1f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sellers", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run(kind, args.sellers, args.items)


if __name__ == "__main__":
    main()
