"""`pintu demo`: the whole system on one machine with no hardware and no broker, in a throw-away folder.

A demo site with a small capacity, synthetic persons chosen so that every verdict comes up, their printed cards,
the real gateway (`pintu serve`'s Server, in-process) and three simulated door units running the real firmware under
CPython (host/pintu/tech/simulator.py), each on its own pty (a serial line, as a unit on USB would be) or on an MQTT
broker (--mqtt). Visitors arrive and leave on a script; a live view shows each unit's LED and last verdict and the
site's occupancy; a summary of verdicts closes the run. Everything it starts is stopped and joined on the way out,
and the folder is removed unless keep=True."""

import json
import os
import select
import shutil
import sys
import tempfile
import threading
import time
import tty
from collections import Counter
from pathlib import Path

import pintu_protocol as p
from pintu import registry
from pintu.addresses import parse_broker
from pintu.checkin import occupancy
from pintu.data.datadir import DataDir
from pintu.errors import PintuError
from pintu.gateway import server
from pintu.registry import cards, provision
from pintu.registry.tls import read_ca_file
from pintu.tech.sim_configs import simulated_link
from pintu.tech.simulator import SimulatedUnit
from pintu_protocol.verdicts import reason_name, verdict_name

SITE = "demo"
CAPACITY = 3
VERDICT_ORDER = ("GREEN", "HOLD", "RED", "BLACK", "FULL", "INVALID", "EXIT", "OFFLINE")
# Shorter than the gateway's defaults, so that the demo moves along: (feedback, relay, repeat window) in ms.
DEMO_CONFIG = p.Config(verdict_timeout_ms=3000, feedback_ms=700, relay_ms=400, repeat_ms=500, heartbeat_s=10,
                       offline_queue=1)
UNITS = (("lobby-1", "lobby"), ("lobby-2", "lobby"), ("exit-1", "belakang"))

# Synthetic persons (not real NIKs): name -> (NIK, role, dose dates, status). The site's policy is `full`.
PERSONS = {
    "Budi": ("3275010101800001", "staff", ("2021-06-01", "2021-07-01"), None),  # GREEN
    "Sari": ("3275014202850002", "visitor", ("2021-08-10",), None),  # YELLOW (one dose): HOLD, waits for the guard
    "Andi": ("3275010303900003", "visitor", (), None),  # RED: no dose
    "Dewi": ("3275014404880004", "asn", ("2021-05-01", "2021-06-01"), "positive"),  # BLACK
    "Eko": ("3275010505920005", "visitor", ("2021-07-01", "2021-08-01"), None),  # GREEN, then FULL
    "Fajar": ("3275010606870006", "staff", ("2021-06-15", "2021-07-15"), None),  # GREEN
    "Gita": ("3275014707910007", "visitor", ("2021-06-20", "2021-07-20"), "contact"),  # BLACK
    "Hadi": ("3275010808830008", "visitor", ("2021-06-02", "2021-07-02"), None),  # INVALID: card revoked
}
FORGED = "PINTU1:forged-card-that-does-not-verify"

# Who shows a code at which unit, in order: (unit, person or FORGED). Capacity 3: Eko finds the site full.
SCRIPT = (
    ("lobby-1", "Budi"), ("lobby-2", "Sari"), ("lobby-1", "Andi"), ("lobby-2", "Dewi"), ("lobby-1", "Fajar"),
    ("lobby-2", "Eko"), ("lobby-1", FORGED), ("exit-1", "Budi"), ("lobby-2", "Eko"), ("lobby-1", "Gita"),
    ("lobby-2", "Hadi"), ("exit-1", "Sari"), ("exit-1", "Fajar"), ("exit-1", "Eko"),
)


class PtyStream:
    """A unit's end of a pty pair (the master); the host opens the other end by name, like /dev/ttyACM0."""

    connected = True

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo or newline translation before the host opens (and configures) it
        self.name = os.ttyname(self.slave)

    def read(self):
        try:
            if not select.select([self.master], [], [], 0)[0]:
                return None
            return os.read(self.master, 4096) or None
        except OSError:
            return None

    def write(self, data):
        os.write(self.master, data)

    def close(self):
        pass  # the fds outlive the unit's link; shutdown() closes them after every thread has stopped

    def shutdown(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def setup(folder):
    """The throw-away data directory: site, doors, units, persons, cards. -> (codes by person, unit configs)."""
    data, _ = DataDir.init(Path(folder) / "data")
    try:
        registry.add_site(data, SITE, "Kantor Demo", CAPACITY, "full", "Puskesmas Karang Kitri", "8h")
        registry.add_door(data, "lobby", SITE, "in")
        registry.add_door(data, "belakang", SITE, "out")
        configs = []
        for device_id, door in UNITS:
            _, path = provision.add_unit(data, device_id, door)
            with open(path) as f:
                configs.append(json.load(f))
        card_dir = Path(folder) / "cards"
        card_dir.mkdir()
        codes = {FORGED: FORGED.encode()}
        for name, (nik, role, doses, status) in PERSONS.items():
            registry.add_person(data, nik, name + " (demo)", role)
            for day in doses:
                registry.add_dose(data, nik, day)
            if status:
                registry.set_status(data, nik, status)
            issued = cards.issue_card(data, nik, SITE, str(card_dir / (name.lower() + ".png")), at=time.time())
            codes[name] = issued["code"].encode()
        cards.revoke_cards(data, PERSONS["Hadi"][0])
    finally:
        data.close()
    return codes, configs


class View:
    """What the terminal shows: per unit its LED and last verdict, per site the occupancy. On a TTY the screen is
    redrawn in place (plain ANSI); otherwise one line per scan."""

    def __init__(self, units, data, out=None, live=None):
        self.units = units
        self.data = data
        self.out = out or sys.stdout
        self.live = self.out.isatty() if live is None else live
        self.last = {u.device_id: ("-", "", "") for u in units}
        self.log = []
        self._lock = threading.Lock()
        self.inside = self.occupancy()  # read here and in record(), on the caller's thread (one per connection)

    def led(self, unit):
        leds = [v for (_t, d, v) in list(unit.recorder.events) if d == "led"]
        return leds[-1] if leds else "off"

    def occupancy(self):
        row = occupancy.occupancy(self.data, SITE)[0]
        return row["inside"], row["capacity"]

    def record(self, unit, who, verdict, reason):
        with self._lock:
            self.last[unit.device_id] = (verdict, reason, who)
            self.inside = self.occupancy()
            inside, capacity = self.inside
            line = "%-8s %-7s %-8s %-16s site %s %d/%d" % (unit.device_id, who[:7], verdict, reason, SITE, inside,
                                                         capacity)
            self.log.append(line)
        if not self.live:
            self.out.write(line + "\n")
            self.out.flush()

    def draw(self, title):
        if not self.live:
            return
        with self._lock:
            inside, capacity = self.inside
            lines = ["\x1b[H\x1b[J" + title, ""]
            lines.append("%-8s %-7s %-8s %-8s %s" % ("UNIT", "LED", "VERDICT", "WHO", "REASON"))
            for u in self.units:
                verdict, reason, who = self.last[u.device_id]
                lines.append("%-8s %-7s %-8s %-8s %s" % (u.device_id, self.led(u), verdict, who[:8], reason))
            bar = "#" * inside + "." * max(0, capacity - inside)
            lines += ["", "site %s: %d/%d inside [%s]" % (SITE, inside, capacity, bar), "", "recent:"]
            lines += ["  " + line for line in self.log[-6:]]
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()


def run_demo(mqtt=None, seconds=None, forever=False, keep=False, pace=0.8, out=None, live=None,
             stop_event=None, ca=None):
    """Run the demo; returns {"verdicts": Counter of unit-side verdict names, "host": Counter from the event
    record, "folder": path or None}. stop_event (a threading.Event) ends a --forever run (Ctrl-C in the CLI).
    ca: the CA file of an mqtts:// broker; the units and the host both verify the broker with it."""
    out = out or sys.stdout
    stop_event = stop_event or threading.Event()
    folder = tempfile.mkdtemp(prefix="pintu-demo-")
    streams, units, srv, data, view_thread = [], [], None, None, None
    view_stop = threading.Event()
    started = time.monotonic()
    results = Counter()
    try:
        codes, configs = setup(folder)
        data_path = str(Path(folder) / "data")
        address = parse_broker(mqtt) if mqtt else None
        broker = address[:2] if mqtt else None
        ca_der = read_ca_file(ca) if address and address.tls and ca else None
        if address and address.tls and ca_der is None:
            raise PintuError("demo: mqtts:// needs the broker's CA file (--ca)")
        for cfg in configs:
            cfg = dict(cfg, feedback_ms=DEMO_CONFIG.feedback_ms, relay_ms=DEMO_CONFIG.relay_ms,
                       repeat_ms=DEMO_CONFIG.repeat_ms)
            if broker:
                cfg["link"] = simulated_link("mqtt", mqtt, ssid="demo", ca=ca_der)
                units.append(SimulatedUnit(cfg, mqtt=broker))
            else:
                cfg["link"] = simulated_link("serial")
                stream = PtyStream()
                streams.append(stream)
                units.append(SimulatedUnit(cfg, stream=stream))
        srv = server.Server(data_path, [s.name for s in streams], mqtt, ca=ca)
        srv.gateway.config = DEMO_CONFIG
        srv.start()
        for u in units:
            u.start()
        _wait_configured(units)
        data = DataDir(data_path)
        view = View(units, data, out, live)
        link = "MQTT %s" % mqtt if mqtt else "serial (ptys)"
        title = "Pintu demo: %d units over %s, site %s (capacity %d); data in %s" % (len(units), link, SITE,
                                                                                      CAPACITY, folder)
        if view.live:
            view_thread = threading.Thread(target=_redraw, args=(view, title, view_stop), daemon=True)
            view_thread.start()
        else:
            out.write(title + "\n")
        by_id = {u.device_id: u for u in units}

        def time_left():
            return seconds is None or time.monotonic() - started < seconds

        while not stop_event.is_set() and time_left():
            for unit_id, who in SCRIPT:
                if stop_event.is_set() or not time_left():
                    break
                verdict, reason = _show(by_id[unit_id], codes[who])
                results[verdict] += 1
                view.record(by_id[unit_id], "forged" if who == FORGED else who, verdict, reason)
                stop_event.wait(pace)
            if not forever:
                break
            _everyone_out(by_id["exit-1"], codes, data)
        view_stop.set()
        if view_thread is not None:
            view_thread.join(timeout=5)
            view.draw(title)
        host = Counter(row["verdict"] for row in _events(data))
        _summary(out, results, host, folder, keep)
        return {"verdicts": results, "host": host, "folder": folder if keep else None}
    finally:
        view_stop.set()
        for u in units:
            u.stop()
        if srv is not None:
            srv.stop()
        if data is not None:
            data.close()
        for s in streams:
            s.shutdown()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _wait_configured(units, timeout=15.0):
    """Each unit said HELLO and got the host's CONFIG (its feedback time changes to the host's)."""
    deadline = time.monotonic() + timeout
    for u in units:
        while u.app.settings["heartbeat_s"] != DEMO_CONFIG.heartbeat_s:
            if time.monotonic() > deadline:
                raise PintuError("demo: unit %s got no CONFIG from the host within %.0f s" % (u.device_id, timeout))
            time.sleep(0.05)


def _show(unit, code, timeout=10.0):
    """A visitor holds a code under the unit's scanner. -> (verdict name, reason name) as the unit shows it."""
    if not unit.wait_idle(timeout):
        return "OFFLINE", "unit busy"
    mark = len(unit.played)
    unit.scan(code)
    pattern = unit.wait_for_pattern(timeout=timeout, after=mark)
    verdict = unit.app.last_verdict
    if pattern is None or pattern == "see_guard" or verdict is None:
        return "OFFLINE", "no verdict"
    return verdict_name(verdict.verdict), reason_name(verdict.reason)


def _everyone_out(exit_unit, codes, data):
    """Between rounds of --forever: whoever is still inside leaves by the back door."""
    for name in PERSONS:
        inside = occupancy.occupancy(data, SITE)[0]["inside"]
        if not inside:
            return
        _show(exit_unit, codes[name])


def _events(data):
    from pintu.checkin import events

    return events.list_events(data, SITE, None, None, 100000)


def _redraw(view, title, stop):
    while not stop.is_set():
        try:
            view.draw(title)
        except Exception:  # noqa: BLE001 - the view must never take the demo down
            pass
        stop.wait(0.2)


def _summary(out, results, host, folder, keep):
    out.write("\nsummary of verdicts\n")
    out.write("%-8s %6s %6s\n" % ("VERDICT", "UNITS", "HOST"))
    for name in VERDICT_ORDER:
        if results.get(name) or host.get(name) or name != "OFFLINE":
            out.write("%-8s %6d %6d\n" % (name, results.get(name, 0), host.get(name, 0)))
    out.write("%-8s %6d %6d\n" % ("total", sum(results.values()), sum(host.values())))
    if keep:
        out.write("kept %s (data/ is a Pintu data directory: pintu --data %s/data events; cards/ has the cards)\n"
                  % (folder, folder))
    out.flush()
