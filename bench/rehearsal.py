"""Rehearse failures on several hosts: network namespaces on this one machine.

    sudo .venv/bin/python -m bench.rehearsal [--quick] [--logs DIR]
    sudo .venv/bin/python -m bench.rehearsal --clean   # remove what a killed run left

Builds seven hosts as Linux network namespaces joined by veth pairs on a bridge (itself in
a namespace of its own, so nothing touches the machine's network): ``pg`` (a PostgreSQL
cluster of its own, listening on its namespace address), ``web1`` and ``web2`` (``contentfeed
serve``), ``sched1`` and ``sched2`` (``contentfeed scheduler``), ``lb`` (HAProxy in front of
the web hosts) and ``client`` (bench/rehearsal_load.py: signed leads and tracked-link visits
through the balancer). The script itself reaches the database through the cluster's Unix
socket, as an administrator on the database host would.

During a steady load it injects, one after another with time to recover: (a) kill -9 the
leading scheduler, (b) kill one web host, (c) cut one web host off the database for 10 s,
(d) restart PostgreSQL. Then it waits for routing to settle and prints, per fault window,
what was sent, retried, stored, routed (once or twice), clicks answered and recorded, and
the longest time no scheduler held the leader lock. docs/rehearsal.md says more.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.rehearsal_hosts import PG_BIN, PREFIX, Hosts, address, clean_up, loadavg, namespaces
from bench.rehearsal_tally import Sample, Stored, Window, first_new_holder, table, tally


class Rehearsal(Hosts):
    """The faults under load, and the counting; ``teardown`` undoes everything."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.samples: list[Sample] = []
        self.balancer: list[tuple[float, dict[str, str]]] = []
        self.sampling = threading.Event()
        self.torn_down = False

    def recovered(self) -> bool:
        """Tell whether both web hosts are in the balancer, a scheduler leads and one stands by."""
        standby = [
            h
            for h in ("sched1", "sched2")
            if h in self.processes
            and self.processes[h].poll() is None
            and self.logged(h, "scheduler standing by")
        ]
        return (
            set(self.servers().values()) == {"UP"}
            and len(self.servers()) == 2
            and self.leader() is not None
            and len(standby) == 2
        )

    def sample(self) -> None:
        """Every 0.2 s until stopped: who leads, and what the balancer thinks of each web host."""
        while not self.sampling.wait(0.2):
            self.samples.append(Sample(time.time(), self.leader()))
            states = self.servers()
            if not self.balancer or self.balancer[-1][1] != states:
                self.balancer.append((time.time(), states))

    # --- faults ------------------------------------------------------------------------

    def hold(self, seconds: float, later: list[tuple[float, Callable[[], None]]]) -> None:
        """Let ``seconds`` pass, running each (delay, action) of ``later`` on time."""
        started = time.monotonic()
        pending = sorted(later, key=lambda item: item[0])
        while time.monotonic() - started < seconds:
            while pending and time.monotonic() - started >= pending[0][0]:
                pending.pop(0)[1]()
            time.sleep(0.05)

    def faults(self) -> tuple[list[Window], dict[str, str]]:
        """Run the steady window and the four faults; return the windows and what they showed."""
        args = self.args
        windows: list[Window] = []
        facts: dict[str, str] = {}
        recover = args.window / 2

        def window(name: str) -> None:
            if windows:  # recovery time between faults: wait until all is well again
                waited = time.monotonic()
                self.wait_for(self.recovered, 90, "recovery")
                self.note(f"recovered ({time.monotonic() - waited:.1f} s more)")
            now = time.time()
            if windows:
                windows[-1] = Window(windows[-1].name, windows[-1].start, now)
            windows.append(Window(name, now, now + args.window))

        window("steady")
        self.hold(args.steady, [])
        leader = None
        deadline = time.monotonic() + 20
        while leader is None and time.monotonic() < deadline:
            leader = self.leader()
            time.sleep(0.2)
        if leader is None:
            raise RuntimeError("no scheduler leads")
        window(f"a: leading scheduler ({leader}) killed -9")
        killed_at = time.time()
        self.kill_host(leader)
        self.note(f"(a) killed {leader}, the leading scheduler")

        def scheduler_back() -> None:
            self.start_scheduler(leader)
            self.note(f"{leader} started again (standby)")

        self.hold(args.window, [(recover, scheduler_back)])
        took_over = first_new_holder(self.samples, killed_at, leader)
        facts["a"] = "never" if took_over is None else f"{took_over:.1f} s"

        window("b: web host web1 killed -9")
        self.kill_host("web1")
        self.note("(b) killed web1")

        def web_back() -> None:
            self.start_web("web1")
            self.note("web1 started again")

        self.hold(args.window, [(recover, web_back)])

        window(f"c: web2 cut off the database for {args.cut:.0f} s")
        self.cut_off_database("web2", True)
        self.note(f"(c) web2 cut off the database for {args.cut:.0f} s")

        def cut_over() -> None:
            self.cut_off_database("web2", False)
            self.note("web2 reaches the database again")

        self.hold(args.window, [(args.cut, cut_over)])

        window("d: PostgreSQL restarted")
        self.note("(d) restarting PostgreSQL (pg_ctl restart -m fast)")
        started = time.monotonic()
        self.pg_ctl("-m", "fast", "restart")
        facts["d"] = f"{time.monotonic() - started:.1f} s"
        self.note(f"PostgreSQL answers again after {facts['d']}")
        answering = time.time()
        self.hold(args.window - (time.monotonic() - started), [])
        leading = first_new_holder(self.samples, answering, "")  # "": anyone leading
        facts["d_leader"] = "never" if leading is None else f"{leading:.1f} s"
        windows[-1] = Window(windows[-1].name, windows[-1].start, time.time())
        return windows, facts

    # --- counting ----------------------------------------------------------------------

    def settle(self, seconds: float) -> str:
        """Wait (bounded) until every stored event is processed and every lead routed."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.socket_url(), poolclass=sa.pool.NullPool)
        query = sa.text(
            "SELECT (SELECT count(*) FROM inbound_event WHERE status <> 'processed'), "
            "(SELECT count(*) FROM lead WHERE routed_at IS NULL AND erased_at IS NULL "
            "AND merged_into_id IS NULL)"
        )
        started = time.monotonic()
        waiting = (0, 0)
        while time.monotonic() - started < seconds:
            with engine.connect() as conn:
                row = conn.execute(query).one()
                waiting = (int(row[0]), int(row[1]))
            if waiting == (0, 0):
                break
            time.sleep(1)
        engine.dispose()
        took = time.monotonic() - started
        if waiting != (0, 0):
            return (
                f"NOT settled after {took:.0f} s: {waiting[0]} events, {waiting[1]} leads waiting"
            )
        return f"settled {took:.0f} s after the load ended"

    def stored(self) -> Stored:
        """Read what the database kept: events and their leads, routing lines, clicks."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.socket_url(), poolclass=sa.pool.NullPool)
        with engine.connect() as conn:

            def pairs(sql: str) -> list[tuple[Any, Any]]:
                return [(row[0], row[1]) for row in conn.execute(sa.text(sql))]

            events = dict(
                pairs("SELECT external_id, lead_id FROM inbound_event WHERE source = 'webhook'")
            )
            routed = dict(
                pairs(
                    "SELECT lead_id, count(*) FROM lead_activity "
                    "WHERE kind = 'routed' GROUP BY lead_id"
                )
            )
            clicks = dict(
                pairs(
                    "SELECT t.code, count(*) FROM click c "
                    "JOIN tracked_link t ON t.id = c.link_id GROUP BY t.code"
                )
            )
            leads = conn.scalar(sa.text("SELECT count(*) FROM lead"))
            people = conn.scalar(sa.text("SELECT count(DISTINCT email) FROM lead"))
            waiting = conn.execute(
                sa.text(
                    "SELECT external_id, status, attempts, received_at, error FROM inbound_event "
                    "WHERE status <> 'processed' ORDER BY id"
                )
            ).all()
        engine.dispose()
        if leads != people:
            self.note(f"PROBLEM: {leads} lead rows for {people} people (a lead stored twice)")
        for external_id, status, attempts, received_at, error in waiting:
            self.note(
                f"PROBLEM: event {external_id} is {status} (attempts {attempts}, received "
                f"{received_at:%H:%M:%S.%f}, error {error[:200]!r}): no lead yet"
            )
        return Stored(events, routed, clicks)

    def log_findings(self) -> list[str]:
        """Return the 5xx answers and tracebacks each host's log shows."""
        found = []
        for log in sorted(self.workdir.glob("*.log")):
            text = log.read_text(errors="replace")
            fives = sum(1 for line in text.splitlines() if '" 50' in line and "HTTP/" in line)
            tracebacks = text.count("Traceback")
            if fives or tracebacks:
                found.append(f"{log.stem}: {fives} answers 5xx, {tracebacks} tracebacks")
        return found

    # --- the whole run -----------------------------------------------------------------

    def rehearse(self) -> int:
        """Build everything, load it, inject the faults, count and print; 0 when clean."""
        args = self.args
        load_seconds = args.warmup + args.steady + 4 * args.window
        self.build_network()
        self.start_database()
        secret, codes = self.prepare_data(int(args.clicks * (load_seconds + 120)))
        codes_file = self.workdir / "codes.txt"
        codes_file.write_text("\n".join(codes) + "\n")
        self.start_balancer()
        for host in ("web1", "web2"):
            self.start_web(host)
        self.wait_for(lambda: set(self.servers().values()) == {"UP"}, 60, "web hosts")
        self.start_scheduler("sched1")
        self.wait_for(lambda: self.leader() == "sched1", 30, "sched1's leadership")
        # The first leader fills the sellers' feeds at once; let that pass before the load.
        self.wait_for(lambda: self.logged("sched1", "suggestions.fill_feeds done"), 120, "feeds")
        self.start_scheduler("sched2")
        self.wait_for(lambda: self.logged("sched2", "scheduler standing by"), 60, "sched2")
        self.note("balancer sees web1 and web2 UP; sched1 leads, sched2 stands by")
        sampler = threading.Thread(target=self.sample, daemon=True)
        sampler.start()
        out = self.workdir / "load.json"
        load = [
            *(str(sys.executable), "-m", "bench.rehearsal_load"),
            *("--base", f"http://{address('lb')}", "--secret", secret),
            *("--codes", str(codes_file), "--out", str(out)),
            *("--leads", str(args.leads), "--clicks", str(args.clicks)),
            *("--seconds", str(load_seconds + 600)),  # stopped by SIGTERM long before
        ]
        self.start("client", load)
        self.note(f"load: {args.leads:g} leads/s and {args.clicks:g} visits/s through lb")
        self.note(f"machine load average {loadavg()}")
        # Fresh workers answer their first requests slowly (imports, templates, pools):
        # the warm-up's leads and clicks fall before the first window and are not counted.
        self.hold(args.warmup, [])
        windows, facts = self.faults()
        self.processes["client"].send_signal(signal.SIGTERM)
        self.note("load stopped; the sender finishes its retries")
        self.processes["client"].wait(timeout=120)
        settled = self.settle(args.settle)
        self.note(settled)
        self.sampling.set()
        sampler.join(timeout=5)
        results = json.loads(out.read_text())
        rows = tally(windows, results["leads"], results["clicks"], self.stored(), self.samples)
        print()
        print(table(rows))
        print()
        print(f"- standby led {facts['a']} after the leader was killed (goal: within 5 s)")
        print(
            f"- PostgreSQL restart took {facts['d']} (pg_ctl restart -m fast); a scheduler "
            f"led again {facts['d_leader']} after it answered"
        )
        print(f"- routing {settled}")
        print(f"- machine load average at the end: {loadavg()}")
        for at, states in self.balancer:
            view = ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
            print(f"- {datetime.fromtimestamp(at, UTC):%H:%M:%S.%f}"[:-4] + f" balancer: {view}")
        for line in self.log_findings():
            print(f"- log {line}")
        clean = all(r.is_clean for r in rows) and facts["a"] != "never"
        print("\nOK: nothing lost, nothing twice" if clean else "\nPROBLEMS: see the table")
        return 0 if clean else 1

    def teardown(self) -> None:
        """Stop every process, delete the namespaces and the folder; safe to call twice."""
        if self.torn_down:
            return
        self.torn_down = True
        self.sampling.set()
        if self.args.logs:
            target = Path(self.args.logs)
            target.mkdir(parents=True, exist_ok=True)
            for log in [*self.workdir.glob("*.log"), *self.workdir.glob("*.json")]:
                shutil.copy(log, target / log.name)
        # Not started, or already gone: its namespace is emptied below anyway.
        with contextlib.suppress(RuntimeError, subprocess.SubprocessError, OSError):
            self.pg_ctl("-m", "immediate", "stop")
        clean_up()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short windows (about 90 s of load)")
    parser.add_argument("--leads", type=float, default=10.0, help="leads per second")
    parser.add_argument("--clicks", type=float, default=20.0, help="visits per second")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load not counted")
    parser.add_argument("--steady", type=float, default=20.0, help="seconds before the first fault")
    parser.add_argument("--window", type=float, default=30.0, help="seconds per fault window")
    parser.add_argument("--cut", type=float, default=10.0, help="seconds web2 is cut off")
    parser.add_argument("--poll", type=float, default=2.0, help="the schedulers' --poll")
    parser.add_argument("--settle", type=float, default=180.0, help="longest wait for routing")
    parser.add_argument("--logs", help="copy every host's log and the client's results here")
    parser.add_argument("--clean", action="store_true", help="remove a killed run's leftovers")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces, a PostgreSQL cluster of its own)")
        return 2
    if args.clean:
        clean_up()
        for folder in Path(tempfile.gettempdir()).glob("cfrehearsal-*"):
            shutil.rmtree(folder, ignore_errors=True)
        return 0
    if any(ns.startswith(PREFIX) for ns in namespaces()):
        print(f"{PREFIX}* namespaces exist (another run, or a killed one): --clean removes them")
        return 2
    if args.quick:
        args.steady, args.window, args.settle = 8.0, 18.0, 120.0
    missing = [t for t in ("haproxy", "iptables", "runuser") if shutil.which(t) is None]
    if missing or not (PG_BIN / "initdb").exists():
        print(f"missing: {', '.join(missing) or PG_BIN / 'initdb'} (apt-get install ...)")
        return 2
    rehearsal = Rehearsal(args)
    atexit.register(rehearsal.teardown)

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    try:
        return rehearsal.rehearse()
    except KeyboardInterrupt:
        print("interrupted: tearing down")
        return 130
    finally:
        rehearsal.teardown()


if __name__ == "__main__":
    sys.exit(main())
