"""Simulated door units: N units running this repository's real firmware (firmware/) under CPython, each with its
own device config, a virtual scanner (an emulated GM65 on a fake UART) and recorded LEDs/buzzer/relay, talking to a
host over serial-style links (a pty, a serial port, a pyserial URL such as socket://) or MQTT (umqtt.simple over
CPython sockets).

Library API (the `pintu simulate` command is a thin layer over it):

    configs = make_configs(3, site="demo", link="serial")            # or load_configs(paths) from provisioning
    with Simulator(configs, serial=["/dev/pts/5", ...]) as sim:      # or mqtt="mqtt://127.0.0.1:1883"
        sim.run(codes=[b"PINTU1:..."], rate=5.0, count=100)          # -> stats dict
        sim.units[0].scan(b"PINTU1:...")
        sim.units[0].wait_for_pattern(timeout=5)                     # -> "admit", "see_guard", ...
"""

import hashlib
import json
import socket
import sys
import threading
import time
import types
from pathlib import Path

from pintu.tech import unit_files

DEFAULT_BOARD = "esp32-devkitc-gm65"
DEFAULT_KEY_SEED = b"pintu-simulator"

UNIT_FILES = unit_files.locate()
UNIT_FILES.put_on_sys_path()  # the real firmware, imported as `firmware` as on the board

from firmware import hw, main, unit  # noqa: E402
from firmware.hw_fake import FakeGm65, FakeHardware, MemFiles, Recorder  # noqa: E402


class SimulatorError(Exception):
    """A simulation that cannot be set up (bad config, missing port, unknown board)."""


# -- keys and configs --------------------------------------------------------------------------------------------------


def device_key(device_id, seed=DEFAULT_KEY_SEED):
    """A deterministic 32-byte key per simulated device, so a test host can know it without provisioning."""
    return hashlib.sha256(seed + b"/" + device_id.encode()).digest()


def make_configs(n, site="demo", door="main", board=DEFAULT_BOARD, link="serial", mqtt=None, prefix="sim",
                 seed=DEFAULT_KEY_SEED, directions=("in",)):
    """n unit configs (the same JSON the host's provisioning writes), device ids prefix-1..prefix-n."""
    configs = []
    for i in range(1, n + 1):
        device_id = "%s-%d" % (prefix, i)
        cfg = {
            "device_id": device_id,
            "key": device_key(device_id, seed).hex(),
            "site": site,
            "door": door,
            "direction": directions[(i - 1) % len(directions)],
            "board": board,
            "link": {"kind": "serial"},
        }
        if link == "mqtt":
            host, port = parse_mqtt_url(mqtt or "mqtt://127.0.0.1:1883")
            cfg["link"] = {"kind": "mqtt", "wifi_ssid": "simulated", "broker": host, "port": port, "keepalive": 30}
        configs.append(cfg)
    return configs


def load_configs(paths):
    configs = []
    for path in paths:
        try:
            configs.append(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as e:
            raise SimulatorError("cannot read unit config %s: %s" % (path, e)) from None
    return configs


def load_board(name):
    path = UNIT_FILES.board_path(name)
    if path is None:
        known = ", ".join(UNIT_FILES.board_names()) or "none"
        raise SimulatorError("unknown board %r (boards/ has %s)" % (name, known))
    return json.loads(path.read_text())


def parse_mqtt_url(url):
    """mqtt://HOST[:PORT] -> (host, port)."""
    if not url.startswith("mqtt://"):
        raise SimulatorError("MQTT URL must look like mqtt://HOST:PORT, not %r" % url)
    rest = url[len("mqtt://"):].rstrip("/")
    host, _, port = rest.partition(":")
    try:
        return host or "127.0.0.1", int(port) if port else 1883
    except ValueError:
        raise SimulatorError("bad port in %r" % url) from None


# -- CPython adapters for the firmware's seams -------------------------------------------------------------------------


class SimClock(hw.Clock):
    """Real time, plus now_ms (ms since start) for the recorder's timestamps."""

    def __init__(self):
        self._start = time.monotonic()

    @property
    def now_ms(self):
        return int((time.monotonic() - self._start) * 1000)


class SerialStream:
    """A pyserial port (device path or URL: socket://, loop://, rfc2217://) as the firmware's byte stream."""

    def __init__(self, port, baudrate=115200):
        import serial

        try:
            self._port = serial.serial_for_url(port, baudrate=baudrate, timeout=0, write_timeout=2)
        except (serial.SerialException, ValueError) as e:
            raise SimulatorError("cannot open %s: %s" % (port, e)) from None
        self.name = port
        self.connected = True

    def read(self):
        import serial

        try:
            waiting = self._port.in_waiting
            data = self._port.read(waiting or 1)
        except (serial.SerialException, OSError):
            self.connected = False
            return None
        return data or None

    def write(self, data):
        self._port.write(data)

    def close(self):
        self._port.close()


class _USocket:
    """A CPython socket with the MicroPython stream methods umqtt.simple calls (read, write, setblocking)."""

    def __init__(self):
        self._sock = socket.socket()
        self._blocking = True

    def connect(self, addr):
        self._sock.settimeout(5)
        self._sock.connect(addr)
        self._sock.settimeout(None)

    def setblocking(self, flag):
        self._blocking = flag
        self._sock.setblocking(flag)

    def read(self, n):
        if not self._blocking:
            try:
                data = self._sock.recv(n)
            except (BlockingIOError, InterruptedError):
                return None
            return data
        buf = b""
        while len(buf) < n:
            chunk = self._sock.recv(n - len(buf))
            if not chunk:
                return buf
            buf += chunk
        return buf

    def write(self, data, length=None):
        if isinstance(data, str):  # MicroPython streams take str too (umqtt writes the client id as one)
            data = data.encode()
        data = bytes(data if length is None else data[:length])
        self._sock.setblocking(True)
        try:
            self._sock.sendall(data)
        finally:
            self._sock.setblocking(self._blocking)
        return len(data)

    def close(self):
        self._sock.close()


def _install_umqtt_shims():
    """umqtt.simple imports usocket, ustruct and ubinascii: give CPython equivalents (only if not present)."""
    import binascii
    import struct

    if "usocket" not in sys.modules:
        usocket = types.ModuleType("usocket")
        usocket.socket = _USocket
        usocket.getaddrinfo = socket.getaddrinfo
        sys.modules["usocket"] = usocket
    sys.modules.setdefault("ustruct", struct)
    sys.modules.setdefault("ubinascii", binascii)


class SimHardware(FakeHardware):
    """Fake scanner and outputs, with a real serial stream or real MQTT sockets for the link."""

    def __init__(self, clock, recorder, module, stream=None, mqtt=None):
        super().__init__(clock, recorder, module, stream=stream)
        self._mqtt = mqtt  # (host, port) overriding the config's broker, or None

    def mqtt_client(self, client_id, host, port, user, password, keepalive):
        _install_umqtt_shims()
        from umqtt.simple import MQTTClient

        if self._mqtt:
            host, port = self._mqtt
        return MQTTClient(client_id, host, port, user, password, keepalive)

    def mem_free(self):
        return 0


# -- units ---------------------------------------------------------------------------------------------------------


class SimulatedUnit:
    """One door unit running the real firmware in a thread. scan() shows it a code; played and recorder say what a
    visitor would have seen and heard."""

    def __init__(self, config, stream=None, mqtt=None, board=None, workdir=None):
        board = board or load_board(config.get("board", DEFAULT_BOARD))
        self.device_id = config.get("device_id", "?")
        self.config = config
        self.clock = SimClock()
        self.recorder = Recorder(self.clock)
        if workdir is not None:
            Path(workdir).mkdir(parents=True, exist_ok=True)
            self.files = hw.Files(str(workdir))
        else:
            self.files = MemFiles()
        self.files.write_atomic("board.json", json.dumps(board).encode())
        self.files.write_atomic("pintu.json", json.dumps(config).encode())
        module = None if board["scanner"]["model"] == "m5-atomic-qr" else FakeGm65(board["scanner"]["factory_baud"])
        self.hardware = SimHardware(self.clock, self.recorder, module, stream, mqtt)
        self.app = unit.build(self.files, self.clock, self.hardware)
        if isinstance(self.app, unit.Fault):
            raise SimulatorError("unit %s: bad config: %s" % (self.device_id, self.app.reason))
        self.played = []  # (ms, pattern name) of every feedback pattern, in order
        self._new_pattern = threading.Condition()
        play = self.app.feedback.play

        def recorded_play(name, hold_ms=None, relay_ms=0):
            play(name, hold_ms, relay_ms)
            with self._new_pattern:
                self.played.append((self.clock.now_ms, name))
                self._new_pattern.notify_all()

        self.app.feedback.play = recorded_play
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="unit-" + self.device_id, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            main.run_loop(self.app, None, self.clock, steps=20)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.app.close()
        except Exception:  # noqa: BLE001 - a link already gone is fine at shutdown
            pass

    def scan(self, code):
        """Hold a code under the virtual scanner (it reads it once, CR-terminated)."""
        if isinstance(code, str):
            code = code.encode()
        self.hardware.scanner_uart.feed(code + b"\r")

    def wait_idle(self, timeout=5.0):
        """Wait until the unit is idle again (feedback over): codes shown before that are dropped, as at a door."""
        deadline = time.monotonic() + timeout
        while self.app.state != 0 or self.app.feedback.busy:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def wait_for_pattern(self, timeout=5.0, after=None):
        """The name of the next pattern played (after index `after`, default: from now), or None on timeout."""
        with self._new_pattern:
            start = len(self.played) if after is None else after
            if not self._new_pattern.wait_for(lambda: len(self.played) > start, timeout):
                return None
            return self.played[start][1]

    def status(self):
        app = self.app
        return {
            "device_id": self.device_id,
            "state": ("idle", "waiting", "feedback")[app.state],
            "link_up": app.link.connected,
            "queued": len(app.queue),
            "dropped": app.queue.dropped,
            "errors": app.errors,
            "last_error": app.last_error,
            "counts": dict(app.counts),
        }


class Simulator:
    """N simulated units, one per config: serial=[port or URL per unit] or mqtt="mqtt://HOST:PORT"."""

    def __init__(self, configs, serial=None, mqtt=None, workdir=None, board=None):
        if not configs:
            raise SimulatorError("no unit configs")
        if (serial is None) == (mqtt is None):
            raise SimulatorError("give either serial ports (one per unit) or an MQTT URL")
        if serial is not None and len(serial) < len(configs):
            raise SimulatorError("%d units need %d serial ports, got %d" % (len(configs), len(configs), len(serial)))
        self.units = []
        broker = parse_mqtt_url(mqtt) if mqtt else None
        try:
            for i, cfg in enumerate(configs):
                cfg = dict(cfg)
                if serial is not None:
                    cfg["link"] = {"kind": "serial", "repl_escape": False}
                    stream = SerialStream(serial[i])
                else:
                    link = dict(cfg.get("link") or {})
                    if link.get("kind") != "mqtt":
                        link = {"kind": "mqtt", "wifi_ssid": "simulated", "keepalive": 30}
                    link["broker"], link["port"] = broker
                    cfg["link"] = link
                    stream = None
                folder = None if workdir is None else Path(workdir) / cfg.get("device_id", str(i))
                board_def = load_board(board) if board else None
                self.units.append(SimulatedUnit(cfg, stream, broker, board_def, folder))
        except Exception:
            for u in self.units:
                u.stop()
            raise

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        for u in self.units:
            u.start()
        return self

    def stop(self):
        for u in self.units:
            u.stop()

    def run(self, codes, rate=1.0, count=None, duration=None, settle=5.0):
        """Show codes (round robin over codes and units) at `rate` scans per second in total, until `count` scans
        or `duration` seconds; then wait up to `settle` s for the last feedback. Returns stats."""
        if not codes:
            raise SimulatorError("no codes to scan")
        if count is None and duration is None:
            count = len(codes)
        marks = [len(u.played) for u in self.units]
        dropped_before = sum(u.app.counts["duplicates"] + u.app.counts["busy"] for u in self.units)
        started = time.monotonic()
        n = 0
        while (count is None or n < count) and (duration is None or time.monotonic() - started < duration):
            due = started + n / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            self.units[n % len(self.units)].scan(codes[n % len(codes)])
            n += 1
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:  # every scan shown, or dropped as a duplicate or while busy
            shown = sum(len(u.played) - mark for u, mark in zip(self.units, marks, strict=True))
            dropped = sum(u.app.counts["duplicates"] + u.app.counts["busy"] for u in self.units) - dropped_before
            if shown + dropped >= n and not any(u.app.state or u.app.feedback.busy for u in self.units):
                break
            time.sleep(0.02)
        patterns = {}
        for u, mark in zip(self.units, marks, strict=True):
            for _t, name in u.played[mark:]:
                patterns[name] = patterns.get(name, 0) + 1
        return {
            "scans": n,
            "seconds": round(time.monotonic() - started, 3),
            "patterns": patterns,
            "duplicates": sum(u.app.counts["duplicates"] for u in self.units),
            "busy": sum(u.app.counts["busy"] for u in self.units),
            "queued": sum(len(u.app.queue) for u in self.units),
            "errors": sum(u.app.errors for u in self.units),
        }

    def status(self):
        return [u.status() for u in self.units]


def read_codes(path):
    """One code per line (blank lines skipped), as bytes."""
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as e:
        raise SimulatorError("cannot read codes from %s: %s" % (path, e)) from None
    return [line.strip() for line in lines if line.strip()]


def run_simulation(units=None, serial=None, mqtt=None, codes_file=None, rate=1.0, count=None, duration=None,
                   config_files=None, site="demo", board=DEFAULT_BOARD, workdir=None, seed=DEFAULT_KEY_SEED):
    """What `pintu simulate` does: start the units, show codes at `rate` scans/s, stop, return the stats.

    Units come from config_files (written by provisioning) or are made up (make_configs: keys from `seed`, which a
    host must know). Codes come from codes_file (one per line) or are made up (the host will find them INVALID)."""
    configs = load_configs(config_files) if config_files else make_configs(units or 1, site=site, board=board,
                                                                           link="mqtt" if mqtt else "serial",
                                                                           mqtt=mqtt, seed=seed)
    if units and len(configs) > units:
        configs = configs[:units]
    codes = read_codes(codes_file) if codes_file else [b"PINTU-SIM-%d" % i for i in range(1, 101)]
    with Simulator(configs, serial=serial, mqtt=mqtt, workdir=workdir) as sim:
        time.sleep(0.5)  # let the links come up and say HELLO
        stats = sim.run(codes, rate=rate, count=count, duration=duration)
        stats["units"] = sim.status()
    return stats


__all__ = [
    "Simulator", "SimulatedUnit", "SimulatorError", "SerialStream", "make_configs", "load_configs", "load_board",
    "device_key", "parse_mqtt_url", "read_codes", "run_simulation",
]
