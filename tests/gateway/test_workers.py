"""Several gateway workers on one database (issue 16): a unit's frames decided in any order by any worker, each
accepted once; replays refused; refusals logged at most once per device per interval."""

import logging
import random

import pintu_protocol as p
from pintu.checkin import events
from pintu.data import replay_window as rw
from pintu.data.datadir import DataDir
from pintu.gateway.counted_log import CountedLog
from pintu.gateway.gateway import Gateway, security
from pintu_protocol.verdicts import GREEN

from .test_gateway import Unit, ask


def heartbeat(unit):
    return unit.session.send(p.Heartbeat(1, 0, 0, 0, 0, ""))


def test_the_window_accepts_each_counter_once_in_any_order():
    # Within the window, any order: a reordering of up to 63 places is never taken for a replay.
    order = sorted(range(1, 200), key=lambda n: n + random.Random(n).randrange(60))
    top, seen = 0, 0
    for n in order:
        outcome, top, seen = rw.slide(top, seen, n)
        assert outcome == rw.ACCEPTED, n
        assert rw.slide(top, seen, n)[0] == rw.DUPLICATE
    assert top == 199 and rw.slide(top, seen, 199 - 64)[0] == rw.TOO_OLD
    assert rw.slide(top, seen, 199 + 64)[2] == 1  # a jump past the window forgets it
    for seen in (0, 1, (1 << 63), (1 << 64) - 1):  # the signed 64-bit column holds every map
        assert rw.from_column(rw.to_column(seen)) == seen and -(1 << 63) <= rw.to_column(seen) < (1 << 63)


def test_frames_delivered_out_of_order_are_all_accepted_once(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    scan = unit.scan(office.codes["budi"])
    beats = [heartbeat(unit) for _ in range(10)]
    # The heartbeats right after the scan are handled first (another worker was quicker): the scan still counts.
    for frame in beats:
        assert ask(gw, frame) == []
    verdict = unit.answer(ask(gw, scan))
    assert verdict.verdict == GREEN and office.data.store.count_inside("kantor") == 1
    assert gw.stats["refused_replay"] == 0 and gw.stats["SCAN"] == 1
    # Every one of them again is a duplicate: nothing decided twice.
    for frame in [scan, *beats]:
        ask(gw, frame)
    assert gw.stats["duplicate"] == 11 and office.data.store.count_inside("kantor") == 1
    assert len(events.list_events(office.data)) == 1


def test_two_gateways_on_one_database_share_a_units_frames(office):
    """Two workers (two gateways, each with its own connection to the one database) get one unit's frames split
    between them and out of order: every authentic frame is accepted once, whichever worker takes it; a replay to
    either worker is refused."""
    other = DataDir(office.path)
    try:
        workers = [Gateway(office.data), Gateway(other)]
        unit = Unit(office.units["door-1"])
        frames = []
        for name in ("budi", "dewi"):
            frames.append(("scan", unit.scan(office.codes[name])))
            frames += [("beat", heartbeat(unit)) for _ in range(3)]
        rng = random.Random(16)
        delivered = frames[:]
        for i in range(0, len(delivered) - 1, 2):  # swap neighbours: each scan loses the race to a heartbeat
            delivered[i], delivered[i + 1] = delivered[i + 1], delivered[i]
        answers = []
        for _, frame in delivered:
            answers += ask(workers[rng.randrange(2)], frame)
        assert [unit.session.receive(a).verdict for a in answers] == [GREEN, GREEN]
        assert office.data.store.count_inside("kantor") == 2
        # A replay of every frame to the other worker: no decision, no count.
        for _, frame in frames:
            ask(workers[1], frame)
        assert sum(w.stats["refused_replay"] + w.stats["refused_bad_tag"] for w in workers) == 0
        assert sum(w.stats["duplicate"] for w in workers) == len(frames)
        assert office.data.store.count_inside("kantor") == 2 and len(events.list_events(office.data)) == 2
    finally:
        other.close()


def test_refused_frames_are_logged_once_per_device_per_interval_with_a_count(office, caplog):
    gw = Gateway(office.data)
    caplog.set_level(logging.WARNING, logger="pintu.security")
    for i in range(1000):  # junk from door-1's login: on its topic, but no frame at all
        ask(gw, b"\x00junk%d" % i, origin=("kantor", "door-1"))
    assert gw.stats["refused_malformed"] == 1000
    lines = [r.getMessage() for r in caplog.records if r.name == "pintu.security"]
    assert len(lines) == 1 and "door-1" in lines[0]
    gw.close()  # a stopping worker says what it held back
    lines = [r.getMessage() for r in caplog.records if r.name == "pintu.security"]
    assert len(lines) == 2 and "999 malformed" in lines[1]


def test_refusal_log_says_the_count_when_the_interval_is_over(caplog):
    now = [0.0]
    log = CountedLog(security, "refused from %s", interval_s=60, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="pintu.security")
    for _ in range(500):
        log.note("door-1", "bad_tag", "tag")
        log.note("door-2", "replay", "counter 1")
    assert len(caplog.records) == 2
    now[0] = 61.0
    log.note("door-1", "bad_tag", "tag")
    assert len(caplog.records) == 3 and "500 bad_tag" in caplog.records[-1].getMessage()


def test_counter_zero_is_never_accepted():
    """Counters start at 1: a window that reaches below 1 (fewer than 64 frames so far) must not take a 0."""
    assert rw.slide(0, 0, 0)[0] == rw.TOO_OLD
    assert rw.slide(5, 0b11111, 0)[0] == rw.TOO_OLD


def test_two_workers_racing_for_the_same_counters_accept_each_once(office):
    """The window's read-modify-write is atomic across connections: two workers given every counter of a unit, in
    different orders and at the same time, accept each counter exactly once between them."""
    import threading

    other = DataDir(office.path)
    try:
        stores = [office.data.store, other.store]
        counters = list(range(1, 301))
        orders = [sorted(counters, key=lambda n, s=s: n + random.Random(n * 7 + s).randrange(40)) for s in (1, 2)]
        accepted = [[], []]

        def work(i):
            for n in orders[i]:
                if stores[i].accept_rx_counter("door-1", n) == rw.ACCEPTED:
                    accepted[i].append(n)

        threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(accepted[0] + accepted[1]) == counters
        assert [stores[0].next_tx_counter("door-1") for _ in range(3)] == [1, 2, 3]
    finally:
        other.close()
