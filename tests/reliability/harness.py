"""What the crash, fault and hostile-input tests share with bench/faults.py and bench/hostile.py: an office whose
door units log in to a real Mosquitto, `pintu serve` as a process that can be killed, simulated units (the real
firmware under CPython) that say what each scan showed, and the audit that compares what the units showed with what
the host recorded. The TCP proxy that cuts the network between units and broker is in proxy.py.

Everything runs on 127.0.0.1; every wait has a timeout."""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from firmware.app import IDLE
from pintu import registry
from pintu.data.datadir import DataDir
from pintu.registry import cards, provision
from pintu.tech.simulator import SimulatedUnit
from pintu_protocol import verdicts
from pintu_protocol.verdicts import EXIT, GREEN, OFFLINE, R_ALREADY_INSIDE, YELLOW
from tests.mosquitto import Broker, free_port

PINTU = [str(Path(sys.executable).parent / "pintu")]  # the console script, as an operator runs it
SITE = "kantor"
IN_DOOR, OUT_DOOR = "lobby", "belakang"


def nik_of(i):
    return "3275%012d" % (i + 1)


def name_of(i):
    return "Warga Nomor%d Uji" % i  # unmistakable in a grep of logs and files


def wait_for(predicate, timeout=15.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


# -- the office ------------------------------------------------------------------------------------------------------


class Office:
    """A data directory with site `kantor` (policy dose1), an entry door and an exit door, `units_in` + `units_out`
    door units, and `persons` people with cards: most with a dose (GREEN), every 7th none (RED), every 13th positive
    (BLACK). With link="mqtt", also the broker's files (`pintu broker-config`) for a broker on `port`."""

    def __init__(self, path, persons=40, units_in=2, units_out=1, capacity=1000, link="mqtt", port=None,
                 database=None, broker_host="127.0.0.1"):
        self.path = str(path)
        self.port = port or free_port()
        self.broker_host = broker_host
        data, _ = DataDir.init(self.path, database=database)
        try:
            registry.add_site(data, SITE, "Kantor Walikota", capacity, "dose1", "Puskesmas Karang Kitri", "8h")
            registry.add_door(data, IN_DOOR, SITE, "in")
            registry.add_door(data, OUT_DOOR, SITE, "out")
            extra = {}
            if link == "mqtt":
                extra = {"wifi_ssid": "office", "wifi_password": "pw", "broker": "%s:%d" % (broker_host, self.port)}
            self.configs = []
            for i in range(units_in + units_out):
                door = IN_DOOR if i < units_in else OUT_DOOR
                _, cfg_path = provision.add_unit(data, "unit-%d" % (i + 1), door, link, **extra)
                cfg = json.loads(Path(cfg_path).read_text())
                # Quicker than a staffed door, so a test makes more scans in its time (the host's CONFIG after
                # HELLO sets its own values anyway).
                cfg.update(verdict_timeout_ms=2000, feedback_ms=300, relay_ms=100, repeat_ms=0)
                self.configs.append(cfg)
            self.niks, self.names, self.codes = [], [], []
            for i in range(persons):
                registry.add_person(data, nik_of(i), name_of(i))
                if i % 7 != 3:
                    registry.add_dose(data, nik_of(i), "2021-03-01")
                if i % 13 == 5:
                    registry.set_status(data, nik_of(i), "positive")
                self.niks.append(nik_of(i))
                self.names.append(name_of(i))
                self.codes.append(cards.issue_card(data, nik_of(i), SITE)["code"].encode())
            if link == "mqtt":
                self.broker_dir = Path(self.path).parent / "broker"
                provision.broker_config(data, self.broker_dir, port=self.port, bind=broker_host)
        finally:
            data.close()

    def broker(self, prefix=()):
        return Broker(self.broker_dir / "mosquitto.conf", self.port, Path(self.path).parent / "mosquitto.log",
                      host=self.broker_host, prefix=prefix)


# -- `pintu serve` as a process --------------------------------------------------------------------------------------


class Serve:
    """`pintu serve ARGS` with its log appended to log_path; start(), kill() (SIGKILL), stop() (SIGTERM)."""

    def __init__(self, data_path, args, log_path, prefix=()):
        self.data_path = str(data_path)
        self.prefix = list(prefix)  # e.g. `ip netns exec HOST` (tests/netns.py)
        self.args = list(args)
        self.log_path = Path(log_path)
        self.proc = None
        self.starts = 0

    def start(self):
        env = dict(os.environ, PINTU_DATA=self.data_path, PYTHONUNBUFFERED="1")
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(self.prefix + PINTU + ["serve", *self.args], env=env, stdout=log,
                                         stderr=subprocess.STDOUT)
        self.starts += 1
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        """SIGTERM and wait; -> the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def mqtt_serve(office, log_path, client_id="host-a", user=None, prefix=()):
    """user: the worker's broker login (pintu-host, pintu-host-2, ...: one per worker); default the first.
    prefix: the command it runs under (another host's namespace, tests/netns.py)."""
    args = ["--mqtt", "mqtt://%s:%d" % (office.broker_host, office.port), "--client-id", client_id]
    return Serve(office.path, args + (["--user", user] if user else []), log_path, prefix)


# -- simulated units (each records what it showed: SimulatedUnit.shown) ---------------------------------------------


def mqtt_units(office, port, workdir=None, host="127.0.0.1"):
    """One SimulatedUnit per office config, logging in to host:port (the broker or a proxy in front of it)."""
    units = []
    for cfg in office.configs:
        folder = None if workdir is None else Path(workdir) / cfg["device_id"]
        units.append(SimulatedUnit(cfg, None, (host, port), None, folder))
    return units


def relay_pulses(unit):
    return sum(1 for device, value in unit.recorder.values(("relay",)) if device == "relay" and value == 1)


class Driver:
    """Scans codes on every unit, one at a time per unit as at a real door: scan, wait for what the unit shows,
    wait until it is idle, next. Stops after `total` scans in all."""

    def __init__(self, units, codes, total, seed=7):
        self.units = units
        self.codes = codes
        self.total = total
        self.sent = 0
        self.unanswered = 0
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._threads = []

    def _take(self):
        with self._lock:
            if self.sent >= self.total:
                return None
            self.sent += 1
            return self.codes[self._rng.randrange(len(self.codes))]

    def _run(self, unit):
        last = None
        while True:
            code = self._take()
            if code is None:
                return
            if code == last:
                code = self.codes[(self.codes.index(code) + 1) % len(self.codes)]
            last = code
            unit.wait_idle(timeout=30)
            before = len(unit.shown)
            unit.scan(code)
            if not wait_for(lambda before=before: len(unit.shown) > before, timeout=30, step=0.01):
                self.unanswered += 1

    def start(self):
        for unit in self.units:
            t = threading.Thread(target=self._run, args=(unit,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def done(self):
        return not any(t.is_alive() for t in self._threads)

    def join(self, timeout=300):
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return self.done()


def settle(units, timeout=60):
    """Wait until every unit is idle with an empty offline queue and nothing in flight. -> bool."""
    # An empty queue has no QUEUED replay in flight either: a replay is of the queue's head, removed once settled.
    return wait_for(lambda: all(u.app.state == IDLE and not u.app.feedback.busy and len(u.app.queue) == 0
                                for u in units), timeout, 0.1)


# -- the audit ---------------------------------------------------------------------------------------------------------


def audit(data_path, units):
    """Compare what the units showed with what the host recorded. -> dict of counts; `discrepancies` sums the
    ones that must be 0:

    lost          a scan a unit showed (a verdict, or OFFLINE and then queued) with no event
    mismatched    a verdict shown that differs from the one recorded for that scan
    phantom       a recorded scan no unit made
    doubled       an event without its own scan record (a decision counted twice), or a second open visit
    occupancy_off the site's inside count differs from the people inside according to the event log
    offline_admit a door opened (relay pulse) for anything but a shown GREEN/EXIT
    """
    with DataDir(data_path) as data:
        store = data.store  # its _all runs on either backend
        scan_rows = {(r["source"], r["scan_ref"]): r["event_id"] for r in store._all("SELECT * FROM scans")}
        events = {r["id"]: r for r in store._all("SELECT * FROM events ORDER BY id")}
        inside_now = data.store.count_inside(SITE)
        open_visits = store._all("SELECT person_id, COUNT(*) FROM visits WHERE check_out IS NULL"
                                 " GROUP BY person_id HAVING COUNT(*) > 1")
    made = {}
    opened = 0
    for unit in units:
        for scan_id, verdict in unit.shown:
            made[("device:" + unit.device_id, scan_id)] = verdict
        opened += relay_pulses(unit)
    lost = mismatched = 0
    for key, shown in made.items():
        event_id = scan_rows.get(key)
        if event_id is None or event_id not in events:
            lost += 1
        elif shown != OFFLINE and events[event_id]["verdict"] != shown:
            mismatched += 1
    phantom = sum(1 for key in scan_rows if key not in made)
    referenced = Counter(scan_rows.values())
    # An OFFLINE/not_shown event undoes an admission nobody saw (checkin._undo_unseen_admission): it belongs to the
    # scan's replay, not to a scan of its own.
    undone = [row for row in events.values() if row["verdict"] == OFFLINE]
    doubled = sum(1 for eid, row in events.items()
                  if row["device_id"] and row["verdict"] != OFFLINE and referenced[eid] != 1)
    doubled += len(open_visits)
    inside = set()
    for row in events.values():  # the log, oldest first: who is inside according to it
        if row["person_id"] is None:
            continue
        if row["verdict"] in (GREEN, YELLOW) and not row["queued"]:
            inside.add(row["person_id"])
        elif row["verdict"] in (EXIT, OFFLINE):
            inside.discard(row["person_id"])
    occupancy_off = abs(len(inside) - inside_now)
    should_open = sum(1 for v in made.values() if verdicts.opens_door(v))
    offline_admit = max(0, opened - should_open)
    shown_offline = sum(1 for v in made.values() if v == OFFLINE)
    # Decided and recorded as an admission, but the unit had already given up and shown OFFLINE: the door did not
    # open. The scan's QUEUED replay undoes it; what is left here was not (yet) undone.
    admitted_unseen = -len(undone) + sum(1 for key, v in made.items() if v == OFFLINE and key in scan_rows
                          and scan_rows[key] in events and not events[scan_rows[key]]["queued"]
                          and events[scan_rows[key]]["verdict"] in (GREEN, YELLOW)
                          and events[scan_rows[key]]["reason"] != R_ALREADY_INSIDE)
    return {
        "scans_made": len(made),
        "verdicts_shown": len(made) - shown_offline,
        "offline_shown": shown_offline,
        "events_stored": len(events) - len(undone),  # decisions; the undo records are counted on their own
        "admissions_undone": len(undone),
        "inside": inside_now,
        "inside_by_log": len(inside),
        "lost": lost,
        "mismatched": mismatched,
        "phantom": phantom,
        "doubled": doubled,
        "occupancy_off": occupancy_off,
        "offline_admit": offline_admit,
        "admitted_unseen": admitted_unseen,
        "discrepancies": lost + mismatched + phantom + doubled + occupancy_off + offline_admit,
    }
