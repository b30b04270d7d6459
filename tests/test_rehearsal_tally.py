"""The rehearsal's counting (bench/rehearsal_tally.py): the rehearsal itself needs root and
namespaces and is run by hand, so its arithmetic is held here. A table that says "nothing
lost" must not be able to say it when a lead was lost, doubled or a click went unrecorded."""

from __future__ import annotations

from typing import Any

from bench.rehearsal_tally import (
    Sample,
    Stored,
    Window,
    first_new_holder,
    longest_leaderless,
    table,
    tally,
)

WINDOWS = [Window("steady", 0.0, 10.0), Window("a: killed", 10.0, 20.0)]


def lead(n: int, at: float, *answers: str) -> dict[str, Any]:
    outcome = "accepted" if answers[-1] == "202" else "gave_up"
    attempts = [(at + i, a) for i, a in enumerate(answers)]
    return {"n": n, "webhook_id": f"msg_{n}", "at": at, "attempts": attempts, "outcome": outcome}


def test_each_lead_and_click_is_counted_in_the_window_it_was_sent_in() -> None:
    leads = [
        lead(0, 1.0, "202"),
        lead(1, 11.0, "502", "503", "202"),  # retried, then stored and routed twice
        lead(2, 12.0, "504", "202"),  # accepted, but nothing stored: lost
        lead(3, 25.0, "ConnectionError", "ConnectionError"),  # after the end: the last window
    ]
    clicks = [
        {"n": 0, "code": "aaa", "at": 2.0, "answer": "302"},
        {"n": 1, "code": "bbb", "at": 13.0, "answer": "302"},  # answered, never recorded
        {"n": 2, "code": "ccc", "at": 14.0, "answer": "503"},
        {"n": 3, "code": "ddd", "at": 15.0, "answer": "302"},  # recorded twice
    ]
    stored = Stored(
        events={"msg_0": 100, "msg_1": 101, "msg_3": 103},
        routed_lines={100: 1, 101: 2, 103: 1},
        clicks={"aaa": 1, "ddd": 2},
    )
    samples = [Sample(9.9, "sched1"), Sample(10.1, None), Sample(13.0, None), Sample(14.1, "s2")]

    steady, killed = tally(WINDOWS, leads, clicks, stored, samples)

    assert (steady.leads_sent, steady.stored, steady.routed, steady.lost) == (1, 1, 1, 0)
    assert (steady.clicks_answered, steady.clicks_recorded, steady.answered_unrecorded) == (1, 1, 0)
    assert steady.is_clean
    assert (killed.leads_sent, killed.retried, killed.gave_up) == (3, 3, 1)
    assert (killed.stored, killed.routed, killed.routed_twice, killed.lost) == (2, 2, 1, 1)
    assert killed.lead_answers["ConnectionError"] == 2 and killed.lead_answers["502"] == 1
    assert (killed.clicks_sent, killed.clicks_answered, killed.answered_unrecorded) == (3, 2, 1)
    assert (killed.clicks_recorded, killed.clicks_twice) == (1, 1)
    assert killed.click_answers == {"503": 1}
    assert round(killed.leaderless, 1) == 4.2  # from the last sight of sched1 to s2's
    assert not killed.is_clean


def test_a_leaderless_stretch_still_open_at_the_window_end_is_flagged() -> None:
    samples = [Sample(1.0, "sched1"), Sample(2.0, None), Sample(9.0, None)]
    assert longest_leaderless(samples, 0.0, 10.0) == (9.0, True)
    assert longest_leaderless([Sample(1.0, "sched1"), Sample(2.0, "sched1")], 0.0, 10.0) == (
        0.0,
        False,
    )
    assert first_new_holder([Sample(1.0, "sched1"), Sample(3.5, "sched2")], 0.5, "sched1") == 3.0
    assert first_new_holder([Sample(1.0, "sched1")], 0.5, "sched1") is None


def test_the_table_has_a_line_per_window_and_a_total() -> None:
    rows = tally(
        WINDOWS,
        [lead(0, 1.0, "202"), lead(1, 11.0, "503", "202")],
        [],
        Stored({"msg_0": 1, "msg_1": 2}, {1: 1, 2: 1}, {}),
        [],
    )
    text = table(rows).splitlines()
    assert len(text) == 2 + len(WINDOWS) + 1
    assert all(line.count("|") == text[0].count("|") for line in text)
    assert text[3].startswith("| a: killed | 1 | 1 | 0 | 1 | 1 | 0 | 0 | 503 x1 |")
    assert text[-1].startswith("| **all** | 2 | 1 | 0 | 2 | 2 | 0 | 0 | 503 x1 |")
