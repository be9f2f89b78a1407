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

import json
import threading
import time
from pathlib import Path

from pintu.addresses import parse_broker
from pintu.tech import unit_files

UNIT_FILES = unit_files.locate()
UNIT_FILES.put_on_sys_path()  # the real firmware, imported as `firmware` as on the board

from firmware import hw, main, unit  # noqa: E402
from firmware.app import FEEDBACK, IDLE, WAITING  # noqa: E402
from firmware.hw_fake import MemFiles, Recorder, unit_on_fakes  # noqa: E402
from pintu.tech.sim_configs import (  # noqa: E402
    DEFAULT_BOARD,
    DEFAULT_KEY_SEED,
    SimulatorError,
    device_key,
    load_configs,
    make_configs,
    read_codes,
    simulated_link,
)
from pintu.tech.sim_hardware import SerialStream, SimClock, SimHardware  # noqa: E402
from pintu_protocol.verdicts import verdict_pattern  # noqa: E402

STATE_NAMES = {IDLE: "idle", WAITING: "waiting", FEEDBACK: "feedback"}


# -- boards --------------------------------------------------------------------------------------------------------


def load_board(name):
    path = UNIT_FILES.board_path(name)
    if path is None:
        known = ", ".join(UNIT_FILES.board_names()) or "none"
        raise SimulatorError("unknown board %r (boards/ has %s)" % (name, known))
    return json.loads(path.read_text())


# -- units ---------------------------------------------------------------------------------------------------------


class SimulatedUnit:
    """One door unit running the real firmware in a thread. scan() shows it a code; played and shown (through the
    app's on_shown hook) and recorder say what a visitor would have seen and heard."""

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
        self.app, self.hardware = unit_on_fakes(self.files, self.clock, self.recorder, board, config,
                                                hardware=SimHardware, stream=stream, mqtt=mqtt)
        if isinstance(self.app, unit.Fault):
            raise SimulatorError("unit %s: bad config: %s" % (self.device_id, self.app.reason))
        self.played = []  # (ms, pattern name) of what each scan showed a visitor, in order
        self.shown = []  # (scan id, verdict code) of the same: a host verdict, or OFFLINE
        self._new_pattern = threading.Condition()
        self.app.on_shown = self._on_shown
        self._stop = threading.Event()
        self._thread = None

    def _on_shown(self, scan_id, code):  # called on the unit's thread
        with self._new_pattern:
            self.shown.append((scan_id, code))
            self.played.append((self.clock.now_ms, verdict_pattern(code)))
            self._new_pattern.notify_all()

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
        while self.app.state != IDLE or self.app.feedback.busy:
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
            "state": STATE_NAMES.get(app.state, str(app.state)),
            "link_up": app.link.connected,
            "queued": len(app.queue),
            "dropped": app.queue.dropped,
            "errors": app.errors,
            "last_error": app.last_error,
            "counts": dict(app.counts),
        }


class Simulator:
    """N simulated units, one per config: serial=[port or URL per unit] or mqtt="mqtt://HOST:PORT" (or mqtts://: then
    each unit's config carries the CA, as `pintu device add --tls` writes it, or `ca` gives it, DER bytes)."""

    def __init__(self, configs, serial=None, mqtt=None, workdir=None, board=None, ca=None):
        if not configs:
            raise SimulatorError("no unit configs")
        if (serial is None) == (mqtt is None):
            raise SimulatorError("give either serial ports (one per unit) or an MQTT URL")
        if serial is not None and len(serial) < len(configs):
            raise SimulatorError("%d units need %d serial ports, got %d" % (len(configs), len(configs), len(serial)))
        self.units = []
        address = parse_broker(mqtt) if mqtt else None
        broker = address[:2] if mqtt else None
        try:
            for i, cfg in enumerate(configs):
                cfg = dict(cfg)
                if serial is not None:
                    cfg["link"] = simulated_link("serial")
                    stream = SerialStream(serial[i])
                else:
                    link = cfg.get("link") or {}
                    if link.get("kind") == "mqtt":  # a provisioned unit keeps its login, the broker is ours
                        if ("tls" in link) != address.tls:
                            raise SimulatorError("unit %s is configured for %s, the broker given is %s" % (
                                cfg.get("device_id"), "TLS" if "tls" in link else "plain MQTT", mqtt.split(":")[0]))
                        cfg["link"] = dict(link, broker=broker[0], port=broker[1])
                    else:
                        if address.tls and ca is None:
                            raise SimulatorError("mqtts:// needs the broker's CA (--ca, or DATA/tls/ca.pem)")
                        cfg["link"] = simulated_link("mqtt", mqtt, ca=ca if address.tls else None)
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
            if shown + dropped >= n and not any(u.app.state != IDLE or u.app.feedback.busy for u in self.units):
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


def run_simulation(units=None, serial=None, mqtt=None, codes_file=None, rate=1.0, count=None, duration=None,
                   config_files=None, site="demo", board=DEFAULT_BOARD, workdir=None, seed=DEFAULT_KEY_SEED, ca=None):
    """What `pintu simulate` does: start the units, show codes at `rate` scans/s, stop, return the stats.

    Units come from config_files (written by provisioning) or are made up (make_configs: keys from `seed`, which a
    host must know). Codes come from codes_file (one per line) or are made up (the host will find them INVALID).
    ca: the CA certificate (DER) made-up units check an mqtts:// broker with."""
    configs = load_configs(config_files) if config_files else make_configs(units or 1, site=site, board=board,
                                                                           link="mqtt" if mqtt else "serial",
                                                                           mqtt=mqtt, seed=seed, ca=ca)
    if units and len(configs) > units:
        configs = configs[:units]
    codes = read_codes(codes_file) if codes_file else [b"PINTU-SIM-%d" % i for i in range(1, 101)]
    with Simulator(configs, serial=serial, mqtt=mqtt, workdir=workdir, ca=ca) as sim:
        time.sleep(0.5)  # let the links come up and say HELLO
        stats = sim.run(codes, rate=rate, count=count, duration=duration)
        stats["units"] = sim.status()
    return stats


__all__ = [
    "Simulator", "SimulatedUnit", "SimulatorError", "SerialStream", "make_configs", "load_configs", "load_board",
    "device_key", "read_codes", "run_simulation",
]
