"""Smaller firmware parts: the real LED/buzzer/relay adapters on fake pins, the REPL escape on the serial link, the
MQTT link's reconnect policy against an in-process broker, and main.py's loop and escape handling."""

import json

import pintu_protocol as p
from firmware import hw, hw_optional, main
from firmware.fake_mqtt import FakeBroker, FakeMqttClient, FakeWifi
from firmware.feedback import Feedback
from firmware.hw_fake import FakeClock, FakePin, FakePixels, FakePwm, FakeStream, FakeWatchdog, Recorder
from firmware.link_mqtt import MqttLink
from firmware.link_serial import EscapeWatch, ReplEscape, SerialLink
from firmware.testbench import TEST_KEY, Bench
from pintu_protocol import verdicts
from pintu_protocol.topics import topic

try:
    HERE = __file__.rsplit("/", 1)[0]
except NameError:  # pragma: no cover
    HERE = "."


def _topic(device, kind):
    return topic("hq", device, kind).encode()


def load_board(name):
    with open("%s/../../boards/%s.json" % (HERE, name)) as f:
        return json.load(f)


def test_discrete_leds_buzzer_and_relay_drive_their_pins():
    clock = FakeClock()
    rec = Recorder(clock)
    pins = {"green": FakePin(rec, "G"), "yellow": FakePin(rec, "Y"), "red": FakePin(rec, "R")}
    leds = hw.DiscreteLeds(pins)
    buzzer = hw.Buzzer(FakePwm(rec))
    relay = hw.Relay(FakePin(rec, "relay"), active_high=False)
    rec.clear()
    fb = Feedback(clock, leds, buzzer, relay)
    fb.verdict(verdicts.GREEN, 1500, 1000)
    assert (pins["green"].level, pins["yellow"].level, pins["red"].level) == (1, 0, 0)
    assert rec.events[0][1:] == ("relay", 0)  # active low: 0 is closed contact
    assert ("pwm", (2000, 32768)) in [e[1:] for e in rec.events]
    for _ in range(400):
        clock.advance(5)
        fb.tick()
    assert not fb.busy and (pins["green"].level, pins["red"].level) == (0, 0)
    assert rec.events[-1][1:] == ("pwm", (2000, 0))  # silent at the end
    leds.show("white")
    assert (pins["green"].level, pins["yellow"].level, pins["red"].level) == (1, 1, 1)


def test_pixel_led_shows_dimmed_colours():
    rec = Recorder(FakeClock())
    led = hw_optional.PixelLed(FakePixels(rec), brightness=51)
    led.show("red")
    led.show("green")
    led.show("mauve")  # unknown colours show red: a fault never looks like an admit
    assert [e[2] for e in rec.events] == [(0, 0, 0), (51, 0, 0), (0, 51, 0), (51, 0, 0)]


def test_escape_needs_three_ctrl_c_within_a_second_outside_frames():
    watch = EscapeWatch()
    assert not watch.feed(b"\x03\x03", 0)
    assert watch.feed(b"\x03", 900)
    watch = EscapeWatch()
    assert not watch.feed(b"\x03", 0) and not watch.feed(b"\x03", 600) and not watch.feed(b"\x03", 1200)
    assert watch.feed(b"\x03", 1300)
    # Inside a frame 03 bytes are data: a stretch whose second byte is the version (01) never escapes.
    unit = p.Session("door-1", TEST_KEY, p.UNIT)
    frame = p.encode_stream(unit.send(p.Scan(1, "main", p.IN, b"\x03" * 40)))
    assert b"\x03\x03\x03" in frame
    watch = EscapeWatch()
    assert not watch.feed(frame, 0)
    assert not watch.feed(frame[:20], 0) and not watch.feed(frame[20:], 10)
    assert watch.feed(b"\r\x03\x03\x03", 20)  # after the frame's closing 00


def test_serial_link_raises_repl_escape_and_counts_framing_errors():
    stream = FakeStream()
    link = SerialLink(stream, FakeClock())
    stream.push(b"\x00boot noise\x00")
    assert list(link.poll()) == [] and link.decoder.errors == 1
    stream.push(b"\x03\x03\x03")
    try:
        link.poll()
    except ReplEscape:
        pass
    else:
        raise AssertionError("no escape")


def test_main_loop_feeds_the_watchdog_and_survives_exceptions():
    class Boom:
        errors = 0

        def step(self):
            raise MemoryError("heap")

        def record_error(self, e):
            self.errors += 1

    app = Boom()
    wdt = FakeWatchdog()
    clock = FakeClock()
    main.run_loop(app, wdt, clock, steps=50)
    assert app.errors == 50 and wdt.feeds == 50 and clock.now_ms == 50 * main.IDLE_MS


def test_run_boots_and_escape_reboots_into_maintenance_mode():
    bench = Bench(load_board("esp32-devkitc-gm65"))
    bench.stream.push(b"\x03\x03\x03")
    app = main.run(bench.hardware, bench.files, bench.clock, release=False)
    assert bench.hardware.resets == 1 and bench.files.read(main.MAINTENANCE_FLAG) is not None
    assert bench.hardware.watchdogs and bench.hardware.watchdogs[0].feeds >= 1
    assert app.needs_watchdog
    assert main.run(bench.hardware, bench.files, bench.clock) is None  # maintenance boot: no app
    assert bench.files.read(main.MAINTENANCE_FLAG) is None  # only once


def test_boot_only_modules_can_be_released_after_boot():
    import sys

    import firmware
    from firmware import board, config, unit  # noqa: F401 - loaded, as at boot

    saved = dict((name, sys.modules["firmware." + name]) for name in main.BOOT_ONLY)
    try:
        main.release_boot_modules()
        for name in main.BOOT_ONLY:
            assert "firmware." + name not in sys.modules and not hasattr(firmware, name)
    finally:  # put the same module objects back, so later tests see the classes they imported
        for name, module in saved.items():
            sys.modules["firmware." + name] = module
            setattr(firmware, name, module)


def mqtt_link(broker, clock, wifi=None, keepalive=60):
    return MqttLink(lambda: FakeMqttClient(broker, "door-1", keepalive), clock, "hq", "door-1", keepalive, wifi)


def test_mqtt_link_connects_with_last_will_online_status_and_subscription():
    broker = FakeBroker()
    clock = FakeClock()
    link = mqtt_link(broker, clock)
    link.tick()
    assert link.connected
    client = broker.clients[0]
    assert client.will == (_topic("door-1", "status"), b"offline", True, 1)
    assert broker.retained[_topic("door-1", "status")] == b"online"
    assert [t for (_c, t) in broker.subscriptions] == [_topic("door-1", "down")]
    assert link.send(b"frame-1")
    assert broker.published[-1] == (_topic("door-1", "up"), b"frame-1", False, 1)
    broker.publish(_topic("door-1", "down"), b"answer")
    broker.publish(_topic("door-2", "down"), b"not ours")
    assert link.poll() == [b"answer"]


def test_mqtt_link_pings_within_the_keepalive():
    broker = FakeBroker()
    clock = FakeClock()
    link = mqtt_link(broker, clock, keepalive=20)
    link.tick()
    client = broker.clients[0]
    for _ in range(60):  # one minute
        clock.advance(1000)
        link.tick()
    assert client.pings >= 5  # every keepalive/2 = 10 s
    assert link.connected


def test_mqtt_link_reconnects_with_backoff_and_resubscribes():
    broker = FakeBroker()
    clock = FakeClock()
    wifi = FakeWifi()
    link = mqtt_link(broker, clock, wifi)
    link.tick()
    broker.drop()
    assert broker.retained[_topic("door-1", "status")] == b"offline"  # the last will
    assert not link.send(b"lost")
    assert not link.connected
    tries = []
    for second in range(40):
        clock.advance(1000)
        before = link.failures
        link.tick()
        if link.failures != before:
            tries.append(second)
    assert 3 <= len(tries) <= 7  # 1, 2, 4, 8, 16 s apart: backing off, not hammering
    wifi.up = False
    broker.restore()
    link.tick()
    assert not link.connected  # waits for Wi-Fi first
    wifi.up = True
    for _ in range(70):
        clock.advance(1000)
        link.tick()
    assert link.connected and link.connects == 2
    assert broker.retained[_topic("door-1", "status")] == b"online"
    assert [t for (_c, t) in broker.subscriptions] == [_topic("door-1", "down")]  # resubscribed on the new session


def test_unit_over_mqtt_queues_while_the_broker_is_down_and_replays_after():
    board = load_board("esp32c3-gm861")
    cfg = {
        "device_id": "door-7", "key": TEST_KEY.hex(), "site": "hq", "door": "lobby", "direction": "out",
        "board": board["name"],
        "link": {"kind": "mqtt", "wifi_ssid": "office", "broker": "broker.local", "port": 1883, "keepalive": 30},
    }
    bench = Bench(board, cfg)
    host = p.Session("door-7", TEST_KEY, p.HOST)
    broker = bench.broker
    up, down = _topic("door-7", "up"), _topic("door-7", "down")

    def unit_messages():
        out = [host.receive(m) for (t, m, _r, _q) in broker.published if t == up]
        broker.published = []
        return out

    bench.run(20)
    assert [type(m) for m in unit_messages()] == [p.Hello]
    broker.publish(down, host.send(p.Config(2000, 1500, 800, 5000, 30, 1)))  # the host's answer: no more HELLOs
    bench.run(20)
    assert [type(m) for m in unit_messages()] == [p.Ack]
    bench.scan(b"PINTU1:mqtt-visitor")
    bench.run(20)
    scan = unit_messages()[0]
    assert scan.direction == p.OUT and scan.door == "lobby"
    broker.publish(down, host.send(p.Verdict(scan.scan, verdicts.EXIT, 0, 0, 100, "")))
    bench.run(3000)
    assert ("relay", 1) in bench.recorder.values()
    broker.drop()
    bench.scan(b"PINTU1:during-outage")
    bench.run(3000)
    assert len(bench.app.queue) == 1
    broker.restore()
    bench.run(5000)
    msgs = unit_messages()
    assert [type(m) for m in msgs][:2] == [p.Hello, p.Queued], msgs
    broker.publish(down, host.send(p.Ack(p.QUEUED, msgs[1].scan)))
    bench.run(50)
    assert len(bench.app.queue) == 0


class _Module:
    """Stands in for a board-only module (machine, neopixel, network) in sys.modules."""

    def __init__(self, **names):
        for k, v in names.items():
            setattr(self, k, v)


def test_esp32_adapters_drive_machine_through_the_board_definition():
    import sys

    log = []

    class Pin:
        OUT = 1

        def __init__(self, n, mode=None):
            self.n = n

        def value(self, v):
            log.append(("pin", self.n, v))

    class PWM:
        def __init__(self, pin, freq=0, duty_u16=0):
            self.pin = pin

        def freq(self, hz):
            log.append(("freq", self.pin.n, hz))

        def duty_u16(self, d):
            log.append(("duty", self.pin.n, d))

    class UART:
        def __init__(self, uart_id, baudrate=0, tx=None, rx=None, rxbuf=0, timeout=None, timeout_char=None):
            log.append(("uart", uart_id, baudrate, tx, rx, timeout))

        def init(self, baudrate=0):
            log.append(("baud", baudrate))

        def read(self):
            return None

    class WDT:
        def __init__(self, timeout=0):
            log.append(("wdt", timeout))

    class NeoPixel:
        def __init__(self, pin, n):
            self.pin = pin

        def __setitem__(self, i, rgb):
            log.append(("px", self.pin.n, rgb))

        def write(self):
            pass

    class WLAN:
        def __init__(self, mode):
            self.connects = 0

        def active(self, on):
            pass

        def isconnected(self):
            return False

        def disconnect(self):
            pass

        def connect(self, ssid, password):
            log.append(("wlan", ssid))

    fakes = {
        "machine": _Module(Pin=Pin, PWM=PWM, UART=UART, WDT=WDT),
        "neopixel": _Module(NeoPixel=NeoPixel),
        "network": _Module(WLAN=WLAN, STA_IF=0),
    }
    saved = dict((name, sys.modules.get(name)) for name in fakes)
    sys.modules.update(fakes)
    try:
        board = load_board("esp32-devkitc-gm65")
        hardware = hw.Esp32Hardware()
        leds = hardware.leds(board["leds"])
        leds.show("yellow")
        assert sorted(log[-3:]) == [("pin", 25, 0), ("pin", 26, 1), ("pin", 27, 0)]
        hardware.buzzer(board["buzzer"]).tone(1500)
        assert log[-2:] == [("freq", 23, 1500), ("duty", 23, 32768)]
        hardware.relay(board["relay"]).set(True)
        assert log[-1] == ("pin", 32, 1)
        uart = hardware.uart(board["scanner"], 9600)
        uart.set_baud(115200)
        assert ("uart", 2, 9600, 17, 16, 0) in log and log[-1] == ("baud", 115200) and uart.read() is None
        hardware.watchdog(8000)
        assert log[-1] == ("wdt", 8000)
        pixel = hw.Esp32Hardware().leds(load_board("esp32c3-gm861")["leds"])
        pixel.show("green")
        assert log[-1] == ("px", 8, (0, 48, 0))
        wifi = hardware.wifi("office", "secret")
        wifi.connect()
        wifi.connect()  # still associating: not restarted
        assert [e for e in log if e[0] == "wlan"] == [("wlan", "office")]
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
