"""The real umqtt.simple (the vendored copy) and the MQTT link on fakes (fake_mqtt.WireBroker speaks MQTT as bytes,
on the fake clock): packet ids wrap, no socket call waits without a bound, a broker that stops answering costs one
bounded wait and the scan shows OFFLINE and stays queued. Plain asserts: runs under pytest and real MicroPython."""

import sys

from firmware import link_mqtt
from firmware.fake_mqtt import WireBroker, umqtt_on_wire
from firmware.hw_fake import FakeClock, FakeHardware, MemFiles, Recorder, unit_on_fakes
from firmware.testbench import bench_config
from pintu_protocol import verdicts

try:
    HERE = __file__.rsplit("/", 1)[0]
except NameError:  # pragma: no cover
    HERE = "."
try:
    import umqtt  # noqa: F401  (on a board, and under MicroPython in the tests: /lib/umqtt)
except ImportError:  # CPython from a checkout: the vendored copy
    sys.path.append(HERE + "/../../firmware/lib")


def _client(wire, timeout=0.5):
    simple, restore = umqtt_on_wire(wire)
    client = simple.MQTTClient("door-1", "broker.local", 1883, keepalive=60, timeout=timeout, nodelay=True)
    return client, restore


def test_packet_ids_wrap_to_1_and_are_never_0_over_70000_publishes():
    wire = WireBroker()
    client, restore = _client(wire)
    try:
        client.connect()
        for _ in range(70000):  # a heartbeat every 10 s for a week is ~60,000
            client.publish(b"pintu/hq/door-1/up", b"x", qos=1)
    finally:
        restore()
    assert len(wire.pids) == 70000 and 0 not in wire.pids and wire.closed_for_pid0 == 0
    assert wire.pids[65534] == 65535 and wire.pids[65535] == 1 and max(wire.pids) == 65535
    assert wire.nodelay  # TCP_NODELAY was asked for


def test_every_read_keeps_its_timeout_after_a_non_blocking_poll():
    wire = WireBroker(FakeClock())
    client, restore = _client(wire)
    try:
        client.connect()
        client.set_callback(lambda topic, msg: None)
        assert client.check_msg() is None  # setblocking(False) for the poll...
        sock = wire.sockets[-1]
        assert sock.timeout == 0.5  # ...and the timeout is back after it (upstream left none on the ESP32)
        wire.hang = True
        start = wire.clock.now_ms
        try:
            client.publish(b"pintu/hq/door-1/up", b"x", qos=1)
        except OSError:
            pass
        else:
            raise AssertionError("a publish with no PUBACK returned")
        assert wire.clock.now_ms - start == 500  # one bounded wait, not for ever
    finally:
        restore()


class _WireHardware(FakeHardware):
    """A unit whose MQTT client is the real umqtt.simple over the fake wire."""

    wire = None

    def mqtt_client(self, client_id, host, port, user, password, keepalive):
        simple, self.restore = umqtt_on_wire(self.wire)
        return simple.MQTTClient(client_id, host, port, user, password, keepalive)


def _mqtt_unit(wire, clock):
    recorder = Recorder(clock)
    with open(HERE + "/../../boards/esp32-devkitc-gm65.json") as f:
        import json

        board = json.load(f)
    cfg = bench_config(link={"kind": "mqtt", "wifi_ssid": "office", "broker": "10.0.0.2"}, verdict_timeout_ms=2000)
    _WireHardware.wire = wire
    app, hardware = unit_on_fakes(MemFiles(), clock, recorder, board, cfg, hardware=_WireHardware)
    return app, hardware


def _run(app, clock, ms):
    from firmware.main import IDLE_MS, run_loop

    run_loop(app, None, clock, steps=max(1, ms // IDLE_MS))


def test_a_broker_that_stops_answering_shows_offline_in_time_and_keeps_the_scan():
    clock = FakeClock()
    wire = WireBroker(clock)
    app, hardware = _mqtt_unit(wire, clock)
    try:
        _run(app, clock, 50)
        assert app.link.connected and wire.published  # online, HELLO out
        shown = []
        app.on_shown = lambda scan, code: shown.append((clock.now_ms, code))
        wire.hang = True  # accepted the connection, now answers nothing (no PUBACK, no VERDICT)
        start = clock.now_ms
        hardware.scanner_uart.feed(b"PINTU1:visitor-at-a-hung-broker\r")
        _run(app, clock, 3000)
        assert [code for _, code in shown] == [verdicts.OFFLINE]
        assert shown[0][0] - start <= app.settings["verdict_timeout_ms"]
        assert shown[0][0] - start <= link_mqtt.IO_TIMEOUT_MS + 20  # the PUBACK wait, bounded
        assert len(app.queue) == 1 and app.queue.peek().code == b"PINTU1:visitor-at-a-hung-broker"
        assert not app.link.connected and wire.blocked_for_ever == 0
        # It keeps trying, each try bounded: the loop goes on (the OFFLINE pattern played out meanwhile).
        before = app.link.failures
        _run(app, clock, 10000)
        assert app.link.failures > before and app.state == 0 and len(app.queue) == 1
    finally:
        if getattr(hardware, "restore", None):
            hardware.restore()
