"""Bench: a whole unit on fakes (hw_fake.unit_on_fakes) with a host peer on the far side of its serial link, or a
fake broker for MQTT; the key and config the tests use. For tests and bench/firmware_memory.py; not deployed (deploy's
TEST_ONLY). Runs under MicroPython as well as CPython."""


import pintu_protocol as p
from firmware.fake_mqtt import FakeBroker
from firmware.hw_fake import FakeClock, FakeGm65, MemFiles, Recorder, unit_on_fakes
from pintu_protocol.counters import MemoryCounters

TEST_KEY = bytes(range(0x40, 0x60))


def bench_config(**changes):
    cfg = {
        "device_id": "door-1",
        "key": TEST_KEY.hex(),
        "site": "hq",
        "door": "main",
        "direction": "in",
        "board": "esp32-devkitc-gm65",
        "link": {"kind": "serial"},
    }
    for name, value in changes.items():
        cfg[name] = value
    return cfg


class HostPeer:
    """The host's side of a unit's serial link: a HOST-role session that decodes what the unit sent and answers."""

    def __init__(self, stream, device_id="door-1", key=TEST_KEY):
        self.stream = stream
        self.session = p.Session(device_id, key, p.HOST, MemoryCounters())
        self._decoder = p.StreamDecoder()

    def read(self, wire=None):
        """Messages the unit sent since the last read (wire: bytes already taken from the stream)."""
        self._decoder.feed(self.stream.take() if wire is None else wire)
        return [self.session.receive(frame) for frame in self._decoder.frames()]

    def send(self, msg):
        self.stream.push(p.encode_stream(self.session.send(msg)))

    def configure(self, settings):
        """Answer a HELLO as the host does, with a CONFIG (here: the unit's own tunables, so nothing changes)."""
        from firmware.app import _CONFIG_FIELDS

        self.send(p.Config(*[settings[name] for name in _CONFIG_FIELDS]))


class Bench:
    """One unit on fakes, a HostPeer on its serial link (or a FakeBroker for MQTT). files: a reboot on the files of
    an earlier Bench (nothing is written); raw_config: the bytes of pintu.json instead of config."""

    def __init__(self, board, config=None, files=None, module=None, raw_config=None):
        self.clock = FakeClock()
        self.recorder = Recorder(self.clock)
        self.config = config if config is not None else bench_config(board=board["name"])
        self.module = module if module is not None else FakeGm65(baud=9600)
        self.broker = FakeBroker()
        if files is None:
            self.files = MemFiles()
            self.app, self.hardware = unit_on_fakes(
                self.files, self.clock, self.recorder, board,
                raw_config if raw_config is not None else self.config, self.module, broker=self.broker)
        else:
            self.files = files
            self.app, self.hardware = unit_on_fakes(files, self.clock, self.recorder, None, None, self.module,
                                                    broker=self.broker)
        self.stream = self.hardware.stream
        self.host = HostPeer(self.stream, self.config.get("device_id", "door-1"))

    def run(self, ms):
        from firmware.main import IDLE_MS, run_loop

        run_loop(self.app, None, self.clock, steps=max(1, ms // IDLE_MS))

    def scan(self, code, terminator=b"\r"):
        self.hardware.scanner_uart.feed(code + terminator)
