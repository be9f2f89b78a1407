"""Flash storage: the offline queue survives power cuts, the counter is reserved in blocks, configs and board files
are validated."""

import json

from firmware import board as board_mod
from firmware import config as config_mod
from firmware.counter import BLOCK, CounterError, CounterStore
from firmware.hw_fake import MemFiles, PowerCut
from firmware.queue import OfflineQueue, Record, encode
from firmware.testbench import bench_config

try:
    HERE = __file__.rsplit("/", 1)[0]
except NameError:  # pragma: no cover
    HERE = "."
BOARDS = HERE + "/../../boards"
BOARD_NAMES = ("esp32-devkitc-gm65", "m5stack-atom-lite-atomic-qr", "esp32c3-gm861")


def record(i, code=None):
    return Record(100 + i, 1700000000 + i, i % 2, "main", code or (b"PINTU1:visitor-%d" % i))


def codes(queue):
    out = []
    while len(queue):
        out.append(queue.peek().code)
        queue.pop()
    return out


def raises(exc_type, fn, *args):
    try:
        fn(*args)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised" % exc_type.__name__)


def test_queue_round_trip_in_order_across_reloads():
    files = MemFiles()
    queue = OfflineQueue(files, 10)
    for i in range(4):
        queue.append(record(i))
    again = OfflineQueue(files, 10)
    assert len(again) == 4
    first = again.peek()
    assert (first.scan, first.time_s, first.direction, first.door) == (100, 1700000000, 0, "main")
    assert codes(again) == [b"PINTU1:visitor-%d" % i for i in range(4)]
    assert files.size("queue") == -1  # emptied: the file is gone


def test_full_queue_drops_the_oldest_and_counts():
    queue = OfflineQueue(MemFiles(), 3)
    for i in range(7):
        queue.append(record(i))
    assert len(queue) == 3 and queue.dropped == 4
    assert codes(queue) == [b"PINTU1:visitor-4", b"PINTU1:visitor-5", b"PINTU1:visitor-6"]


def test_truncated_last_record_loses_only_that_record_at_every_cut_point():
    whole = MemFiles()
    queue = OfflineQueue(whole, 10)
    for i in range(3):
        queue.append(record(i))
    data = whole.read("queue")
    last = len(encode(record(2)))
    for cut in range(len(data) - last, len(data)):
        files = MemFiles()
        files.data["queue"] = bytearray(data[:cut])
        loaded = OfflineQueue(files, 10)
        assert len(loaded) == 2, cut
        loaded.append(record(9))  # appending after the repair is readable again
        assert codes(OfflineQueue(files, 10)) == [b"PINTU1:visitor-0", b"PINTU1:visitor-1", b"PINTU1:visitor-9"]


def test_power_cut_while_appending_keeps_every_earlier_record():
    for budget in (0, 1, 3, 5, 12, 20):
        files = MemFiles()
        queue = OfflineQueue(files, 10)
        queue.append(record(0))
        queue.append(record(1))
        files.power_cut_after(budget)
        raises(PowerCut, queue.append, record(2))
        assert codes(OfflineQueue(files, 10)) == [b"PINTU1:visitor-0", b"PINTU1:visitor-1"], budget


def test_power_cut_while_dropping_the_oldest_leaves_the_old_queue_whole():
    files = MemFiles()
    queue = OfflineQueue(files, 2)
    queue.append(record(0))
    queue.append(record(1))
    files.power_cut_after(10)  # dies while rewriting the queue without its oldest record
    raises(PowerCut, queue.append, record(2))
    assert codes(OfflineQueue(files, 2)) == [b"PINTU1:visitor-0", b"PINTU1:visitor-1"]


def test_damaged_record_in_the_middle_stops_the_load_there():
    files = MemFiles()
    queue = OfflineQueue(files, 10)
    for i in range(3):
        queue.append(record(i))
    files.data["queue"][len(encode(record(0))) + 6] ^= 0xFF  # a flipped byte inside record 1
    loaded = OfflineQueue(files, 10)
    assert len(loaded) == 1 and loaded.dropped == 1


def test_a_held_scan_is_queued_at_the_next_boot_once_whatever_the_moment_of_the_reset():
    files = MemFiles()
    queue = OfflineQueue(files, 8)
    queue.append(Record(1, 1700000000, 0, "main", b"PINTU1:earlier"))
    queue.hold(Record(2, 1700000100, 0, "main", b"PINTU1:in-flight"))  # reset while its SCAN was out
    again = OfflineQueue(files, 8)
    assert len(again) == 2 and files.read("queue.held") is None
    again.pop()
    assert again.peek().scan == 2 and again.peek().time_s == 1700000100
    # A reset between queuing a timed-out scan and releasing it: queued once, not twice.
    again.hold(Record(3, 1700000200, 0, "main", b"PINTU1:timed-out"))
    again.append(Record(3, 1700000200, 0, "main", b"PINTU1:timed-out"))
    third = OfflineQueue(files, 8)
    assert len(third) == 2 and files.read("queue.held") is None
    # Released (its verdict shown): nothing to queue.
    third.hold(Record(4, 1700000300, 0, "main", b"PINTU1:shown"))
    third.release()
    assert len(OfflineQueue(files, 8)) == 2
    # A damaged held record is dropped, never replayed as something else.
    files.write_atomic("queue.held", b"\x00\x20\x00\x00" + b"x" * 32)
    assert len(OfflineQueue(files, 8)) == 2 and files.read("queue.held") is None


def test_a_power_cut_while_holding_a_scan_leaves_no_half_record():
    files = MemFiles()
    queue = OfflineQueue(files, 8)
    record = Record(5, 1700000000, 0, "main", b"PINTU1:cut")
    for cut in range(0, len(encode(record))):
        files.power_cut_after(cut)
        try:
            queue.hold(record)
        except PowerCut:
            pass
        assert len(OfflineQueue(files, 8)) == 0  # the atomic write left no held file: the SCAN never went out
        files.remove("queue.held")


def test_counter_writes_flash_once_per_block_and_restarts_above_every_used_value():
    files = MemFiles()
    store = CounterStore(files)
    counter = store.load()
    stored = [files.read("counter")]  # each value the file took
    assert counter == 0 and stored[0] is not None
    for expected in range(1, 1001):
        counter = store.next_tx()
        if files.read("counter") != stored[-1]:
            stored.append(files.read("counter"))
        assert counter == expected and int(stored[-1]) > counter  # reserved on flash before it is used
    assert len(stored) == 1 + 1000 // BLOCK
    rebooted = CounterStore(files)
    assert rebooted.load() >= counter
    assert rebooted.load() - counter <= 3 * BLOCK
    assert rebooted.next_tx() > counter


def test_counter_store_accepts_only_rising_host_counters():
    store = CounterStore(MemFiles())
    store.load()
    assert store.accept_rx(3) and store.rx == 3
    assert not store.accept_rx(3) and not store.accept_rx(1)  # a replay, or an older frame arriving late
    assert store.accept_rx(4) and store.rx == 4


def test_counter_survives_a_power_cut_during_its_write():
    files = MemFiles()
    store = CounterStore(files)
    store.load()
    reserved = int(files.read("counter"))
    store.tx = store.limit - 1  # the block is used up: the next counter needs a new one
    for budget in (0, 1, 2):
        files.power_cut_after(budget)
        raises(PowerCut, store.next_tx)
        assert int(files.read("counter")) == reserved  # the old reservation is intact
        assert store.tx == reserved - 1  # and the counter past it was not handed out
    assert store.next_tx() == reserved and int(files.read("counter")) > reserved  # the write is tried again
    files.data["counter"] = bytearray(b"\xff\x00garbage")
    raises(CounterError, CounterStore(files).load)


def test_config_validation_names_each_problem():
    good = bench_config()
    settings = config_mod.parse(json.dumps(good).encode())
    assert len(settings["key"]) == 32 and settings["direction"] == 0 and settings["verdict_timeout_ms"] == 3000
    bad = dict(good)
    bad.update({"device_id": "door 1/../x", "key": "xyz", "direction": 2, "link": {"kind": "mqtt"},
                "verdict_timeout_ms": 5})
    problems = " ".join(config_mod.validate(bad))
    for word in ("device_id", "key", "direction", "link.wifi_ssid", "link.broker", "verdict_timeout_ms"):
        assert word in problems, (word, problems)
    mqtt = dict(good)
    mqtt["link"] = {"kind": "mqtt", "wifi_ssid": "office", "wifi_password": "x", "broker": "10.0.0.2", "port": 1883}
    assert config_mod.validate(mqtt) == []
    for raw in (None, b"", b"[]", b"{", b"\xff\xff"):
        raises(config_mod.ConfigError, config_mod.parse, raw)


def load_board_file(name):
    with open("%s/%s.json" % (BOARDS, name)) as f:
        return json.load(f)


def test_board_files_are_valid_and_named_for_their_file():
    kinds = set()
    for name in BOARD_NAMES:
        board = load_board_file(name)
        assert board_mod.validate(board) == [], (name, board_mod.validate(board))
        assert board["name"] == name
        kinds.add(board["leds"]["kind"])
    assert kinds == set(("discrete", "neopixel"))
    devkit = load_board_file("esp32-devkitc-gm65")
    assert devkit["scanner"]["model"] == "gm65" and devkit["relay"] and devkit["buzzer"]
    assert load_board_file("m5stack-atom-lite-atomic-qr")["scanner"]["model"] == "m5-atomic-qr"
    assert load_board_file("esp32c3-gm861")["chip"] == "esp32c3"


def test_board_validation_catches_bad_pins():
    board = load_board_file("esp32-devkitc-gm65")
    board["relay"] = {"pin": 36}  # input only
    board["leds"]["red"] = 25  # same as green
    board["scanner"]["uart"] = 0
    problems = " ".join(board_mod.validate(board))
    assert "input only" in problems and "already used" in problems and "scanner.uart" in problems
    board = load_board_file("esp32c3-gm861")
    board["buzzer"] = {"pin": 30}
    assert "no GPIO 30" in " ".join(board_mod.validate(board))
