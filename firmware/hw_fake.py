"""Fake hardware for tests and the host's simulator: a fake clock, recorded LEDs/buzzer/relay, a scripted scanner UART
(with an emulated GM65 answering its command frames), byte streams, an in-memory filesystem that can lose power, the
hardware factory built from them, and unit_on_fakes(): the one recipe for a whole unit on fakes (used by
testbench.Bench, the host's simulator and the virtual board). The MQTT fakes are in fake_mqtt.py.

Same interfaces as hw.py's adapters; no mocks, so it all runs under MicroPython as well as CPython. Not deployed
(deploy's TEST_ONLY); the virtual board injects this file as a top-level module, so it imports no other fake at
its top."""

import json

from firmware import hw
from firmware.clock import ticks_add
from pintu_protocol import crc16

# -- time and recording ----------------------------------------------------------------------------------------------


class FakeClock:
    """Time that moves only when told (sleep_ms/advance). Ticks start just below the wrap to catch ticks_diff slips."""

    def __init__(self, epoch=1700000000):
        self.now_ms = 0  # elapsed since creation; never wraps (used for recorded timestamps)
        self._base = ticks_add(0, -2000)
        self._epoch = epoch

    def ticks_ms(self):
        return ticks_add(self._base, self.now_ms)

    def sleep_ms(self, ms):
        self.now_ms += ms

    advance = sleep_ms

    def time(self):
        return self._epoch + self.now_ms // 1000


class Recorder:
    """Every output change as (ms, device, value), in order."""

    def __init__(self, clock):
        self._clock = clock
        self.events = []

    def record(self, device, value):
        self.events.append((self._clock.now_ms, device, value))

    def clear(self):
        self.events = []

    def values(self, devices=("led", "buzzer", "relay")):
        return [(d, v) for (_t, d, v) in self.events if d in devices]


class FakeLeds:
    def __init__(self, recorder):
        self._rec = recorder

    def show(self, colour):
        self._rec.record("led", colour)


class FakeBuzzer:
    def __init__(self, recorder):
        self._rec = recorder

    def tone(self, hz):
        self._rec.record("buzzer", hz)


class FakeRelay:
    def __init__(self, recorder):
        self._rec = recorder

    def set(self, on):
        self._rec.record("relay", 1 if on else 0)


class FakePin:
    """A GPIO for the real adapters (hw.DiscreteLeds, hw.Relay): records value() writes."""

    def __init__(self, recorder, name):
        self._rec = recorder
        self.name = name
        self.level = None

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
        self._rec.record(self.name, v)


class FakePwm:
    def __init__(self, recorder):
        self._rec = recorder
        self.hz = 0

    def freq(self, hz):
        self.hz = hz

    def duty_u16(self, duty):
        self._rec.record("pwm", (self.hz, duty))


class FakePixels:
    def __init__(self, recorder):
        self._rec = recorder
        self._px = [(0, 0, 0)]

    def __setitem__(self, i, rgb):
        self._px[i] = rgb

    def write(self):
        self._rec.record("pixel", self._px[0])


class FakeWatchdog:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


# -- the scanner line ------------------------------------------------------------------------------------------------


class FakeUart:
    """The unit's end of the scanner UART. feed() is the module talking; written holds what the unit sent. A module
    emulator, when given, answers each write (at its own baud rate only)."""

    def __init__(self, baud=9600, module=None):
        self.baud = baud
        self.module = module
        self._rx = []
        self.written = []

    def feed(self, data):
        self._rx.append(bytes(data))

    def read(self):
        if not self._rx:
            return None
        out = []
        while self._rx:
            out.append(self._rx.pop(0))  # pop by pop: safe against a simulator thread feeding meanwhile
        return b"".join(out)

    def write(self, data):
        self.written.append(bytes(data))
        if self.module is not None:
            reply = self.module.handle(bytes(data), self.baud)
            if reply:
                self._rx.append(reply)
        return len(data)

    def set_baud(self, baud):
        self.baud = baud


_BAUD_BY_CODE = {0x0139: 9600, 0x009C: 19200, 0x004E: 38400, 0x0034: 57600, 0x001A: 115200}


def _reply(lead, data):
    body = bytes((0, len(data))) + bytes(data)
    crc = crc16(body, 0)
    return bytes((lead, 0)) + body + bytes((crc >> 8, crc & 0xFF))


class FakeGm65:
    """Emulates a GM65/GM861's command protocol: zones, CRC check (AB CD skips it), ACKs, baud switch, save."""

    def __init__(self, baud=9600, answer=True):
        self.baud = baud
        self.answer = answer
        self.zones = bytearray(0x100)
        self.zones[0x2A] = 0x39  # 9600
        self.zones[0x2B] = 0x01
        self.saved = False
        self.heartbeats = 0

    def handle(self, data, uart_baud):
        if not self.answer or uart_baud != self.baud or len(data) < 9 or data[:2] != b"\x7e\x00":
            return None  # wrong rate: the module sees garbage; a bad frame gets no reply at all
        msg_type, length, hi, lo = data[2], data[3], data[4], data[5]
        payload = data[6 : 6 + length]
        crc = data[6 + length : 8 + length]
        if crc != b"\xab\xcd" and crc16(data[2 : 6 + length], 0) != (crc[0] << 8 | crc[1]):
            return None
        zone = hi << 8 | lo
        if msg_type == 0x07:
            return _reply(2, self.zones[zone : zone + payload[0]])
        if msg_type == 0x08:
            self.zones[zone : zone + length] = payload
            ack = _reply(2, b"\x00")
            if zone == 0x2A:
                self.baud = _BAUD_BY_CODE.get(self.zones[0x2A] | self.zones[0x2B] << 8, self.baud)
            return ack
        if msg_type == 0x09:
            self.saved = True
            return _reply(2, b"\x00")
        if msg_type == 0x0A:
            self.heartbeats += 1
            return _reply(3, b"\x00")
        return None


# -- links -------------------------------------------------------------------------------------------------------------


class FakeStream:
    """Both ends of a byte link: the unit reads/writes; the test pushes/takes. connected=False is a pulled cable."""

    def __init__(self):
        self.connected = True
        self._to_unit = []
        self._from_unit = []

    def read(self):
        if not self._to_unit:
            return None
        out = []
        while self._to_unit:
            out.append(self._to_unit.pop(0))
        return b"".join(out)

    def write(self, data):
        if not self.connected:
            raise OSError(5)
        self._from_unit.append(bytes(data))

    def push(self, data):
        if self.connected:
            self._to_unit.append(bytes(data))

    def take(self):
        out = []
        while self._from_unit:
            out.append(self._from_unit.pop(0))
        return b"".join(out)


class FakeHardware:
    """The hardware factory unit.build() asks for parts, built from fakes that record into one Recorder."""

    def __init__(self, clock, recorder, module=None, stream=None, broker=None):
        self.clock = clock
        self.recorder = recorder
        self.module = module
        self.stream = stream if stream is not None else FakeStream()
        self.broker = broker
        self.scanner_uart = None
        self.canvas = None  # a display board's FakeCanvas
        self.watchdogs = []
        self.resets = 0
        self.wifi_adapter = None  # made on first use: a serial unit's fakes never load fake_mqtt

    def uart(self, spec, baud):
        self.scanner_uart = FakeUart(baud, self.module)
        return self.scanner_uart

    def leds(self, spec):
        return FakeLeds(self.recorder)

    def buzzer(self, spec):
        return FakeBuzzer(self.recorder)

    def relay(self, spec):
        return FakeRelay(self.recorder)

    def display(self, spec):
        from firmware.fake_display import FakeCanvas  # only display boards: the virtual board never gets here

        self.canvas = FakeCanvas(self.recorder, spec.get("width", 128), spec.get("height", 64))
        return self.canvas

    def watchdog(self, timeout_ms):
        wdt = FakeWatchdog()
        self.watchdogs.append(wdt)
        return wdt

    def serial_stream(self):
        return self.stream

    def wifi(self, ssid, password):
        if self.wifi_adapter is None:
            from firmware.fake_mqtt import FakeWifi

            self.wifi_adapter = FakeWifi()
        return self.wifi_adapter

    def mqtt_client(self, client_id, host, port, user, password, keepalive, ssl=None):
        from firmware.fake_mqtt import FakeMqttClient

        self.mqtt_ssl = ssl  # the in-memory broker has no wire to encrypt; tests read what the unit asked for
        return FakeMqttClient(self.broker, client_id, keepalive)

    def mem_free(self):
        return hw.mem_free()

    def reset(self):
        self.resets += 1


# -- files -------------------------------------------------------------------------------------------------------------


class PowerCut(Exception):
    pass


class MemFiles:
    """hw.Files in memory. power_cut_after(n): the next writes store n more bytes, then raise PowerCut."""

    def __init__(self):
        self.data = {}
        self._budget = None

    def power_cut_after(self, nbytes):
        self._budget = nbytes

    def _spend(self, name, data, fresh):
        buf = bytearray() if fresh else self.data.get(name, bytearray())
        if self._budget is not None and len(data) > self._budget:
            buf.extend(data[: self._budget])
            self.data[name] = buf
            self._budget = None
            raise PowerCut()
        if self._budget is not None:
            self._budget -= len(data)
        buf.extend(data)
        self.data[name] = buf

    def read(self, name):
        buf = self.data.get(name)
        return None if buf is None else bytes(buf)

    def read_at(self, name, offset, n):
        return bytes(self.data[name][offset : offset + n])

    def size(self, name):
        buf = self.data.get(name)
        return -1 if buf is None else len(buf)

    def append(self, name, data):
        self._spend(name, data, False)

    def write_atomic(self, name, chunks):
        tmp = name + ".tmp"
        self.data.pop(tmp, None)
        if isinstance(chunks, (bytes, bytearray)):
            chunks = (chunks,)
        for chunk in chunks:
            self._spend(tmp, chunk, tmp not in self.data)
        self.data[name] = self.data.pop(tmp, bytearray())

    def remove(self, name):
        self.data.pop(name, None)




# -- a whole unit on fakes -------------------------------------------------------------------------------------------


def fake_scanner(board):
    """The module behind a board's scanner UART: an emulated GM65/GM861 answering its command protocol at its
    factory rate, or None for the M5 Atomic QR (read only: nothing answers)."""
    scanner = board["scanner"]
    return None if scanner["model"] == "m5-atomic-qr" else FakeGm65(scanner["factory_baud"])


def unit_on_fakes(files, clock, recorder, board=None, config=None, module=None, hardware=FakeHardware, **parts):
    """The one recipe for a unit on fakes: board.json and pintu.json written to files when given (config: a dict, or
    the raw bytes of a file), the scanner module the board's model answers with (fake_scanner, unless given), the
    hardware hardware(clock, recorder, module, **parts) (a FakeHardware, or a subclass with real links), then
    unit.build() as a board's main.py does. -> (the App, or a unit.Fault for a bad config; the hardware)."""
    from firmware import unit

    if board is not None:
        files.write_atomic(unit.BOARD_FILE, json.dumps(board).encode())
    if config is not None:
        files.write_atomic(unit.CONFIG_FILE, config if isinstance(config, bytes) else json.dumps(config).encode())
    if module is None:
        module = fake_scanner(board if board is not None else json.loads(files.read(unit.BOARD_FILE)))
    made = hardware(clock, recorder, module, **parts)
    return unit.build(files, clock, made), made
