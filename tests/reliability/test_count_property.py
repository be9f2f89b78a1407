"""The count is the truth (issue 13): over random interleavings of live scans, lost and late verdicts, resends and
queued replays at several units on two doors, the host's occupancy never exceeds capacity, never falls below the
people a faithful observer at the doors counts inside, and equals that count once every unit has replayed its queue.

The observer watches bodies, not records: a person walks in when an entry unit shows GREEN (the door opens) and
walks out at an exit whatever the unit shows (nobody is kept inside: an OFFLINE exit is opened by the guard). Units
follow the protocol as the firmware does: a scan left unanswered is resent with the same scan id; a scan whose
verdict came too late, or never, is shown OFFLINE, queued with the time the code was read, and replayed as QUEUED
until the host ACKs it. Under hard anti-passback a stranger also tries the card of someone inside. Everything runs
in process through the real gateway, protocol sessions and SQLite; no wall clock."""

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import pintu_protocol as p
from pintu import registry
from pintu.data.datadir import DataDir
from pintu.gateway.gateway import Gateway
from pintu.registry import cards, provision
from pintu_protocol.verdicts import GREEN, OFFLINE

CAPACITY = 3
PERSONS = 6
ENTRY_UNITS = ("in-1", "in-2")
EXIT_UNITS = ("out-1", "out-2")
START = 1_700_000_000


class Unit:
    """One door unit's protocol side and its offline queue: [scan id, read time, direction, code]."""

    def __init__(self, config, door, direction):
        self.session = p.Session(config["device_id"], bytes.fromhex(config["key"]), p.UNIT)
        self.door = door
        self.direction = direction
        self.scan_id = 0
        self.queue = []

    def hear(self, frames):
        return [self.session.receive(frame) for frame in frames]


class World:
    def __init__(self, folder, anti_passback):
        self.data, _ = DataDir.init(folder)
        data = self.data
        registry.add_site(data, "kantor", "Kantor", CAPACITY, "dose1", "", "8h", anti_passback=anti_passback)
        registry.add_door(data, "lobby", "kantor", "in")
        registry.add_door(data, "belakang", "kantor", "out")
        self.units = {}
        for device in ENTRY_UNITS + EXIT_UNITS:
            door, direction = ("lobby", p.IN) if device in ENTRY_UNITS else ("belakang", p.OUT)
            _, path = provision.add_unit(data, device, door, "serial")
            self.units[device] = Unit(json.loads(Path(path).read_text()), door, direction)
        self.codes = []
        for i in range(PERSONS):
            nik = "3275%012d" % (i + 1)
            registry.add_person(data, nik, "")
            registry.add_dose(data, nik, "2021-03-01")
            self.codes.append(cards.issue_card(data, nik, "kantor", at=START)["code"].encode())
        self.now = START
        self.gateway = Gateway(data, clock=lambda: self.now)
        self.inside = set()  # the observer: who is physically inside

    def tick(self):
        self.now += 2  # a decision's record keeps whole seconds: keep every step in its own second

    def deliver(self, unit, msg):
        return unit.hear(self.gateway.handle(unit.session.send(msg), lambda frame: None))

    def scan(self, device, person, fate):
        """A code read at a unit; fate: what the network does to it. -> the verdict shown (OFFLINE included)."""
        unit = self.units[device]
        unit.scan_id += 1
        scan = p.Scan(unit.scan_id, unit.door, unit.direction, self.codes[person])
        shown = OFFLINE
        if fate == "lost":  # the SCAN and its resend never reach the host
            unit.session.send(scan)
            unit.session.send(scan)
        elif fate == "late":  # decided by the host, but the VERDICT comes after the unit gave up
            self.gateway.handle(unit.session.send(scan), lambda frame: None)
        else:
            if fate == "resent":  # the first frame is lost, the resend (same scan id, new frame) arrives
                unit.session.send(scan)
            [verdict] = self.deliver(unit, scan)
            if fate == "twice":  # the first VERDICT is lost; the resend gets the stored one again
                [verdict] = self.deliver(unit, scan)
            shown = verdict.verdict
        if shown == OFFLINE:
            unit.queue.append([scan.scan, self.now, scan.direction, scan.code])
        return shown

    def replay(self, device, ack_lost=False):
        unit = self.units[device]
        if not unit.queue:
            return
        scan_id, read_at, direction, code = unit.queue[0]
        [ack] = self.deliver(unit, p.Queued(scan_id, self.now - read_at, unit.door, direction, code))
        assert ack == p.Ack(p.QUEUED, scan_id)
        if not ack_lost:
            unit.queue.pop(0)

    def count(self):
        store = self.data.store
        inside = store.count_inside("kantor")
        assert inside == store.count_open_visits("kantor")
        return inside


fates = st.sampled_from(["ok", "ok", "resent", "twice", "late", "lost"])
steps = st.one_of(
    st.tuples(st.just("person"), st.integers(0, PERSONS - 1), st.integers(0, 1), fates),
    st.tuples(st.just("replay"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("passback"), st.integers(0, PERSONS - 1), st.integers(0, 1), fates),
)


@given(st.sampled_from(["hard", "soft"]), st.lists(steps, max_size=60))
def test_occupancy_is_the_people_inside(anti_passback, plan):
    with tempfile.TemporaryDirectory() as tmp:
        world = World(tmp + "/data", anti_passback)
        try:
            devices = list(ENTRY_UNITS + EXIT_UNITS)
            for step in plan:
                world.tick()
                kind = step[0]
                if kind == "replay":
                    world.replay(devices[step[1]], step[2])
                elif kind == "person":
                    _, person, which, fate = step
                    if person in world.inside:  # inside: they leave, whatever the exit unit shows
                        world.scan(EXIT_UNITS[which], person, fate)
                        world.inside.discard(person)
                    elif world.scan(ENTRY_UNITS[which], person, fate) == GREEN:
                        world.inside.add(person)  # the door opened: they walk in
                elif anti_passback == "hard" and step[1] in world.inside:
                    # A stranger outside shows the card of someone inside: hard anti-passback never opens for it.
                    _, person, which, fate = step
                    assert world.scan(ENTRY_UNITS[which], person, fate) != GREEN
                host = world.count()
                assert len(world.inside) <= host <= CAPACITY
            for device in devices:  # every unit replays what it did not show
                while world.units[device].queue:
                    world.tick()
                    world.replay(device)
            assert world.count() == len(world.inside)
        finally:
            world.data.close()
