"""The rehearsal's client host: signed leads and tracked-link visits through the balancer.

Run inside the client's network namespace by bench/rehearsal.py (not by hand):

    python -m bench.rehearsal_load --base http://10.77.0.40 --secret whsec_... \
        --codes codes.txt --out load.json --seconds 200

Leads go out at ``--leads`` per second, each a distinct person with a webhook-id of its
own, signed with the standardwebhooks library. Like a Standard Webhooks sender, a delivery
answered with a 5xx, 408 or 429, or not answered (a time-out, a refused or reset
connection), is delivered again with the same webhook-id and a fresh signature, after a
pause that doubles, until it is accepted or its retry time is up. Visits of /r/<code> go
out at ``--clicks`` per second, one try each as a browser makes, every one on a link of
its own (so each answer can be matched with its row in the click ledger); the redirect is
not followed (its target is outside). Sending stops on SIGTERM or after ``--seconds``;
the deliveries still retrying finish (bounded by their retry time), then everything is
written to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import requests
from standardwebhooks import Webhook

TIMEOUT = (3.0, 15.0)  # connect, read: longer than the balancer's 10 s server time-out
RETRY_FOR = 60.0  # seconds a delivery is retried before the sender gives up
FIRST_PAUSE, LONGEST_PAUSE = 0.5, 8.0
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"
RETRIED_STATUSES = {408, 429}

local = threading.local()


def session() -> requests.Session:
    """Return this thread's HTTP session (keep-alive to the balancer; sessions are not shared)."""
    own: requests.Session | None = getattr(local, "session", None)
    if own is None:
        own = local.session = requests.Session()
    return own


def answer_of(send: Callable[[], requests.Response]) -> str:
    """Call ``send()`` and return the status as text, or the error's name when none came."""
    try:
        return str(send().status_code)
    except requests.RequestException as error:
        return type(error).__name__


def is_retried(answer: str) -> bool:
    """Tell whether a sender delivers again after this answer (5xx, 408, 429, no answer)."""
    if not answer.isdigit():
        return True
    status = int(answer)
    return status >= 500 or status in RETRIED_STATUSES


def lead_body(n: int, code: str) -> str:
    """Return lead ``n``'s JSON body: a person of its own, carrying a tracked-link code."""
    return json.dumps(
        {
            "email": f"visitor{n}@rehearsal{n % 97}.example",
            "first_name": "Visitor",
            "last_name": f"Number{n}",
            "company": f"Rehearsal {n % 97}",
            "country": "DE",
            "consent": True,
            "utm_source": "linkedin",
            "utm_medium": "social",
            "utm_content": code,
        }
    )


def deliver(base: str, hook: Webhook, n: int, code: str) -> dict[str, Any]:
    """Deliver lead ``n`` until accepted, refused for good, or out of retry time."""
    msg_id = f"msg_rehearsal_{n}"
    body = lead_body(n, code)
    first = time.time()
    attempts: list[tuple[float, str]] = []
    pause = FIRST_PAUSE
    outcome = "gave_up"
    while True:
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": hook.sign(msg_id, now, body),
        }
        at = time.time()
        answer = answer_of(
            partial(
                session().post,
                f"{base}/api/v1/webhooks/leads",
                data=body,
                headers=headers,
                timeout=TIMEOUT,
            )
        )
        attempts.append((at, answer))
        if answer.startswith("2"):
            outcome = "accepted"
            break
        if not is_retried(answer):
            outcome = "refused"
            break
        if time.time() + pause > first + RETRY_FOR:
            break
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)
    return {"n": n, "webhook_id": msg_id, "at": first, "attempts": attempts, "outcome": outcome}


def visit(base: str, n: int, code: str) -> dict[str, Any]:
    """Follow tracked link ``code`` once, as a browser coming from LinkedIn would."""
    at = time.time()
    answer = answer_of(
        partial(
            session().get,
            f"{base}/r/{code}",
            headers={"User-Agent": USER_AGENT, "Referer": "https://www.linkedin.com/feed/"},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
    )
    return {"n": n, "code": code, "at": at, "answer": answer}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Send at the given rates until stopped, wait for the retries, return every result."""
    codes = Path(args.codes).read_text().split()
    hook = Webhook(args.secret)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lead_pool = ThreadPoolExecutor(max_workers=400, thread_name_prefix="lead")
    click_pool = ThreadPoolExecutor(max_workers=100, thread_name_prefix="click")
    leads: list[Future[dict[str, Any]]] = []
    clicks: list[Future[dict[str, Any]]] = []
    started = time.monotonic()
    while not stop.is_set() and time.monotonic() - started < args.seconds:
        elapsed = time.monotonic() - started
        while len(leads) < int(elapsed * args.leads):
            n = len(leads)
            leads.append(lead_pool.submit(deliver, args.base, hook, n, codes[n % len(codes)]))
        while len(clicks) < int(elapsed * args.clicks) and len(clicks) < len(codes):
            n = len(clicks)
            clicks.append(click_pool.submit(visit, args.base, n, codes[-1 - n]))
        stop.wait(0.02)
    sent_until = time.time()
    lead_pool.shutdown(wait=True)  # each delivery ends within RETRY_FOR plus one time-out
    click_pool.shutdown(wait=True)
    return {
        "sent_until": sent_until,
        "leads": [f.result() for f in leads],
        "clicks": [f.result() for f in clicks],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the balancer's address")
    parser.add_argument("--secret", required=True, help="the webhook signing secret")
    parser.add_argument("--codes", required=True, help="a file of tracked-link codes")
    parser.add_argument("--out", required=True, help="where the results are written")
    parser.add_argument("--leads", type=float, default=10.0, help="leads per second")
    parser.add_argument("--clicks", type=float, default=20.0, help="visits per second")
    parser.add_argument("--seconds", type=float, default=300.0, help="longest sending time")
    args = parser.parse_args()
    Path(args.out).write_text(json.dumps(run(args)))


if __name__ == "__main__":
    main()
