"""Rehearse a database outage: a steady trickle of signed leads while PostgreSQL is down.

Makes a throwaway PostgreSQL cluster of its own (root and Debian's ``pg_createcluster``
needed; the shared cluster is never touched), runs ``contentfeed serve`` and ``contentfeed
scheduler`` against it, sends signed leads at a steady rate, stops the cluster for
``--down`` seconds in the middle and starts it again. Senders redeliver on a 503 as a website
form's sender would (sooner than the ``Retry-After`` the server names, to keep the run short).

Prints what every answer was, whether every lead is stored exactly once and routed, and
whether the scheduler is still running. Run by hand:

    sudo .venv/bin/python bench/outage.py --down 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy as sa
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2.0, help="leads per second")
    parser.add_argument("--seconds", type=float, default=70.0, help="how long leads are sent")
    parser.add_argument("--down", type=float, default=30.0, help="seconds the database is down")
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("pg_createcluster") is None:
        print("needs root and pg_createcluster (Debian's postgresql-common)")
        return 2

    version, name, port = pg_version(), f"cfoutage_{os.getpid()}", free_port()
    subprocess.run(
        ["pg_createcluster", version, name, "-p", str(port), "--", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    ctl = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name]
    subprocess.run([*ctl, "start"], check=True)
    processes: list[subprocess.Popen[bytes]] = []
    workdir = Path(tempfile.mkdtemp(prefix="cfoutage-"))
    try:
        admin = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
            isolation_level="AUTOCOMMIT",
            poolclass=sa.pool.NullPool,
        )
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE contentfeed"))
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/contentfeed"
        web_port = free_port()
        env = {
            **os.environ,
            "CONTENTFEED_DATABASE_URL": url,
            "CONTENTFEED_INSTANCE_PATH": str(workdir),
            "CONTENTFEED_SECRET_KEY": "outage-rehearsal",
            "CONTENTFEED_CONFIG": str(workdir / "none.toml"),
        }
        cli = str(BIN / "contentfeed")
        subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        secret = subprocess.run(
            [cli, "webhook-secret", "create", "--name", "rehearsal"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        log = (workdir / "processes.log").open("wb")
        processes.append(
            subprocess.Popen(
                [cli, "serve", "--port", str(web_port), "--workers", "2"],
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        scheduler = subprocess.Popen([cli, "scheduler"], env=env, stdout=log, stderr=log)
        processes.append(scheduler)
        webhook = f"http://127.0.0.1:{web_port}/api/v1/webhooks/leads"
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{web_port}/login", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)

        answers: Counter[str] = Counter()
        lock = threading.Lock()
        missing_retry_after = 0
        total = int(args.rate * args.seconds)

        def deliver(n: int) -> None:
            nonlocal missing_retry_after
            body = json.dumps({"email": f"person{n}@example.com", "first_name": f"P{n}"})
            msg_id = f"msg_{n}"
            for _attempt in range(200):
                now = datetime.now(UTC)
                headers = {
                    "content-type": "application/json",
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": Webhook(secret).sign(msg_id, now, body),
                }
                try:
                    response = requests.post(webhook, data=body, headers=headers, timeout=10)
                    status = str(response.status_code)
                except requests.RequestException as error:
                    response, status = None, type(error).__name__
                with lock:
                    answers[status] += 1
                    if status == "503" and response is not None:
                        missing_retry_after += "Retry-After" not in response.headers
                if status == "202":
                    return
                time.sleep(2.0)

        senders: list[threading.Thread] = []
        started = time.monotonic()
        stop_at = started + (args.seconds - args.down) / 2
        stopped_for = 0.0
        for n in range(total):
            thread = threading.Thread(target=deliver, args=(n,))
            thread.start()
            senders.append(thread)
            if stop_at and time.monotonic() >= stop_at:
                subprocess.run([*ctl, "stop", "-m", "fast"], check=True)
                down_since = time.monotonic()
                print(f"database stopped at {down_since - started:.0f} s")
                stop_at = 0.0
            if not stop_at and not stopped_for and time.monotonic() - down_since >= args.down:
                subprocess.run([*ctl, "start"], check=True)
                stopped_for = time.monotonic() - down_since
                print(f"database started again after {stopped_for:.0f} s")
            time.sleep(1 / args.rate)
        if not stopped_for:
            time.sleep(max(0.0, args.down - (time.monotonic() - down_since)))
            subprocess.run([*ctl, "start"], check=True)
        for thread in senders:
            thread.join()
        sent_all = time.monotonic()

        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        query = sa.text(
            "SELECT count(*), count(DISTINCT email), count(routed_at) FROM lead "
            "WHERE merged_into_id IS NULL"
        )
        rows = (0, 0, 0)
        for _ in range(120):
            with engine.connect() as conn:
                rows = tuple(conn.execute(query).one())
            if rows[2] >= total:
                break
            time.sleep(1)
        engine.dispose()
        leads, people, routed = rows
        alive = scheduler.poll() is None
        print(f"leads sent: {total} at {args.rate}/s; database down {args.down:.0f} s")
        print(
            f"answers: {dict(sorted(answers.items()))}; 503s without Retry-After: "
            f"{missing_retry_after}"
        )
        print(
            f"stored: {leads} leads for {people} people; routed: {routed} "
            f"({time.monotonic() - sent_all:.0f} s after the last delivery)"
        )
        print(f"scheduler still running: {alive}")
        ok = (
            leads == people == routed == total
            and set(answers) <= {"202", "503"}
            and not missing_retry_after
            and alive
        )
        print("OK: nothing lost" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        subprocess.run(
            ["pg_dropcluster", "--stop", pg_version(), name], check=False, capture_output=True
        )
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
