"""Speed to lead: from the webhook's 202 to the lead routed, on SQLite and on PostgreSQL.

    python -m bench.speed_to_lead [--rate 20] [--seconds 30] [--burst 2000] [--only sqlite]

SQLite runs as the quickstart does: one process serving the app (waitress, 8 threads) with
the scheduler inside it. PostgreSQL runs as production does: gunicorn (2 sync workers) and a
scheduler process of its own. Every lead is distinct (its own webhook-id and email, signed
with the standardwebhooks library as a sender would) and carries a seller's tracked-link code.

A watcher reads the database every 10 ms for leads newly routed; a lead's time is from its
202 to the watcher first seeing it routed (``seen``), and to its ``routed_at`` (the router's
clock; the same machine). Two loads: a steady ``--rate`` leads a second for ``--seconds``,
then a burst of ``--burst`` leads sent by 16 senders as fast as they are answered. After
each: every lead routed, none twice (its "routed" history entries), and for the burst the
time from its first send until the last lead was routed. Goal: p99 under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa
from standardwebhooks import Webhook

from bench.common import bench_app, build_world, fresh_database
from bench.redirect import free_port, serve
from contentfeed import config, db
from contentfeed.leads import service as leads
from contentfeed.suggestions import service as suggestions

ROOT = Path(__file__).resolve().parent.parent
WATCH_SECONDS = 0.01
BURST_SENDERS = 16


@dataclass
class Sent:
    """One lead as the sender saw it."""

    n: int
    sent: float
    answered: float = 0.0
    lead_id: int | None = None
    status: int = 0


@dataclass
class Watcher:
    """Reads the leads newly routed, every 10 ms, and notes when each was first seen."""

    engine: sa.Engine
    seen: dict[int, float] = field(default_factory=dict)
    routed_at: dict[int, float] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    floor: int = 1

    def run(self) -> None:
        query = sa.text(
            "SELECT id, routed_at FROM lead WHERE routed_at IS NOT NULL AND id >= :floor"
        )
        while not self.stopping.is_set():
            with self.engine.connect() as conn:
                rows = conn.execute(query, {"floor": self.floor}).all()
            now = time.time()
            for lead_id, routed in rows:
                if lead_id not in self.seen:
                    self.seen[lead_id] = now
                    self.routed_at[lead_id] = _epoch(routed)
            while self.floor in self.seen:
                self.floor += 1
            self.stopping.wait(WATCH_SECONDS)


def _epoch(value: object) -> float:
    if isinstance(value, str):  # SQLite
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def signed(secret: str, code: str, n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "email": f"visitor{n}@company{n % 997}.example",
            "first_name": "Visitor",
            "last_name": f"Number{n}",
            "company": f"Company {n % 997}",
            "country": "DE",
            "utm_source": "linkedin",
            "utm_content": code,
        }
    )
    msg_id = f"msg_speed_{n}"
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    return body.encode(), headers


class Sender:
    """Posts signed leads; each thread keeps its own HTTP connection."""

    def __init__(self, url: str, secret: str, codes: list[str]) -> None:
        self.url = url
        self.secret = secret
        self.codes = codes
        self.local = threading.local()

    def send(self, item: Sent) -> Sent:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        body, headers = signed(self.secret, self.codes[item.n % len(self.codes)], item.n)
        item.sent = time.time()
        response = session.post(self.url, data=body, headers=headers, timeout=30)
        item.answered = time.time()
        item.status = response.status_code
        if response.status_code == 202:
            item.lead_id = response.json()["lead_id"]
        return item


def steady(sender: Sender, rate: float, seconds: float, start: int) -> list[Sent]:
    """Send ``rate`` leads a second for ``seconds``, each at its own moment."""
    count = int(rate * seconds)
    items = [Sent(start + n, 0.0) for n in range(count)]
    begin = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = []
        for k, item in enumerate(items):
            pause = begin + k / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(sender.send, item))
        for future in futures:
            future.result()
    return items


def burst(sender: Sender, count: int, start: int) -> list[Sent]:
    """Send ``count`` leads as fast as ``BURST_SENDERS`` senders are answered."""
    items = [Sent(start + n, 0.0) for n in range(count)]
    with ThreadPoolExecutor(max_workers=BURST_SENDERS) as pool:
        list(pool.map(sender.send, items))
    return items


def wait_routed(watcher: Watcher, items: list[Sent], limit: float = 120.0) -> bool:
    deadline = time.monotonic() + limit
    ids = [item.lead_id for item in items]
    while time.monotonic() < deadline:
        if all(lead_id in watcher.seen for lead_id in ids):
            return True
        time.sleep(0.05)
    return False


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True)
class Figures:
    count: int
    answered_p50_ms: float
    seen_p50: float
    seen_p99: float
    seen_max: float
    routed_p50: float
    routed_p99: float
    all_routed: bool
    routed_twice: int
    last_routed_after: float  # from the first send to the last lead seen routed

    def line(self, label: str) -> str:
        return (
            f"{label:<28} {self.count:5d} leads | 202 p50 {self.answered_p50_ms:6.1f} ms"
            f" | 202→routed seen p50 {self.seen_p50 * 1000:6.0f} ms p99 {self.seen_p99 * 1000:6.0f}"
            f" ms max {self.seen_max * 1000:6.0f} ms | routed_at p50"
            f" {self.routed_p50 * 1000:6.0f} ms p99 {self.routed_p99 * 1000:6.0f} ms"
            f" | all routed {'yes' if self.all_routed else 'NO'}, twice {self.routed_twice}"
            f" | last routed {self.last_routed_after:5.1f} s after the first send"
        )


def figures(engine: sa.Engine, watcher: Watcher, items: list[Sent]) -> Figures:
    if any(item.status != 202 for item in items):
        raise SystemExit(f"answers other than 202: {sorted({i.status for i in items})}")
    done = wait_routed(watcher, items)
    ids = [item.lead_id for item in items if item.lead_id is not None]
    seen = [watcher.seen[i.lead_id] - i.answered for i in items if i.lead_id in watcher.seen]
    routed = [
        watcher.routed_at[i.lead_id] - i.answered for i in items if i.lead_id in watcher.routed_at
    ]
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                sa.text(
                    "SELECT lead_id, count(*) FROM lead_activity WHERE kind = 'routed' "
                    "AND lead_id >= :low AND lead_id <= :high GROUP BY lead_id"
                ),
                {"low": min(ids), "high": max(ids)},
            ).all()
        )
    once = sum(1 for lead_id in ids if counts.get(lead_id) == 1)
    return Figures(
        count=len(items),
        answered_p50_ms=statistics.median(i.answered - i.sent for i in items) * 1000,
        seen_p50=statistics.median(seen),
        seen_p99=percentile(seen, 0.99),
        seen_max=max(seen),
        routed_p50=statistics.median(routed),
        routed_p99=percentile(routed, 0.99),
        all_routed=done and once == len(ids) == len(items),
        routed_twice=sum(1 for lead_id in ids if counts.get(lead_id, 0) > 1),
        last_routed_after=max(watcher.seen[i] for i in ids if i in watcher.seen)
        - min(i.sent for i in items),
    )


# --- the servers ------------------------------------------------------------------------


def serve_role(role: str, port: int) -> None:
    """Run inside a server process: the quickstart's web + scheduler, or a scheduler alone."""
    import logging

    from bench.wsgi import real
    from contentfeed.scheduler import SchedulerProcess

    logging.basicConfig(level=logging.WARNING)
    app = real()
    process = SchedulerProcess(app)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: process.stop())
    if role == "scheduler":
        process.run()
        return
    from waitress import serve as waitress_serve

    process.start_in_thread()
    waitress_serve(app, host="127.0.0.1", port=port, threads=8, ident="contentfeed")


def role_process(role: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bench.speed_to_lead", "--role", role, "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


@contextmanager
def servers(kind: str, url: str, folder: str) -> Iterator[str]:
    env = {
        "BENCH_DATABASE_URL": url,
        "BENCH_INSTANCE": folder,
        "CONTENTFEED_CONFIG": f"{folder}/none.toml",
    }
    port = free_port()
    processes = []
    if kind == "sqlite":
        processes.append(role_process("quickstart", port, env))
    else:
        processes.append(serve("real", port, env, workers=2))
        processes.append(role_process("scheduler", 0, env))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/login", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield f"{base}/api/v1/webhooks/leads"
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def run(kind: str, rate: float, seconds: float, burst_size: int) -> None:
    with fresh_database(kind) as url, tempfile.TemporaryDirectory() as folder:
        app = bench_app(url, folder)
        build_world(app, sellers=50, items=10)
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
            s.commit()
            codes = list(s.scalars(sa.text("SELECT code FROM tracked_link")))
        engine = sa.create_engine(url)
        watcher = Watcher(engine)
        watch = threading.Thread(target=watcher.run, daemon=True)
        watch.start()
        try:
            with servers(kind, url, folder) as webhook:
                sender = Sender(webhook, secret, codes)
                warm = steady(sender, rate=20, seconds=1, start=0)  # and the leader elected
                if not wait_routed(watcher, warm, limit=60):
                    raise SystemExit("the warm-up leads were not routed")
                calm = steady(sender, rate, seconds, start=1000)
                print(figures(engine, watcher, calm).line(f"{kind} steady {rate:g}/s"))
                if burst_size:
                    time.sleep(1)
                    rush = burst(sender, burst_size, start=100_000)
                    print(figures(engine, watcher, rush).line(f"{kind} burst of {burst_size}"))
        finally:
            watcher.stopping.set()
            watch.join()
            engine.dispose()
            with app.app_context():
                db.dispose(app)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0, help="steady leads a second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the steady load")
    parser.add_argument("--burst", type=int, default=2000, help="leads in the burst (0: none)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    parser.add_argument("--role", choices=("quickstart", "scheduler"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        serve_role(args.role, args.port)
        return
    for kind in [args.only] if args.only else ["sqlite", "postgresql"]:
        run(kind, args.rate, args.seconds, args.burst)


if __name__ == "__main__":
    main()
