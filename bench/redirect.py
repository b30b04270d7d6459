"""Load /r/<code> under gunicorn beside a bare Flask 302, and check every click was recorded.

    python bench/redirect.py [--db sqlite|postgresql|both] [--seconds 10] [--runs 3]

Both apps run under the same gunicorn settings (sync workers, one per core) on 127.0.0.1 and
are loaded by wrk with the same connections, alternating app and bare for ``--runs`` rounds;
the median of each is reported with the ratio. Afterwards the clicks table must hold exactly
as many rows as the redirect answered requests (every request is kept in the ledger; the
reasons are printed: wrk is one visitor, so after its first pass most are repeats).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.common import bench_app, build_world, fresh_database
from contentfeed import config, db
from contentfeed.suggestions import service

ROOT = Path(__file__).resolve().parent.parent
LUA = """
codes = {}
for line in io.lines("%s") do codes[#codes + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/r/" .. codes[(counter %% #codes) + 1], {
    ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36",
    ["Referer"] = "https://www.linkedin.com/feed/"})
end
"""


@dataclass(frozen=True)
class Load:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(factory: str, port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        f"bench.wsgi:{factory}()",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn ({factory}) did not start")


def load(port: int, script: Path, seconds: int, connections: int, threads: int = 2) -> Load:
    """Run wrk against 127.0.0.1:port with a Lua script; return its figures."""
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx or 3xx responses" in output:
        raise RuntimeError("errors while loading:\n" + output)

    def latency(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return Load(requests, rps, latency("50"), latency("99"))


def run(kind: str, seconds: int, runs: int, connections: int, workers: int) -> None:
    with fresh_database(kind) as url, tempfile.TemporaryDirectory() as folder:
        app = bench_app(url, folder)
        build_world(app, sellers=2000, items=200)
        with app.app_context():
            s = db.session()
            service.fill_feeds(
                s,
                service.feed_settings(config.settings_of(app)),
                ignore_cadence=True,
                seed=1,
                now=datetime.now(UTC) - timedelta(minutes=1),
            )
            s.commit()
            codes = list(s.scalars(sa.text("SELECT code FROM tracked_link")))
        codes_file = Path(folder) / "codes.txt"
        codes_file.write_text("\n".join(codes) + "\n")
        script = Path(folder) / "codes.lua"
        script.write_text(LUA % codes_file)
        env = {
            "BENCH_DATABASE_URL": url,
            "BENCH_INSTANCE": folder,
            "CONTENTFEED_CONFIG": f"{folder}/none.toml",
        }
        real_port, bare_port = free_port(), free_port()
        servers = [serve("real", real_port, env, workers), serve("bare", bare_port, env, workers)]
        try:
            load(real_port, script, 2, connections)  # warm up both
            load(bare_port, script, 2, connections)
            with app.app_context():
                s = db.session()
                s.execute(sa.text("DELETE FROM click"))
                s.commit()
            real_runs: list[Load] = []
            bare_runs: list[Load] = []
            for _ in range(runs):
                real_runs.append(load(real_port, script, seconds, connections))
                bare_runs.append(load(bare_port, script, seconds, connections))
        finally:
            for server in servers:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=20)
        with app.app_context():
            # Every request is kept in the ledger, whatever its reason (links/reasons.py).
            recorded = db.session().scalar(sa.text("SELECT count(*) FROM click"))
            by_reason = sa.text("SELECT reason, count(*) FROM click GROUP BY reason")
            reasons = {str(k): int(v) for k, v in db.session().execute(by_reason)}
        answered = sum(r.requests for r in real_runs)
        rps_real = statistics.median(r.rps for r in real_runs)
        rps_bare = statistics.median(r.rps for r in bare_runs)
        p50_real = statistics.median(r.p50_ms for r in real_runs)
        p50_bare = statistics.median(r.p50_ms for r in bare_runs)
        p99_real = statistics.median(r.p99_ms for r in real_runs)
        p99_bare = statistics.median(r.p99_ms for r in bare_runs)
        print(
            f"{kind:<10} redirect {rps_real:8.0f} req/s "
            f"p50 {p50_real:5.2f} ms p99 {p99_real:6.2f} ms | "
            f"bare 302 {rps_bare:8.0f} req/s p50 {p50_bare:5.2f} ms p99 {p99_bare:6.2f} ms | "
            f"ratio {rps_real / rps_bare:5.1%}  p50 x{p50_real / p50_bare:3.1f} | "
            f"clicks recorded {recorded:,} for {answered:,} answered"
        )
        # wrk is one visitor (one address, one User-Agent) cycling through the links, so
        # most of its requests are repeats: the redirect's look-up finds the earlier one.
        print(f"{'':<10} reasons " + ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items())))
        # wrk counts only answers it received before its time was up; requests still in
        # flight then were served and recorded too, so there may be a few more clicks.
        if not answered <= recorded <= answered + 2 * connections * runs:
            raise SystemExit(f"CLICKS DO NOT ADD UP: {recorded} recorded for {answered} answered")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run(kind, args.seconds, args.runs, args.connections, args.workers)


if __name__ == "__main__":
    main()
