"""The door unit's state machine, end to end on fakes: scanner bytes in, exact frames out, verdicts in, recorded
LED/buzzer/relay steps out. Plain asserts: runs under pytest and under real MicroPython (tests/firmware)."""

import json

import pintu_protocol as p
from firmware import feedback, unit
from firmware.hw_fake import MemFiles
from firmware.testbench import TEST_KEY, Bench, bench_config
from pintu_protocol import verdicts
from pintu_protocol.counters import MemoryCounters

try:
    HERE = __file__.rsplit("/", 1)[0]
except NameError:  # pragma: no cover
    HERE = "."
BOARDS = HERE + "/../../boards"
DOOR = "esp32-devkitc-gm65"
CODE = b"PINTU1:Zm9vYmFyYmF6cXV4LXRva2VuLTAwMQ"


def load_board(name=DOOR):
    with open("%s/%s.json" % (BOARDS, name)) as f:
        return json.load(f)


def ready_bench(**config):
    """A booted unit whose HELLO the host has read; recorder cleared."""
    board = load_board(config.pop("board_name", DOOR))
    cfg = bench_config(board=board["name"])
    for k, v in config.items():
        cfg[k] = v
    bench = Bench(board, cfg)
    bench.run(20)
    hello = bench.host.read()
    assert [type(m) for m in hello] == [p.Hello], hello
    bench.host.configure(bench.app.settings)  # as the host answers a HELLO: the unit stops repeating it
    bench.run(10)
    assert [type(m) for m in bench.host.read()] == [p.Ack]
    bench.recorder.clear()
    return bench


def scan_and_answer(bench, code, verdict, run_ms=4000):
    bench.scan(code)
    bench.run(10)
    sent = bench.host.read()
    assert len(sent) == 1 and type(sent[0]) is p.Scan, sent
    bench.host.send(p.Verdict(sent[0].scan, verdict, 0, 1, 100, ""))
    bench.run(run_ms)
    return sent[0]


def expected(pattern, hold_ms, relay_ms):
    """The (device, value) sequence a pattern must produce, derived from feedback.PATTERNS."""
    steps = feedback.PATTERNS[pattern]
    out = [("relay", 1)] if relay_ms else []
    t = 0
    relay_open = bool(relay_ms)
    for i in range(0, len(steps), feedback.STEP):
        ms, colour, tone = steps[i : i + feedback.STEP]
        if relay_open and t >= relay_ms:
            out.append(("relay", 0))
            relay_open = False
        out += [("led", colour), ("buzzer", tone)]
        t += hold_ms if i == len(steps) - feedback.STEP else ms
    if relay_open and t >= relay_ms:  # closes before the end of the last step
        out.append(("relay", 0))
    return out + [("led", "off"), ("buzzer", 0)]


def test_scan_sends_the_exact_frame_and_admit_plays_the_admit_pattern():
    bench = ready_bench()
    bench.scan(CODE)
    bench.run(10)
    wire = bench.stream.take()
    # Counter 1 was the HELLO, 2 the ACK of the CONFIG, 3 became the scan id, so the SCAN is frame 4 carrying scan 3.
    reference = p.Session("door-1", TEST_KEY, p.UNIT, MemoryCounters(tx=3))
    assert wire == p.encode_stream(reference.send(p.Scan(3, "main", p.IN, CODE)))
    scan = bench.host.read(wire)[0]
    assert scan == p.Scan(3, "main", p.IN, CODE)
    start = bench.clock.now_ms
    bench.host.send(p.Verdict(3, verdicts.GREEN, verdicts.R_OK, 1, 100, ""))
    bench.run(4000)
    assert bench.recorder.values() == [
        ("relay", 1), ("led", "green"), ("buzzer", 2000),
        ("led", "green"), ("buzzer", 0),
        ("relay", 0),
        ("led", "off"), ("buzzer", 0),
    ]
    times = dict(((d, v), t) for (t, d, v) in bench.recorder.events)
    assert times[("relay", 0)] - times[("relay", 1)] == 1500  # relay_ms default
    assert times[("relay", 1)] - start <= 10
    assert bench.app.state == 0 and bench.app.last_verdict.verdict == verdicts.GREEN


def test_every_verdict_plays_its_pattern_and_only_admits_open_the_relay():
    for code in (verdicts.GREEN, verdicts.YELLOW, verdicts.RED, verdicts.BLACK, verdicts.FULL, verdicts.INVALID,
                 verdicts.EXIT, verdicts.OFFLINE, verdicts.HOLD, verdicts.GUARD_IDLE, 99, 255):
        bench = ready_bench()
        scan_and_answer(bench, CODE, code, run_ms=6000)
        relay = 1500 if code in (verdicts.GREEN, verdicts.EXIT) else 0
        got = bench.recorder.values()
        assert got == expected(verdicts.verdict_pattern(code), 1500, relay), (code, got)
        assert (("relay", 1) in got) == verdicts.opens_door(code)


def test_black_is_an_unmistakable_alarm_and_full_a_distinct_wait():
    bench = ready_bench()
    scan_and_answer(bench, CODE, verdicts.BLACK, run_ms=6000)
    tones = [v for (d, v) in bench.recorder.values() if d == "buzzer" and v]
    assert len(tones) >= 16 and ("relay", 1) not in bench.recorder.values()
    assert feedback.PATTERNS["wait"] != feedback.PATTERNS["refuse"] != feedback.PATTERNS["alarm"]
    assert len(set(feedback.PATTERNS[verdicts.verdict_pattern(c)] for c in verdicts.VERDICTS)) == len(verdicts.VERDICTS)


def test_waiting_for_the_guard_has_its_own_pattern_and_an_older_unit_shows_it_as_refusal():
    assert verdicts.verdict_pattern(verdicts.HOLD) == "guard_wait"
    assert verdicts.verdict_pattern(verdicts.GUARD_IDLE) == "guard_idle"
    waiting = feedback.PATTERNS["guard_wait"]
    assert waiting[1] == "yellow" and waiting != feedback.PATTERNS["guard_check"]
    assert not verdicts.opens_door(verdicts.HOLD) and not verdicts.opens_door(verdicts.GUARD_IDLE)
    # A unit built before HOLD knew only the first eight patterns: code 8 is outside them, so it refuses.
    older = verdicts.PATTERNS[:8]
    assert verdicts.HOLD >= len(older) and verdicts.GUARD_IDLE >= len(older)


def test_garbage_and_half_codes_are_dropped_without_crashing():
    bench = ready_bench()
    reader = bench.app.scanner.reader
    uart = bench.hardware.scanner_uart
    uart.feed(b"\x01\x9f\x00\xffnoise\x1b[0m\r")  # line noise with a terminator
    uart.feed(b"ab\r")  # too short to be a code
    bench.run(50)
    uart.feed(b"PINTU1:half-a-co")  # then the visitor pulls the phone away: no terminator
    bench.run(1000)
    bench.scan(b"PINTU1:whole-code")
    bench.run(20)
    sent = bench.host.read()
    assert [m.code for m in sent] == [b"PINTU1:whole-code"], sent
    assert reader.noise == 2 and reader.partial == 1
    assert bench.app.errors == 0


def test_over_long_codes_are_dropped_and_the_longest_allowed_passes():
    bench = ready_bench(max_code=64)
    bench.scan(b"A" * 65)
    bench.scan(b"B" * 5000)  # far past the limit: never buffered whole
    bench.run(20)
    assert bench.host.read() == []
    assert bench.app.scanner.reader.too_long == 2
    assert len(bench.app.scanner.reader._buf) == 0
    bench.scan(b"C" * 64)
    bench.run(20)
    assert [len(m.code) for m in bench.host.read()] == [64]


def test_a_code_held_under_the_scanner_is_read_once_within_the_repeat_window():
    bench = ready_bench()
    scan_and_answer(bench, CODE, verdicts.GREEN, run_ms=2500)
    for _ in range(5):  # a continuous-mode module re-reads the held phone every second
        bench.scan(CODE)
        bench.run(1000)
    assert bench.host.read() == []
    assert bench.app.counts["duplicates"] == 5
    bench.run(5000)  # phone taken away for longer than repeat_ms (5 s)
    bench.scan(CODE)
    bench.run(10)
    again = bench.host.read()
    assert len(again) == 1 and again[0].code == CODE


def test_verdict_timeout_shows_offline_queues_and_resends_with_the_same_scan_id():
    bench = ready_bench()
    bench.scan(CODE)
    bench.run(3200)
    sent = bench.host.read()
    assert [type(m) for m in sent] == [p.Scan, p.Scan]
    assert sent[0] == sent[1]  # same scan id and content, two distinct frames (counters differ)
    got = bench.recorder.values()
    assert got[:2] == [("led", "yellow"), ("buzzer", 600)], got
    assert ("relay", 1) not in got
    assert len(bench.app.queue) == 1 and bench.app.queue.peek().scan == sent[0].scan
    # A verdict arriving after the timeout is not shown (the OFFLINE pattern already is).
    bench.host.send(p.Verdict(sent[0].scan, verdicts.GREEN, 0, 1, 100, ""))
    bench.recorder.clear()
    bench.run(100)
    assert ("relay", 1) not in bench.recorder.values()
    # ...and the scan stays queued, so its QUEUED replay tells the host that nobody saw that GREEN.
    assert len(bench.app.queue) == 1
    bench.run(5000)  # the OFFLINE pattern ends, the queue is replayed
    replay = [m for m in bench.host.read() if type(m) is p.Queued]
    assert replay and replay[0].scan == sent[0].scan


def test_a_queued_scan_carries_the_time_its_code_was_read():
    bench = ready_bench(verdict_timeout_ms=13000)
    read_at = bench.clock.time()
    bench.scan(CODE)
    bench.run(14000)  # no VERDICT: OFFLINE after 13 s, then queued
    assert bench.app.queue.peek().time_s == read_at
    bench.host.read()
    bench.run(5000)  # the pattern ends; the replay goes out
    queued = [m for m in bench.host.read() if type(m) is p.Queued]
    assert queued and queued[0].age_s >= 13  # from the read, not from when OFFLINE was shown (13 s later)


def test_link_loss_queues_scans_and_replays_them_as_queued_after_reconnect():
    bench = ready_bench()
    bench.stream.connected = False
    bench.scan(b"PINTU1:first-visitor")
    bench.run(3000)
    bench.scan(b"PINTU1:second-visitor")
    bench.run(3000)
    assert len(bench.app.queue) == 2
    patterns = [v for (d, v) in bench.recorder.values() if d == "led"]
    assert patterns.count("yellow") >= 2 and "green" not in patterns
    bench.recorder.clear()
    bench.run(1000)  # still offline, 1 s later
    bench.stream.connected = True
    bench.run(20)
    msgs = bench.host.read()
    assert [type(m) for m in msgs] == [p.Hello, p.Queued], msgs
    first = msgs[1]
    assert first.code == b"PINTU1:first-visitor" and first.age_s >= 4 and first.door == "main"
    bench.host.send(p.Ack(p.QUEUED, first.scan))
    bench.run(20)
    second = bench.host.read()
    assert [m.code for m in second] == [b"PINTU1:second-visitor"]
    bench.host.send(p.Verdict(second[0].scan, verdicts.GREEN, 0, 2, 100, ""))  # a verdict also settles it
    bench.run(50)
    assert len(bench.app.queue) == 0 and bench.app.counts["replayed"] == 2
    assert bench.recorder.values() == []  # replays show nothing and never open the door


def test_unanswered_replays_back_off_and_are_retried():
    bench = ready_bench()
    bench.stream.connected = False
    bench.scan(CODE)
    bench.run(3000)
    bench.stream.connected = True
    bench.run(5200)  # HELLO, QUEUED, 3 s timeout, 2 s backoff, QUEUED again
    msgs = bench.host.read()
    queued = [m for m in msgs if type(m) is p.Queued]
    assert len(queued) == 2 and queued[0].scan == queued[1].scan
    assert len(bench.app.queue) == 1


def test_a_failing_flash_still_shows_offline_and_counts_the_lost_scan():
    bench = ready_bench()
    bench.stream.connected = False
    bench.files.power_cut_after(3)  # the next write fails part way (as a full or dying flash would)
    bench.scan(CODE)
    bench.run(3000)
    leds = [v for (d, v) in bench.recorder.values() if d == "led"]
    assert leds[:2] == ["yellow", "red"] and bench.app.state == 0
    assert bench.app.queue.dropped == 1 and bench.app.errors == 1
    bench.recorder.clear()
    bench.scan(b"PINTU1:next-one")  # and the unit goes on, its queue file cut back to whole records
    bench.run(3000)
    assert len(bench.app.queue) == 1 and bench.app.queue.peek().code == b"PINTU1:next-one"
    from firmware.queue import OfflineQueue

    assert OfflineQueue(bench.files, 10).peek().code == b"PINTU1:next-one"


def test_a_full_queue_drops_the_oldest_and_counts_it():
    bench = ready_bench(queue_max=3)
    bench.stream.connected = False
    for i in range(5):
        bench.scan(b"PINTU1:visitor-%d" % i)
        bench.run(2500)
    queue = bench.app.queue
    assert len(queue) == 3 and queue.dropped == 2
    bench.stream.connected = True
    codes = []
    for _ in range(3):
        bench.run(20)
        for m in bench.host.read():
            if type(m) is p.Queued:
                codes.append(m.code)
                bench.host.send(p.Ack(p.QUEUED, m.scan))
    assert codes == [b"PINTU1:visitor-2", b"PINTU1:visitor-3", b"PINTU1:visitor-4"]
    bench.run(bench.app.settings["heartbeat_s"] * 1000)
    beats = [m for m in bench.host.read() if type(m) is p.Heartbeat]
    assert beats and beats[-1].dropped == 2 and beats[-1].queued == 0


def test_broken_configs_show_the_error_pattern_and_do_nothing_else():
    board = load_board()
    good = json.dumps(bench_config(board=DOOR)).encode()
    broken = (
        good[: len(good) // 2],  # cut short
        b"\xff\xfe\x00garbage",
        json.dumps(bench_config(board=DOOR, key="00" * 16)).encode(),
        json.dumps(bench_config(board=DOOR, direction="sideways")).encode(),
        json.dumps(bench_config(board="m5stack-atom-lite-atomic-qr")).encode(),
        json.dumps(bench_config(board=DOOR, link={"kind": "mqtt"})).encode(),
        None,
    )
    for raw in broken:
        files = MemFiles()
        files.write_atomic("board.json", json.dumps(board).encode())
        if raw is not None:
            files.write_atomic("pintu.json", raw)
        bench = Bench(board, files=files)
        assert isinstance(bench.app, unit.Fault), raw
        bench.run(2500)
        leds = [v for (d, v) in bench.recorder.values() if d == "led"]
        assert leds[:5] == ["red", "yellow", "red", "off", "red"], leds
        assert bench.stream.take() == b""  # says nothing on the link
        assert bench.hardware.scanner_uart is None  # and reads nothing


def test_exceptions_in_the_loop_are_counted_and_reported_in_the_next_heartbeat():
    bench = ready_bench(heartbeat_s=5)
    scanner = bench.app.scanner
    real_poll = scanner.poll
    calls = [0]

    def flaky():
        calls[0] += 1
        if calls[0] == 3:
            raise ValueError("flaky driver")
        return real_poll()

    scanner.poll = flaky
    bench.run(5100)
    beats = [m for m in bench.host.read() if type(m) is p.Heartbeat]
    assert len(beats) == 1
    assert beats[0].errors == 1 and beats[0].last_error.startswith("ValueError flaky"), beats
    scan_and_answer(bench, CODE, verdicts.GREEN)  # and the loop went on
    assert ("relay", 1) in bench.recorder.values()


def test_forged_replayed_and_foreign_verdicts_are_never_acted_on():
    bench = ready_bench()
    bench.scan(CODE)
    bench.run(10)
    scan = bench.host.read()[0]
    forger = p.Session("door-1", bytes(32), p.HOST)
    bench.stream.push(p.encode_stream(forger.send(p.Verdict(scan.scan, verdicts.GREEN, 0, 1, 100, ""))))
    bench.host.send(p.Verdict(scan.scan + 1, verdicts.GREEN, 0, 1, 100, ""))  # another scan's verdict
    bench.run(100)
    assert bench.recorder.values() == [] and bench.app.counts["rejected_frames"] == 1
    frame = bench.host.session.send(p.Verdict(scan.scan, verdicts.RED, 0, 1, 100, ""))
    bench.stream.push(p.encode_stream(frame))
    bench.run(100)
    bench.stream.push(p.encode_stream(frame))  # replayed
    bench.run(3000)
    leds = [v for (d, v) in bench.recorder.values() if d == "led"]
    assert leds[0] == "red" and bench.app.counts["rejected_frames"] == 2
    assert ("relay", 1) not in bench.recorder.values()


def test_config_message_is_applied_within_bounds_and_acknowledged():
    bench = ready_bench()
    bench.host.send(p.Config(800, 500, 700, 0, 10, 0))
    bench.run(20)
    acks = bench.host.read()
    assert acks == [p.Ack(p.CONFIG, bench.host.session.counters.tx)]
    s = bench.app.settings
    assert (s["verdict_timeout_ms"], s["relay_ms"], s["repeat_ms"], s["offline_queue"]) == (800, 700, 0, 0)
    bench.host.send(p.Config(1, 1, 65535, 0, 1, 1))  # out of range: clamped
    bench.run(20)
    assert (s["verdict_timeout_ms"], s["relay_ms"], s["heartbeat_s"]) == (300, 10000, 5)


def test_reboot_continues_above_every_counter_used_and_keeps_the_queue():
    bench = ready_bench()
    bench.stream.connected = False
    bench.scan(CODE)
    bench.run(3000)
    used = bench.app.counters.tx
    board = load_board()
    rebooted = Bench(board, bench.config, files=bench.files)
    rebooted.host.session = bench.host.session  # the same host session, which has seen the old counters
    rebooted.run(20)
    msgs = rebooted.host.read()
    assert [type(m) for m in msgs] == [p.Hello, p.Queued]
    assert rebooted.app.counters.tx > used
    assert msgs[1].code == CODE
