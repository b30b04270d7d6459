"""The rehearsal's hosts: network namespaces on a bridge, and what runs on each.

bench/rehearsal.py injects the faults and counts; this module makes the hosts, starts and
kills their processes, cuts links, and answers who leads and what the balancer sees. See
docs/rehearsal.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PREFIX = "cfr-"
SUBNET = "10.77.0"
HOSTS = {"pg": 10, "web1": 21, "web2": 22, "sched1": 31, "sched2": 32, "lb": 40, "client": 50}
PG_PORT, WEB_PORT = 5499, 8000
# contentfeed.scheduler.leader_lock_key("public"): the rehearsal's tables are in "public"
LOCK_KEY = 0x636F6E74656E7466
# Only a failed connection is retried elsewhere: a request the dead host may have served
# (an empty answer, a time-out) is not sent twice, or a click would be recorded twice.
HAPROXY = """global
    maxconn 2000
    stats socket {workdir}/haproxy.sock mode 600 level admin
defaults
    mode http
    log stdout format raw local0
    option httplog
    option forwardfor
    timeout connect 2s
    timeout client 30s
    timeout server 10s
    timeout check 2s
    retries 3
    option redispatch 1
    retry-on conn-failure
frontend public
    bind {lb}:80
    default_backend web
backend web
    balance roundrobin
    option httpchk GET /login
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
    server web1 {web1}:{port} check
    server web2 {web2}:{port} check
"""


def address(host: str) -> str:
    """Return a host's address on the rehearsal network."""
    return f"{SUBNET}.{HOSTS[host]}"


def run(*argv: str, check: bool = True, timeout: float = 60) -> str:
    """Run a command to completion (bounded) and return its output."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.stdout}")
    return done.stdout


def loadavg() -> str:
    """Return the machine's load averages (1, 5, 15 minutes): other work skews the figures."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def namespaces() -> list[str]:
    """Return the rehearsal's network namespaces that exist now."""
    return [line.split()[0] for line in run("ip", "netns", "list").splitlines() if line.strip()]


def pids_in(ns: str) -> list[int]:
    """Return the processes running in a network namespace."""
    return [int(p) for p in run("ip", "netns", "pids", ns, check=False).split()]


def kill_namespace(ns: str, grace: float) -> None:
    """End every process in a namespace: SIGTERM, then SIGKILL after ``grace`` seconds."""
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if signum == signal.SIGTERM and grace <= 0:
            continue
        for pid in pids_in(ns):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        deadline = time.monotonic() + wait
        while pids_in(ns) and time.monotonic() < deadline:
            time.sleep(0.1)


class Hosts:
    """The hosts and their processes (``clean_up`` deletes the namespaces and all in them)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="cfrehearsal-"))
        self.workdir.chmod(0o755)  # PostgreSQL's user reaches its folders inside
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.events: list[tuple[float, str]] = []
        self.secret_key = secrets.token_hex(16)
        self.pgdata = self.workdir / "pg"
        self.socket_dir = self.workdir / "pgsock"

    # --- hosts -------------------------------------------------------------------------

    def note(self, text: str) -> None:
        """Keep a timed line of what happened, and print it."""
        self.events.append((time.time(), text))
        print(f"{datetime.now(UTC):%H:%M:%S} {text}", flush=True)

    def build_network(self) -> None:
        """Make the bridge's namespace and one namespace per host, each on a veth pair."""
        lan = PREFIX + "lan"
        run("ip", "netns", "add", lan)
        run("ip", "-n", lan, "link", "set", "lo", "up")
        run("ip", "-n", lan, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", lan, "link", "set", "br0", "up")
        for host in HOSTS:
            ns = PREFIX + host
            run("ip", "netns", "add", ns)
            run("ip", "-n", lan, "link", "add", host, "type", "veth", "peer", "eth0", "netns", ns)
            run("ip", "-n", lan, "link", "set", host, "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{address(host)}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        self.note(f"network {SUBNET}.0/24: " + ", ".join(f"{h} {address(h)}" for h in HOSTS))

    def start(self, host: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Start a process inside a host's namespace, its output appended to <host>.log."""
        log = (self.workdir / f"{host}.log").open("ab")
        self.processes[host] = subprocess.Popen(
            ["ip", "netns", "exec", PREFIX + host, *argv],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill_host(self, host: str) -> None:
        """Kill -9 every process on a host, as when it loses power."""
        kill_namespace(PREFIX + host, grace=0)
        process = self.processes.pop(host, None)
        if process is not None:
            process.wait(timeout=10)

    def app_env(self, host: str) -> dict[str, str]:
        """Return the settings every contentfeed process gets (shared key, balancer's URL)."""
        (self.workdir / host).mkdir(exist_ok=True)
        return {
            "CONTENTFEED_DATABASE_URL": (
                f"postgresql+psycopg://postgres@{address('pg')}:{PG_PORT}/contentfeed"
            ),
            "CONTENTFEED_SECRET_KEY": self.secret_key,
            "CONTENTFEED_PUBLIC_BASE_URL": f"http://{address('lb')}",
            "CONTENTFEED_TRUSTED_PROXIES": "1",
            "CONTENTFEED_CONFIG": str(self.workdir / "none.toml"),
            "CONTENTFEED_INSTANCE_PATH": str(self.workdir / host),
        }

    def socket_url(self) -> str:
        """Return the database's URL through its Unix socket (for this script only)."""
        return f"postgresql+psycopg://postgres@/contentfeed?host={self.socket_dir}&port={PG_PORT}"

    # --- PostgreSQL --------------------------------------------------------------------

    def pg_ctl(self, *argv: str) -> None:
        """Run pg_ctl as postgres inside the database host (so the server lives there)."""
        run(
            *("ip", "netns", "exec", PREFIX + "pg", "runuser", "-u", "postgres", "--"),
            *(str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "60"),
            # Always a log file: a server started without one keeps our pipe open.
            *("-l", str(self.workdir / "pg.log")),
            *argv,
            timeout=90,
        )

    def start_database(self) -> None:
        """Make a cluster of its own (never the shared one), start it, create the database."""
        for folder in (self.pgdata, self.socket_dir):
            folder.mkdir()
            shutil.chown(folder, "postgres", "postgres")
        run(
            *("runuser", "-u", "postgres", "--", str(PG_BIN / "initdb")),
            *("-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8"),
            timeout=120,
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '{address('pg')}'\nport = {PG_PORT}\n"
                f"unix_socket_directories = '{self.socket_dir}'\nmax_connections = 200\n"
            )
        with (self.pgdata / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        log = self.workdir / "pg.log"
        log.touch()
        shutil.chown(log, "postgres", "postgres")
        self.pg_ctl("start")
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), port=PG_PORT, user="postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE contentfeed")
        self.note(f"PostgreSQL 15 on pg {address('pg')}:{PG_PORT}, data in {self.pgdata}")

    def prepare_data(self, links: int) -> tuple[str, list[str]]:
        """Migrate, make sellers with one tracked link each, a signing secret; return both."""
        env = {**os.environ, **self.app_env("setup"), "CONTENTFEED_DATABASE_URL": self.socket_url()}
        cli = str(BIN / "contentfeed")
        subprocess.run(
            [cli, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=300
        )
        secret = subprocess.run(
            [cli, "webhook-secret", "create", "--name", "rehearsal"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout.split()[-1]
        import sqlalchemy as sa

        from bench.common import bench_app, build_world
        from contentfeed import config, db
        from contentfeed.suggestions import service as suggestions

        app = bench_app(self.socket_url(), str(self.workdir / "setup"))
        build_world(app, sellers=links, items=60)
        with app.app_context():
            s = db.session()
            settings = suggestions.feed_settings(config.settings_of(app))
            now = datetime.now(UTC) - timedelta(minutes=5)  # links past the "early" window
            suggestions.fill_feeds(s, settings, ignore_cadence=True, seed=1, now=now)
            s.execute(sa.text("UPDATE tracked_link SET created_at = :at"), {"at": now})
            s.commit()
            codes = list(s.scalars(sa.text("SELECT code FROM tracked_link ORDER BY id")))
            db.engine().dispose()
        self.note(f"database migrated; {len(codes)} tracked links; webhook secret created")
        return secret, codes

    # --- the other hosts ---------------------------------------------------------------

    def start_balancer(self) -> None:
        """Start HAProxy on lb: health checks on the web hosts, redispatch when one is gone."""
        cfg = self.workdir / "haproxy.cfg"
        cfg.write_text(
            HAPROXY.format(
                workdir=self.workdir,
                lb=address("lb"),
                web1=address("web1"),
                web2=address("web2"),
                port=WEB_PORT,
            )
        )
        self.start("lb", ["haproxy", "-f", str(cfg), "-db"])
        self.wait_for(lambda: (self.workdir / "haproxy.sock").exists(), 20, "HAProxy")

    def start_web(self, host: str) -> None:
        """Start ``contentfeed serve`` on a web host, bound to its own address."""
        cli = str(BIN / "contentfeed")
        argv = [cli, "serve", "--host", address(host), "--port", str(WEB_PORT), "--workers", "2"]
        self.start(host, argv, self.app_env(host))

    def start_scheduler(self, host: str) -> None:
        """Start ``contentfeed scheduler`` on a scheduler host."""
        argv = [str(BIN / "contentfeed"), "scheduler", "--poll", str(self.args.poll)]
        self.start(host, argv, self.app_env(host))

    def wait_for(self, ready: Callable[[], bool], seconds: float, what: str) -> None:
        """Wait (bounded) until ``ready()`` is true."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{what} not ready after {seconds:.0f} s (logs in {self.workdir})")

    def logged(self, host: str, text: str) -> bool:
        """Tell whether a host's log has a line with ``text`` since the host last started."""
        log = (self.workdir / f"{host}.log").read_text(errors="replace")
        return text in log.rpartition("Scheduler standing by for leadership")[2]

    def servers(self) -> dict[str, str]:
        """Return the balancer's view of the web hosts: UP, DOWN, ..."""
        import socket

        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(1.0)
                conn.connect(str(self.workdir / "haproxy.sock"))
                conn.sendall(b"show stat\n")
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
        except OSError:
            return {}
        states = {}
        for line in data.decode().splitlines():
            cells = line.split(",")
            if len(cells) > 17 and cells[0] == "web" and cells[1].startswith("web"):
                states[cells[1]] = cells[17].split()[0]
        return states

    def leader(self) -> str | None:
        """Return the host holding the scheduler's advisory lock (None: nobody, or no answer)."""
        import psycopg

        try:
            with psycopg.connect(
                host=str(self.socket_dir),
                port=PG_PORT,
                user="postgres",
                dbname="contentfeed",
                connect_timeout=1,
                autocommit=True,
            ) as conn:
                row = conn.execute(
                    "SELECT host(a.client_addr) FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted "
                    "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
                    (LOCK_KEY,),
                ).fetchone()
        except psycopg.Error:
            return None
        by_address = {address(h): h for h in HOSTS}
        return by_address.get(str(row[0]), str(row[0])) if row else None

    def cut_off_database(self, host: str, cut: bool) -> None:
        """Drop (or stop dropping) every packet between a host and the database host."""
        action = "-A" if cut else "-D"
        ns = ("ip", "netns", "exec", PREFIX + host, "iptables")
        run(*ns, action, "OUTPUT", "-d", address("pg"), "-j", "DROP")
        run(*ns, action, "INPUT", "-s", address("pg"), "-j", "DROP")


def clean_up() -> None:
    """Remove every rehearsal namespace (and what runs in it) and leftover folders."""
    ours = [ns for ns in namespaces() if ns.startswith(PREFIX)]
    for ns in ours:
        kill_namespace(ns, grace=3.0)
    for ns in ours:
        run("ip", "netns", "del", ns, check=False)
