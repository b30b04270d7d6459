"""Post signed leads to the webhook under gunicorn, beside a bare endpoint that verifies
nothing and inserts one row; then check every accepted lead is stored and attributed.

    python -m bench.webhook [--seconds 10] [--runs 3] [--control]

PostgreSQL only. Each request is a distinct lead (its own webhook-id, signed with the
standardwebhooks library as a sender would) carrying a seller's tracked-link code, so the
real endpoint authenticates, stores the raw event, processes it into a lead and attributes
it (through the Flask view over leads.webhook, as in production). Both servers run with the
same gunicorn settings; wrk loads them alternately.

With ``--control`` a third server, the same app with the router's wake-up switched off
(``bench.wsgi.real_without_wakeup``), is loaded in the same rounds, so what the wake-up costs
the intake is a ratio of one run rather than of two runs minutes apart.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from standardwebhooks import Webhook

from bench.common import bench_app, build_world, fresh_database
from bench.redirect import Load, free_port, load, serve
from contentfeed import config, db
from contentfeed.leads import service as leads
from contentfeed.suggestions import service as suggestions

LUA = """
local rows = {}
for line in io.lines("%s") do
  local id, ts, sig, body = line:match("([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(.*)")
  rows[#rows + 1] = {id = id, ts = ts, sig = sig, body = body}
end
local counter = 0
request = function()
  counter = counter + 1
  local row = rows[counter]
  if row == nil then return wrk.format("GET", "/exhausted") end
  return wrk.format("POST", "/api/v1/webhooks/leads", {
    ["Content-Type"] = "application/json", ["webhook-id"] = row.id,
    ["webhook-timestamp"] = row.ts, ["webhook-signature"] = row.sig}, row.body)
end
"""


def signed_rows(path: Path, secret: str, codes: list[str], count: int, start: int) -> None:
    """Write ``count`` distinct signed deliveries, one per line, for the Lua script."""
    hook = Webhook(secret)
    now = datetime.now(UTC)
    with path.open("w") as out:
        for n in range(start, start + count):
            body = json.dumps(
                {
                    "email": f"visitor{n}@company{n % 997}.example",
                    "first_name": "Visitor",
                    "last_name": f"Number{n}",
                    "company": f"Company {n % 997}",
                    "country": "DE",
                    "consent": True,
                    "utm_source": "linkedin",
                    "utm_medium": "social",
                    "utm_content": codes[n % len(codes)],
                }
            )
            msg_id = f"msg_bench_{n}"
            out.write(f"{msg_id}\t{int(now.timestamp())}\t{hook.sign(msg_id, now, body)}\t{body}\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--per-run", type=int, default=40_000, help="signed deliveries prepared per run"
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="also load the app with the router's wake-up switched off, in the same rounds",
    )
    args = parser.parse_args()
    with fresh_database("postgresql") as url, tempfile.TemporaryDirectory() as folder:
        app = bench_app(url, folder)
        build_world(app, sellers=500, items=50)
        with app.app_context():
            s = db.session()
            suggestions.fill_feeds(
                s,
                suggestions.feed_settings(config.settings_of(app)),
                ignore_cadence=True,
                seed=1,
                now=datetime.now(UTC) - timedelta(minutes=1),
            )
            _secret, secret = leads.create_secret(s, name="bench")
            s.execute(
                sa.text("CREATE TABLE bench_lead (id bigserial PRIMARY KEY, body text NOT NULL)")
            )
            s.commit()
            codes = list(s.scalars(sa.text("SELECT code FROM tracked_link")))
        psycopg_url = (
            sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        env = {
            "BENCH_DATABASE_URL": url,
            "BENCH_INSTANCE": folder,
            "BENCH_PSYCOPG_URL": psycopg_url,
            "CONTENTFEED_CONFIG": f"{folder}/none.toml",
        }
        real_port, bare_port, quiet_port = free_port(), free_port(), free_port()
        servers = [
            serve("real", real_port, env, args.workers),
            serve("bare_intake", bare_port, env, args.workers),
        ]
        if args.control:
            servers.append(serve("real_without_wakeup", quiet_port, env, args.workers))
        real_runs: list[Load] = []
        bare_runs: list[Load] = []
        quiet_runs: list[Load] = []
        warm_runs: list[Load] = []
        try:
            # Each server warms up first (imports, caches, statements prepared after five
            # uses): otherwise the first round measures whichever server started cold.
            for turn, port in enumerate([real_port, bare_port, quiet_port][: len(servers)]):
                rows = Path(folder) / f"warm{turn}.tsv"
                signed_rows(rows, secret, codes, 6_000, start=10**9 + turn * 6_000)
                script = Path(folder) / f"warm{turn}.lua"
                script.write_text(LUA % rows)
                warm = load(port, script, 2, args.connections, threads=1)
                if port != bare_port:
                    warm_runs.append(warm)
            for run in range(args.runs):
                plan = [(real_port, real_runs), (bare_port, bare_runs)]
                if args.control:
                    plan.append((quiet_port, quiet_runs))
                # The order turns each round, so no server always runs first.
                plan = plan[run % len(plan) :] + plan[: run % len(plan)]
                for turn, (port, runs) in enumerate(plan):
                    # Every load sends deliveries of its own: a webhook-id already stored
                    # would be answered as a replay.
                    first = (run * len(plan) + turn) * args.per_run
                    rows = Path(folder) / f"run{run}-{turn}.tsv"
                    signed_rows(rows, secret, codes, args.per_run, start=first)
                    script = Path(folder) / f"run{run}-{turn}.lua"
                    script.write_text(LUA % rows)
                    runs.append(load(port, script, args.seconds, args.connections, threads=1))
        finally:
            for server in servers:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=20)
        with app.app_context():
            s = db.session()
            stored = s.scalar(sa.text("SELECT count(*) FROM lead"))
            attributed = s.scalar(sa.text("SELECT count(DISTINCT lead_id) FROM touch"))
            processed = s.scalar(
                sa.text("SELECT count(*) FROM inbound_event WHERE status = 'processed'")
            )
            events = s.scalar(sa.text("SELECT count(*) FROM inbound_event"))
        stored_by = real_runs + quiet_runs + warm_runs
        answered = sum(r.requests for r in stored_by)
        rps_real = statistics.median(r.rps for r in real_runs)
        rps_bare = statistics.median(r.rps for r in bare_runs)
        p50_real = statistics.median(r.p50_ms for r in real_runs)
        p99_real = statistics.median(r.p99_ms for r in real_runs)
        p50_bare = statistics.median(r.p50_ms for r in bare_runs)
        p99_bare = statistics.median(r.p99_ms for r in bare_runs)
        print(
            f"postgresql webhook {rps_real:7.0f} leads/s"
            f" p50 {p50_real:5.2f} ms p99 {p99_real:6.2f} ms"
            f" | bare insert {rps_bare:7.0f} req/s p50 {p50_bare:5.2f} ms p99 {p99_bare:6.2f} ms"
            f" | ratio {rps_real / rps_bare:5.1%} | answered {answered:,}, events {events:,},"
            f" processed {processed:,}, leads {stored:,}, attributed {attributed:,}"
        )
        if quiet_runs:
            rps_quiet = statistics.median(r.rps for r in quiet_runs)
            rounds = ", ".join(
                f"{a.rps / b.rps:.0%}" for a, b in zip(real_runs, quiet_runs, strict=True)
            )
            print(
                f"postgresql webhook without the wake-up {rps_quiet:7.0f} leads/s"
                f" p50 {statistics.median(r.p50_ms for r in quiet_runs):5.2f} ms"
                f" p99 {statistics.median(r.p99_ms for r in quiet_runs):6.2f} ms"
                f" | ratio {rps_quiet / rps_bare:5.1%}"
                f" | with the wake-up / without {rps_real / rps_quiet:6.1%}"
                f" (by round: {rounds})"
            )
        if not (
            answered
            <= events
            == processed
            == stored
            == attributed
            <= answered + args.connections * len(stored_by)
        ):
            raise SystemExit("LEADS DO NOT ADD UP")


if __name__ == "__main__":
    main()
