"""Time every dashboard's queries on a large history (PostgreSQL).

    python -m bench.reports [--sellers 10000] [--items 2000] [--clicks 1000000] [--leads 50000]

Builds, in a fresh schema: the sellers and library of ``bench.common.build_world`` (items
spread over campaigns, kinds and topics), a few dozen reps in queues, about 20 suggestions per
seller over the last 90 days (most posted, each with its tracked link), the clicks on those
links (a share of them bots), and leads with their touches (credit under every model, from
``attribution.credit_shares``), statuses and routing times. Rows go in through COPY.

Then the click rollup is filled (``rollups.rebuild``, timed, as the first job run on an
install with history would) and the roll-up job's regular run is timed. Then each
dashboard's query functions run once to warm up and three times timed; the median
is printed beside the 1 s goal. The baseline, measured in the same run, is one
``SELECT count(*) FROM click`` over the whole table, and each figure is also given as a ratio
of it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from bench.common import PG_URL, bench_app, build_world, fresh_database
from contentfeed import db, models
from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Campaign, ContentKind
from contentfeed.db import Base
from contentfeed.leads.attribution import credit_shares
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.reports import campaigns, content, funnel, people, rollups, sales
from contentfeed.reports.period import Period
from contentfeed.routing.models import Queue, QueueMember
from contentfeed.suggestions.models import Suggestion

GOAL_SECONDS = 1.0
HISTORY_DAYS = 90
SUGGESTIONS_PER_SELLER = 20
REPS = 40
QUEUES = ("Inbound EMEA", "Inbound Americas", "Inbound APAC", "Key accounts")
BOT_SHARE = 0.12
REFERRERS = ("www.linkedin.com", "www.linkedin.com", "lnkd.in", "", "t.co", "www.google.com")
AGENTS = ("Chrome", "Chrome", "Safari", "Firefox", "Edge", "LinkedIn App")
BOT_AGENTS = ("LinkedInBot", "Googlebot", "bingbot")
SOURCES = ("linkedin", "linkedin", "linkedin", "email", "google", "")
# Leads' statuses as a working pipeline spreads them: most are done, some still open.
STATUS_WEIGHTS = {
    LeadStatus.NEW: 4,
    LeadStatus.CLAIMED: 4,
    LeadStatus.CONTACTED: 10,
    LeadStatus.QUALIFIED: 22,
    LeadStatus.DISQUALIFIED: 35,
    LeadStatus.CONVERTED: 25,
}


def copy_rows(s: Session, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """COPY rows into a table; columns a row leaves out take their Python-side default."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    # Columns the rows give, plus those with a Python default; the rest (ids) the database fills.
    columns = [
        c for c in table.columns if c.name in first or isinstance(c.default, sa.ColumnDefault)
    ]
    fill: dict[str, Callable[[], Any]] = {}
    for column in columns:
        default = column.default
        if isinstance(default, sa.ColumnDefault):
            if default.is_callable:
                fill[column.name] = lambda d=default: d.arg(None)  # type: ignore[operator,misc]
            else:
                fill[column.name] = lambda d=default: d.arg  # type: ignore[misc]
        else:
            fill[column.name] = lambda: None
    names = [c.name for c in columns]
    is_json = {c.name for c in columns if isinstance(c.type, sa.JSON)}
    cursor = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    count = 0
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in itertools.chain([first], iterator):
            values = []
            for name in names:
                value = row[name] if name in row else fill[name]()
                if name in is_json and value is not None:
                    value = json.dumps(value)
                elif hasattr(value, "value") and isinstance(value.value, str):
                    value = value.value  # a string enum
                values.append(value)
            copy.write_row(values)
            count += 1
    return count


def reset_sequence(s: Session, table: sa.Table) -> None:
    """Move a table's id sequence past the ids COPY wrote."""
    s.execute(
        sa.select(
            sa.func.setval(
                sa.func.pg_get_serial_sequence(table.name, "id"),
                sa.select(sa.func.max(table.c.id)).scalar_subquery(),
            )
        )
    )


def build_history(app: Flask, *, clicks: int, leads: int, seed: int = 11) -> dict[str, int]:
    """Add reps and queues, suggestions with links, clicks, and leads with touches."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    with app.app_context():
        s = db.session()
        kinds = list(ContentKind)
        s.execute(
            sa.text(
                "UPDATE content SET kind = (CAST(:kinds AS text[]))[1 + id % :n], "
                "campaign_id = CASE WHEN id % 10 = 0 THEN NULL ELSE campaign_id END"
            ),
            {"kinds": [k.value for k in kinds], "n": len(kinds)},
        )
        items = {
            cid: campaign_id
            for cid, campaign_id in s.execute(sa.text("SELECT id, campaign_id FROM content"))
        }
        seller_ids = list(s.scalars(sa.select(User.id).where(User.role == Role.SELLER)))
        team_ids = list(s.scalars(sa.text("SELECT id FROM team ORDER BY id")))
        s.execute(
            sa.insert(User),
            [
                {
                    "email": f"rep{n}@bench.example",
                    "name": f"Rep Number{n}",
                    "role": Role.REP,
                    "password_hash": "",
                    "team_id": rng.choice(team_ids),
                    "timezone": "Europe/Berlin",
                    "is_active": True,
                    "created_at": now - timedelta(days=200),
                }
                for n in range(REPS)
            ],
        )
        rep_ids = list(s.scalars(sa.select(User.id).where(User.role == Role.REP)))
        s.execute(
            sa.insert(Queue),
            [{"name": name, "sla_minutes": 60 * (1 + n)} for n, name in enumerate(QUEUES)],
        )
        queues = {q.id: q.sla_minutes for q in s.scalars(sa.select(Queue))}
        members = {qid: rep_ids[n :: len(queues)] for n, qid in enumerate(sorted(queues))}
        s.execute(
            sa.insert(QueueMember),
            [{"queue_id": qid, "user_id": uid} for qid, uids in members.items() for uid in uids],
        )

        # Suggestions and their links: ids chosen here, so clicks and touches can point at
        # them without reading anything back.
        content_ids = sorted(items)
        suggestions: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        posted: list[tuple[int, int, int, datetime]] = []  # link, suggestion, seller, posted
        weights = [1.0 / (1 + (n % 97)) for n in range(len(content_ids))]  # a few hits
        for seller_id in seller_ids:
            days = rng.sample(range(HISTORY_DAYS), SUGGESTIONS_PER_SELLER)
            chosen: set[int] = set()
            while len(chosen) < SUGGESTIONS_PER_SELLER:
                chosen.update(rng.choices(content_ids, weights, k=SUGGESTIONS_PER_SELLER))
            for back, content_id in zip(days, list(chosen)[:SUGGESTIONS_PER_SELLER], strict=True):
                sid = len(suggestions) + 1
                day = today - timedelta(days=back)
                made = datetime.combine(day, clock(6, 0), UTC)
                roll = rng.random()
                status = (
                    "pending"
                    if back < 2
                    else "posted"
                    if roll < 0.6
                    else "skipped"
                    if roll < 0.85
                    else "expired"
                )
                posted_at = (
                    min(made + timedelta(minutes=rng.randint(60, 600)), now)
                    if status == "posted"
                    else None
                )
                suggestions.append(
                    {
                        "id": sid,
                        "seller_id": seller_id,
                        "content_id": content_id,
                        "variant_id": None,
                        "day": day,
                        "slot": 0,
                        "rendered_text": "A post worth reading " + "x" * 120,
                        "status": status,
                        "score": rng.random(),
                        "score_parts": {},
                        "created_at": made,
                        "expires_at": made + timedelta(days=3),
                        "posted_at": posted_at,
                        "skipped_at": made + timedelta(hours=3) if status == "skipped" else None,
                        "skip_reason": "not_relevant" if status == "skipped" else "",
                    }
                )
                links.append(
                    {
                        "id": sid,
                        "code": f"b{sid:09d}",
                        "suggestion_id": sid,
                        "target_url": "https://www.acme.example/x?utm_source=linkedin",
                        "created_at": made,
                    }
                )
                if posted_at is not None:
                    posted.append((sid, sid, seller_id, posted_at))
        copy_rows(s, Suggestion.__table__, suggestions)  # type: ignore[arg-type]
        copy_rows(s, TrackedLink.__table__, links)  # type: ignore[arg-type]
        link_info = {row["id"]: (row["seller_id"], row["content_id"]) for row in suggestions}

        # Clicks: most come in the first days after the post; written in time order, as the
        # redirect writes them (the BRIN index on clicked_at relies on it).
        click_rows: list[tuple[datetime, int, bool]] = []
        popularity = [rng.paretovariate(1.2) for _ in posted]
        for link_id, _sid, _seller, posted_at in rng.choices(posted, popularity, k=clicks):
            at = posted_at + timedelta(seconds=int(rng.expovariate(1 / 86_400)))
            click_rows.append((min(at, now), link_id, rng.random() < BOT_SHARE))
        click_rows.sort()
        human: list[tuple[int, int, datetime]] = []  # click id, link id, time
        visitors = [f"{rng.getrandbits(128):032x}" for _ in range(200_000)]

        def click_dicts() -> Iterable[dict[str, Any]]:
            for n, (at, link_id, is_bot) in enumerate(click_rows, start=1):
                if not is_bot:
                    human.append((n, link_id, at))
                yield {
                    "id": n,
                    "link_id": link_id,
                    "clicked_at": at,
                    "is_bot": is_bot,
                    "referrer_host": "" if is_bot else rng.choice(REFERRERS),
                    "agent_family": rng.choice(BOT_AGENTS if is_bot else AGENTS),
                    "visitor_hash": "" if is_bot else rng.choice(visitors),
                }

        copy_rows(s, Click.__table__, click_dicts())  # type: ignore[arg-type]

        # Leads: each from one to three human clicks; the last one came shortly before the form.
        lead_rows: list[dict[str, Any]] = []
        touch_rows: list[dict[str, Any]] = []
        statuses = list(STATUS_WEIGHTS)
        status_weights = list(STATUS_WEIGHTS.values())
        queue_ids = sorted(queues)
        for lead_id in range(1, leads + 1):
            touched = sorted(rng.sample(human, rng.choice((1, 1, 1, 2, 2, 3))), key=lambda c: c[2])
            touched = list({link: (cid, link, at) for cid, link, at in touched}.values())
            submitted = min(touched[-1][2] + timedelta(minutes=rng.randint(1, 240)), now)
            shares = credit_shares([at for _c, _l, at in touched], converted_at=submitted)
            status = rng.choices(statuses, status_weights)[0]
            queue_id = rng.choice(queue_ids)
            routed = submitted + timedelta(seconds=2)
            due = routed + timedelta(minutes=queues[queue_id])
            worked = status != LeadStatus.NEW
            claimed = routed + timedelta(minutes=rng.randint(1, 180)) if worked else None
            contacted = (
                claimed + timedelta(minutes=rng.randint(5, 600))
                if claimed and status != LeadStatus.CLAIMED
                else None
            )
            closed = status in (LeadStatus.DISQUALIFIED, LeadStatus.CONVERTED)
            lead_rows.append(
                {
                    "id": lead_id,
                    "email": f"person{lead_id}@company{lead_id % 5000}.example",
                    "email_domain": f"company{lead_id % 5000}.example",
                    "first_name": "Pat",
                    "last_name": f"Person{lead_id}",
                    "company": f"Company {lead_id % 5000}",
                    "job_title": rng.choice(("CTO", "Head of IT", "Engineer", "CFO")),
                    "country": rng.choice(("DE", "FR", "GB", "US", "JP", "ES")),
                    "consent": True,
                    "utm_source": rng.choice(SOURCES),
                    "utm_medium": "social",
                    "status": status,
                    "submitted_at": submitted,
                    "created_at": submitted,
                    "updated_at": contacted or claimed or routed,
                    "score": rng.randint(0, 100),
                    "queue_id": queue_id,
                    "assignee_id": rng.choice(members[queue_id]) if worked else None,
                    "routed_at": routed,
                    "due_at": due,
                    "claimed_at": claimed,
                    "first_contact_at": contacted,
                    "closed_at": (contacted or routed) + timedelta(days=2) if closed else None,
                    "overdue_at": due if (contacted or now) > due else None,
                }
            )
            for (click_id, link_id, at), share in zip(touched, shares, strict=True):
                seller_id, content_id = link_info[link_id]
                touch_rows.append(
                    {
                        "lead_id": lead_id,
                        "code": f"b{link_id:09d}",
                        "found_in": "utm_content",
                        "link_id": link_id,
                        "click_id": click_id,
                        "suggestion_id": link_id,
                        "seller_id": seller_id,
                        "content_id": content_id,
                        "campaign_id": items[content_id],
                        "touched_at": at,
                        **{f"credit_{model}": value for model, value in share.items()},
                    }
                )
        copy_rows(s, Lead.__table__, lead_rows)  # type: ignore[arg-type]
        copy_rows(s, Touch.__table__, touch_rows)  # type: ignore[arg-type]
        for table in (Suggestion, TrackedLink, Click, Lead):
            reset_sequence(s, table.__table__)  # type: ignore[arg-type]
        s.commit()
        # As autovacuum would have by now: statistics and visibility maps are current.
        with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        return {
            "sellers": len(seller_ids),
            "items": len(items),
            "suggestions": len(suggestions),
            "posts": len(posted),
            "clicks": len(click_rows),
            "leads": len(lead_rows),
            "touches": len(touch_rows),
        }


def dashboards(s: Session, zone: ZoneInfo) -> list[tuple[str, Callable[[], object]]]:
    """Each dashboard's query functions, as the pages and the API call them."""
    today = datetime.now(zone).date()
    last_30 = Period(today - timedelta(days=29), today, zone)
    last_90 = Period(today - timedelta(days=89), today, zone)
    campaign = s.scalars(sa.select(Campaign).order_by(Campaign.id)).first()
    assert campaign is not None
    # The busiest seller: the page with the most rows to show.
    seller_id = s.scalar(
        sa.select(Suggestion.seller_id)
        .where(Suggestion.posted_at.is_not(None))
        .group_by(Suggestion.seller_id)
        .order_by(sa.func.count().desc())
        .limit(1)
    )
    seller = s.get(User, seller_id)
    assert seller is not None
    estimates = funnel.Estimates()
    cases: list[tuple[str, Callable[[], object]]] = []
    for label, period in (("30 d", last_30), ("90 d", last_90)):
        for group in content.GROUPS:
            cases.append(
                (
                    f"content by {group}, {label}",
                    lambda p=period, g=group: content.content_report(s, p, g, "linear", estimates),
                )
            )
    cases += [
        ("daily series, 90 d", lambda: content.daily_series(s, last_90, "linear")),
        (
            "campaign drill-down, 30 d",
            lambda: campaigns.campaign_report(s, last_30, campaign.id, "linear", estimates),
        ),
        (
            "campaign drill-down, 90 d",
            lambda: campaigns.campaign_report(s, last_90, campaign.id, "linear", estimates),
        ),
        ("leaderboard, 30 d", lambda: people.leaderboard(s, last_30)),
        ("leaderboard, 90 d", lambda: people.leaderboard(s, last_90)),
        ("leaderboard of a team, 90 d", lambda: people.leaderboard(s, last_90, seller.team_id)),
        ("seller page, 90 d", lambda: people.seller_page(s, seller, last_90)),
        ("sales view, 30 d", lambda: sales.sales(s, last_30)),
        ("sales view, 90 d", lambda: sales.sales(s, last_90)),
        (
            "campaign attribution by seller, 90 d",
            lambda: sales.campaign_attribution(s, campaign, last_90, "seller"),
        ),
        (
            "campaign attribution by item, 90 d",
            lambda: sales.campaign_attribution(s, campaign, last_90, "content"),
        ),
    ]
    return cases


def median_seconds(work: Callable[[], object], runs: int = 3) -> float:
    """Run once to warm up, then ``runs`` times; return the median wall time."""
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def roll_up(app: Flask) -> None:
    """Fill the click rollup from scratch, as the first job run on an install with history
    does, then time the job's regular run (today and yesterday recomputed)."""
    with app.app_context():
        s = db.session()
        start = time.perf_counter()
        result = rollups.rebuild(s)
        s.commit()
        print(f"{'roll-up, full rebuild':<40} {time.perf_counter() - start:8.3f}  {result}")
        with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE daily_clicks, hourly_clicks")

        def run_job() -> None:
            rollups.roll_up_clicks(s)
            s.commit()

        print(f"{'roll-up, job run (2 open days)':<40} {median_seconds(run_job):8.3f}")


def time_dashboards(app: Flask, zone: ZoneInfo) -> None:
    """Time each dashboard's queries: median of three after a warm-up, against the baseline."""
    with app.app_context():
        s = db.session()
        baseline = median_seconds(lambda: s.scalar(sa.text("SELECT count(*) FROM click")))
        print(f"{'baseline: count(*) over every click':<40} {baseline:8.3f}")
        print(f"{'dashboard':<40} {'seconds':>8} {'x baseline':>11}  goal < {GOAL_SECONDS:.0f} s")
        for name, work in dashboards(s, zone):
            seconds = median_seconds(work)
            s.rollback()  # end the read transaction, as a request would
            verdict = "OK" if seconds < GOAL_SECONDS else "SLOW"
            print(f"{name:<40} {seconds:8.3f} {seconds / baseline:10.1f}x  {verdict}")


@contextmanager
def kept_database(schema: str) -> Iterator[tuple[str, bool]]:
    """Yield the URL of a PostgreSQL schema kept between runs, and whether it was just made."""
    models.import_all()
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        exists = conn.scalar(
            sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = :name"), {"name": schema}
        )
        if not exists:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    text = url.render_as_string(hide_password=False)
    # Tables added since the schema was built (the click rollup) are created; others stay.
    engine = sa.create_engine(text, poolclass=sa.pool.NullPool)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield text, not exists


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sellers", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument(
        "--keep",
        metavar="SCHEMA",
        help="build into this PostgreSQL schema and keep it; a later run reuses it as it is",
    )
    parser.add_argument("--zone", default="Europe/Berlin", help="the viewer's time zone")
    args = parser.parse_args()
    database = kept_database(args.keep) if args.keep else fresh_database("postgresql")
    with database as opened, tempfile.TemporaryDirectory() as folder:
        url, is_new = opened if isinstance(opened, tuple) else (opened, True)
        app = bench_app(url, folder)
        if is_new:
            t0 = time.perf_counter()
            build_world(app, args.sellers, args.items)
            sizes = build_history(app, clicks=args.clicks, leads=args.leads)
            print(f"world built in {time.perf_counter() - t0:.1f} s: {sizes}")
        else:
            print(f"reusing schema {args.keep}")
        roll_up(app)
        time_dashboards(app, ZoneInfo(args.zone))


if __name__ == "__main__":
    main()
