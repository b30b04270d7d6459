"""The rehearsal's counts: per fault window, what the client sent and what the database kept.

Pure functions over plain data (the client's results, rows read from the database, the
samples of who held the scheduler's advisory lock), so the arithmetic is tested without
namespaces or root (tests/test_rehearsal_tally.py). bench/rehearsal.py gathers the data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Window:
    """A stretch of the run: a fault injected at ``start``, the recovery until ``end``."""

    name: str
    start: float
    end: float


@dataclass(frozen=True)
class Stored:
    """What the database holds after routing settled, keyed the way the client knows it."""

    # webhook-id -> the lead made from the event (None while unprocessed)
    events: Mapping[str, int | None]
    # lead id -> how many "routed" lines its history has
    routed_lines: Mapping[int, int]
    # tracked-link code -> requests in the click ledger
    clicks: Mapping[str, int]


@dataclass(frozen=True)
class Sample:
    """Who held the scheduler's advisory lock at ``at`` (None: nobody, or no answer)."""

    at: float
    holder: str | None


@dataclass
class Row:
    """One line of the table."""

    window: str
    leads_sent: int = 0
    retried: int = 0
    gave_up: int = 0
    stored: int = 0
    routed: int = 0
    routed_twice: int = 0
    lost: int = 0
    lead_answers: Counter[str] = field(default_factory=Counter)
    clicks_sent: int = 0
    clicks_answered: int = 0
    clicks_recorded: int = 0
    clicks_twice: int = 0
    answered_unrecorded: int = 0
    click_answers: Counter[str] = field(default_factory=Counter)
    leaderless: float = 0.0
    leaderless_open: bool = False

    @property
    def is_clean(self) -> bool:
        """Nothing lost, nothing twice, every answered click recorded once, a leader within 5 s."""
        return (
            self.lost == 0
            and self.routed_twice == 0
            and self.gave_up == 0
            and self.stored == self.routed == self.leads_sent
            and self.answered_unrecorded == 0
            and self.clicks_twice == 0
            and not self.leaderless_open
            and self.leaderless <= 5.0
        )


def window_of(windows: Sequence[Window], at: float) -> Window | None:
    """Return the window a moment falls in (the last one keeps what comes after its end)."""
    for window in windows:
        if window.start <= at < window.end:
            return window
    if windows and at >= windows[-1].end:
        return windows[-1]
    return None


def longest_leaderless(samples: Sequence[Sample], start: float, end: float) -> tuple[float, bool]:
    """Return the longest time without a lock holder inside [start, end), and whether that
    stretch was still open at ``end``.

    A stretch runs from the last sample that saw a holder to the first that saw one again
    (so it errs long by up to one sampling interval, never short).
    """
    longest, is_open = 0.0, False
    last_held: float | None = start
    gap_from: float | None = None
    for sample in samples:
        if sample.at < start:
            if sample.holder is not None:
                last_held = sample.at
            continue
        if sample.at >= end:
            break
        if sample.holder is None:
            if gap_from is None:
                gap_from = last_held if last_held is not None else sample.at
        else:
            if gap_from is not None:
                longest = max(longest, sample.at - gap_from)
                gap_from = None
            last_held = sample.at
    if gap_from is not None:
        longest, is_open = max(longest, end - gap_from), True
    return longest, is_open


def first_new_holder(samples: Iterable[Sample], after: float, old: str) -> float | None:
    """Return how long after ``after`` a holder other than ``old`` was first seen."""
    for sample in samples:
        if sample.at >= after and sample.holder not in (None, old):
            return sample.at - after
    return None


def tally(
    windows: Sequence[Window],
    leads: Iterable[Mapping[str, Any]],
    clicks: Iterable[Mapping[str, Any]],
    stored: Stored,
    samples: Sequence[Sample],
) -> list[Row]:
    """Count, per window, the leads and clicks the client sent in it and what became of them."""
    rows = {w.name: Row(w.name) for w in windows}
    for lead in leads:
        window = window_of(windows, float(lead["at"]))
        if window is None:
            continue
        row = rows[window.name]
        answers = [answer for _at, answer in lead["attempts"]]
        row.leads_sent += 1
        row.retried += len(answers) > 1
        row.gave_up += lead["outcome"] != "accepted"
        row.lead_answers.update(a for a in answers if a != "202")
        lead_id = stored.events.get(str(lead["webhook_id"]))
        if lead_id is None:
            row.lost += 1
            continue
        row.stored += 1
        lines = stored.routed_lines.get(lead_id, 0)
        row.routed += lines > 0
        row.routed_twice += lines > 1
    for click in clicks:
        window = window_of(windows, float(click["at"]))
        if window is None:
            continue
        row = rows[window.name]
        answer = str(click["answer"])
        recorded = stored.clicks.get(str(click["code"]), 0)
        row.clicks_sent += 1
        row.clicks_recorded += min(recorded, 1)
        row.clicks_twice += recorded > 1
        if answer == "302":
            row.clicks_answered += 1
            row.answered_unrecorded += recorded == 0
        else:
            row.click_answers[answer] += 1
    for window in windows:
        rows[window.name].leaderless, rows[window.name].leaderless_open = longest_leaderless(
            samples, window.start, window.end
        )
    return [rows[w.name] for w in windows]


def answers_text(answers: Counter[str]) -> str:
    """Return answers as "502 x3, ReadTimeout x1" (most frequent first), or a dash."""
    return ", ".join(f"{a} x{n}" for a, n in answers.most_common()) or "-"


def table(rows: Sequence[Row]) -> str:
    """Return the rows as a Markdown table."""
    head = (
        "| window | leads sent | retried | gave up | stored | routed | routed twice | lost "
        "| other lead answers | clicks sent | answered 302 | recorded | recorded twice "
        "| 302 not recorded "
        "| other click answers | longest without leader |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        leader = f"{r.leaderless:.1f} s" + (" (still none)" if r.leaderless_open else "")
        lines.append(
            f"| {r.window} | {r.leads_sent} | {r.retried} | {r.gave_up} | {r.stored} "
            f"| {r.routed} | {r.routed_twice} | {r.lost} | {answers_text(r.lead_answers)} "
            f"| {r.clicks_sent} | {r.clicks_answered} | {r.clicks_recorded} "
            f"| {r.clicks_twice} | {r.answered_unrecorded} "
            f"| {answers_text(r.click_answers)} | {leader} |"
        )
    total = Row("**all**")
    for r in rows:
        for name in (
            "leads_sent",
            "retried",
            "gave_up",
            "stored",
            "routed",
            "routed_twice",
            "lost",
            "clicks_sent",
            "clicks_answered",
            "clicks_recorded",
            "clicks_twice",
            "answered_unrecorded",
        ):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.lead_answers.update(r.lead_answers)
        total.click_answers.update(r.click_answers)
    longest = max((r.leaderless for r in rows), default=0.0)
    lines.append(
        f"| {total.window} | {total.leads_sent} | {total.retried} | {total.gave_up} "
        f"| {total.stored} | {total.routed} | {total.routed_twice} | {total.lost} "
        f"| {answers_text(total.lead_answers)} | {total.clicks_sent} | {total.clicks_answered} "
        f"| {total.clicks_recorded} | {total.clicks_twice} | {total.answered_unrecorded} "
        f"| {answers_text(total.click_answers)} | {longest:.1f} s |"
    )
    return "\n".join(lines)
