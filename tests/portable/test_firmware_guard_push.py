"""A guard's confirmation pushed by the host (issue 19): the unit opens the door once for the HOLD it showed, and for
nothing else. Plain asserts: runs under pytest and under real MicroPython (tests/firmware)."""

import pintu_protocol as p
from firmware import app
from pintu_protocol import verdicts
from tests.portable.test_firmware_app import CODE, expected, ready_bench, scan_and_answer

HELD_MS = 30 * 60 * 1000  # app._HELD_MS, the longest hold a site can set (a const: not an attribute on MicroPython)


def _push(bench, scan_id, verdict=verdicts.GREEN, run_ms=4000):
    """The host's unsolicited VERDICT for a scan, on the unit's session; -> what the unit's outputs did."""
    bench.recorder.clear()
    bench.host.send(p.Verdict(scan_id, verdict, verdicts.R_GUARD_CONFIRMED, 2, 40, ""))
    bench.run(run_ms)
    return bench.recorder.values()


def _held(bench, run_ms=4000):
    """A scan answered HOLD and shown (the guard_wait pattern ran out): -> its scan id."""
    scan = scan_and_answer(bench, CODE, verdicts.HOLD, run_ms=run_ms)
    assert ("relay", 1) not in bench.recorder.values()  # waiting for the guard: the door stays shut
    return scan.scan


def test_a_confirmation_of_the_hold_shown_opens_the_door_once():
    bench = ready_bench()
    shown = []
    bench.app.on_shown = lambda scan, code: shown.append((scan, code))
    scan_id = _held(bench)
    got = _push(bench, scan_id)
    assert got == expected("admit", 1500, 1500), got  # GREEN's pattern, the relay pulsed once
    assert shown == [(scan_id, verdicts.HOLD), (scan_id, verdicts.GREEN)]
    assert bench.app.last_verdict.reason == verdicts.R_GUARD_CONFIRMED and bench.app.state == app.IDLE
    # Forgotten once used: the same confirmation again (a new frame) opens nothing.
    assert _push(bench, scan_id) == []


def test_a_confirmation_while_the_hold_pattern_still_plays_opens_the_door():
    bench = ready_bench()
    scan_id = _held(bench, run_ms=500)  # the guard confirms at once; guard_wait is still showing
    assert bench.app.feedback.pattern == "guard_wait"
    got = _push(bench, scan_id)
    assert got[0] == ("relay", 1) and got.count(("relay", 1)) == 1, got
    assert bench.app.last_verdict.verdict == verdicts.GREEN


def test_only_a_green_for_the_held_scan_opens_and_nothing_else_unsolicited():
    bench = ready_bench()
    scan_id = _held(bench)
    for other in (scan_id + 1, scan_id - 1):  # another scan's id: ignored as today
        assert _push(bench, other) == []
    for verdict in (verdicts.EXIT, verdicts.HOLD, verdicts.RED, verdicts.YELLOW):  # only GREEN is a confirmation
        assert _push(bench, scan_id, verdict) == []
    assert bench.app.counts["verdicts"] == 1  # the HOLD itself
    assert ("relay", 1) in _push(bench, scan_id)  # still held: the right one opens


def test_a_scan_that_was_not_a_hold_is_never_opened_by_a_push():
    for verdict in (verdicts.GREEN, verdicts.RED, verdicts.FULL, verdicts.BLACK):
        bench = ready_bench()
        scan = scan_and_answer(bench, CODE, verdict)
        assert _push(bench, scan.scan) == [], verdict


def test_a_hold_that_arrived_after_the_timeout_was_shown_offline_and_opens_nothing():
    bench = ready_bench()
    bench.scan(CODE)
    bench.run(3200)  # no verdict in time: OFFLINE shown, the scan queued
    scan = bench.host.read()[0]
    bench.host.send(p.Verdict(scan.scan, verdicts.HOLD, 0, 1, 100, ""))  # late: settles nothing, remembers nothing
    bench.run(100)
    got = _push(bench, scan.scan, run_ms=100)
    assert ("relay", 1) not in got and bench.app.last_verdict is None, got  # the OFFLINE pattern plays on
    assert len(bench.app.queue) == 1  # still queued: its replay tells the host nobody saw any of it


def test_a_confirmation_after_the_longest_hold_opens_nothing():
    bench = ready_bench()
    scan_id = _held(bench)
    bench.clock.advance(HELD_MS)  # the unit idle all that time (a delayed frame, a confused host)
    assert _push(bench, scan_id) == []
    assert bench.app._held is not None  # not taken: a later HOLD replaces it


def test_a_confirmation_is_ignored_while_another_scan_waits_for_its_verdict():
    bench = ready_bench()
    scan_id = _held(bench)
    bench.scan(CODE + b"2")  # someone else is at the scanner now
    bench.run(10)
    assert [type(m) for m in bench.host.read()] == [p.Scan]
    assert bench.app.state == app.WAITING
    assert ("relay", 1) not in _push(bench, scan_id, run_ms=100)


def test_a_newer_hold_replaces_the_older_one():
    bench = ready_bench()
    first = _held(bench)
    bench.run(3000)  # past the repeat window for the same code
    second = scan_and_answer(bench, CODE + b"x", verdicts.HOLD).scan
    assert _push(bench, first) == []
    assert ("relay", 1) in _push(bench, second)


def test_a_confirmation_never_opens_on_the_next_visitors_refusal():
    # Dewi's HOLD shown, she steps aside; Sari scans next and is refused (RED, BLACK, FULL, or the unit shows
    # OFFLINE). A guard's confirmation of Dewi arriving then, or after Sari's pattern ran out, must not open the door
    # in front of Sari: the held scan is forgotten once another scan was shown.
    for verdict in (verdicts.RED, verdicts.BLACK, verdicts.FULL, verdicts.GREEN):
        for run_ms in (300, 4000):  # while the other pattern plays, and once the unit is idle again
            bench = ready_bench()
            scan_id = _held(bench)
            bench.run(3000)  # past the repeat window for the same code
            scan_and_answer(bench, CODE + b"sari", verdict, run_ms=run_ms)
            assert ("relay", 1) not in _push(bench, scan_id), (verdict, run_ms)
            assert bench.app._held is None
    bench = ready_bench()
    scan_id = _held(bench)
    bench.run(3000)
    bench.scan(CODE + b"sari")
    bench.run(3200)  # no verdict in time: OFFLINE shown for Sari
    assert ("relay", 1) not in _push(bench, scan_id)
