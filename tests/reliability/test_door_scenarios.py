"""Issue 13 end to end: `pintu serve` as a process, a real Mosquitto, and simulated units running the real firmware,
whose relay says whether the door opened. One card at a full site keeps the door shut; a YELLOW waits for the guard
and opens the door once when the guard's card is scanned at that unit; a YELLOW left alone gives its place back; a
card revoked during the visit still lets its holder out."""

import os
import subprocess
import time

import pytest

from pintu import registry
from pintu.data.datadir import DataDir
from pintu.registry import cards, guards
from pintu_protocol.verdicts import (
    EXIT,
    FULL,
    GREEN,
    GUARD_IDLE,
    HOLD,
    INVALID,
    R_ALREADY_INSIDE,
    R_GUARD_CONFIRMED,
    R_HOLD_EXPIRED,
    R_REVOKED,
)
from tests.conftest import require_program
from tests.reliability.harness import PINTU, SITE, Office, mqtt_serve, mqtt_units, nik_of, relay_pulses, wait_for

pytestmark = pytest.mark.mosquitto
HOLD_S = 5


@pytest.fixture
def door(tmp_path):
    """An office under the `full` policy, capacity 2: persons 0-2 with two doses (GREEN), 4-5 with one (YELLOW);
    a guard; the host serving two entry units and an exit unit through Mosquitto."""
    require_program("mosquitto", "apt-get install mosquitto (make test does it)")
    office = Office(tmp_path / "data", persons=6, units_in=2, units_out=1, capacity=2)
    with DataDir(office.path) as data:
        registry.set_site(data, SITE, policy_name="full")
        for i in (0, 1, 2):
            registry.add_dose(data, nik_of(i), "2021-04-01")
        office.guard = guards.add_guard(data, "Joko", SITE)["code"].encode()
    broker = office.broker().start()
    serve = mqtt_serve(office, tmp_path / "serve.log").start()
    units = mqtt_units(office, office.port)
    try:
        for unit in units:
            unit.start()
        assert wait_for(lambda: all(u.app.link.connected for u in units), 20)
        office.units = dict(zip(("in-1", "in-2", "out"), units, strict=True))
        yield office
    finally:
        for unit in units:
            unit.stop()
        code = serve.stop()
        broker.stop()
        assert code == 0 and "Traceback" not in serve.log(), serve.log()


def show(unit, code):
    """Scan at a unit as a visitor does: wait until it is idle, show the code, wait for what it shows.
    -> (verdict shown, reason the host sent, relay pulses it caused)."""
    assert unit.wait_idle(timeout=15)
    pulses, shown = relay_pulses(unit), len(unit.shown)
    unit.scan(code)
    assert wait_for(lambda: len(unit.shown) > shown, 15, 0.01), unit.status()
    assert unit.wait_idle(timeout=15)
    reason = unit.app.last_verdict.reason if unit.shown[-1][1] == unit.app.last_verdict.verdict else None
    return unit.shown[-1][1], reason, relay_pulses(unit) - pulses


def inside(office):
    with DataDir(office.path) as data:
        return data.store.count_inside(SITE)


def events(office):
    with DataDir(office.path) as data:
        return [(row["verdict"], row["reason"], row["operator"]) for row in reversed(data.store.list_events())]


def test_one_card_at_a_full_site_keeps_the_door_shut(door):
    in1, in2, out = door.units["in-1"], door.units["in-2"], door.units["out"]
    assert show(in1, door.codes[0]) == (GREEN, 0, 1)
    assert show(in2, door.codes[1]) == (GREEN, 0, 1)
    for unit in (in1, in2, in1):  # the card of someone inside, passed back out and shown again
        assert show(unit, door.codes[0]) == (INVALID, R_ALREADY_INSIDE, 0)
    assert show(in1, door.codes[2])[:3:2] == (FULL, 0)
    assert inside(door) == 2
    # A card revoked during the visit still opens the exit, and the visit is closed (flagged).
    with DataDir(door.path) as data:
        cards.revoke_cards(data, nik_of(1))
    assert show(out, door.codes[1]) == (EXIT, R_REVOKED, 1)
    assert inside(door) == 1
    assert show(in1, door.codes[1])[:3:2] == (INVALID, 0)  # and it lets nobody in any more


def test_a_yellow_waits_for_the_guards_card_and_the_door_opens_once(door):
    in1, in2 = door.units["in-1"], door.units["in-2"]
    assert show(in1, door.codes[0]) == (GREEN, 0, 1)
    assert show(in1, door.codes[4])[:3:2] == (HOLD, 0)  # waiting for the guard: the door stays shut
    assert in1.played[-1][1] == "guard_wait"
    assert show(in2, door.codes[2])[:3:2] == (FULL, 0)  # the held place is taken
    assert show(in1, door.guard) == (GREEN, R_GUARD_CONFIRMED, 1)  # the guard's card at the same unit
    # Nothing left to confirm: nobody admitted (at the other unit: a unit drops the same code read again at once).
    assert show(in2, door.guard)[:3:2] == (GUARD_IDLE, 0)
    assert in2.played[-1][1] == "guard_idle"
    assert inside(door) == 2
    confirmed = [e for e in events(door) if e[1] == R_GUARD_CONFIRMED]
    assert confirmed == [(GREEN, R_GUARD_CONFIRMED, "guard:1")]


def test_a_yellow_confirmed_with_pintu_confirm_opens_the_door_it_waits_at(door):
    """Issue 19: the guard answers from the CLI (another process than `pintu serve`): the unit the visitor waits at
    opens its door once; a refusal opens nothing."""
    in1, in2 = door.units["in-1"], door.units["in-2"]
    with DataDir(door.path) as data:
        registry.add_dose(data, nik_of(3), "2021-04-01")  # a second YELLOW
    assert show(in1, door.codes[4])[:3:2] == (HOLD, 0)
    assert show(in2, door.codes[3])[:3:2] == (HOLD, 0)
    before = relay_pulses(in1), relay_pulses(in2)
    env = dict(os.environ, PINTU_DATA=door.path)
    confirm = subprocess.run(PINTU + ["confirm", "--site", SITE, nik_of(4), "--operator", "Joko"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert confirm.returncode == 0, confirm.stderr
    assert wait_for(lambda: relay_pulses(in1) > before[0], 10, 0.01), in1.status()
    refuse = subprocess.run(PINTU + ["refuse", "--site", SITE, nik_of(3)], env=env, capture_output=True, text=True,
                            timeout=60)
    assert refuse.returncode == 0, refuse.stderr
    time.sleep(2)  # a few of the gateway's looks
    assert (relay_pulses(in1), relay_pulses(in2)) == (before[0] + 1, before[1])  # once, and only where confirmed
    assert in1.shown[-1][1] == GREEN and in1.app.last_verdict.reason == R_GUARD_CONFIRMED
    assert inside(door) == 1
    assert (GREEN, R_GUARD_CONFIRMED, "Joko") in events(door)


def test_a_yellow_left_alone_gives_its_place_back(door):
    in1, in2 = door.units["in-1"], door.units["in-2"]
    with DataDir(door.path) as data:  # a short hold, so the test need not wait a minute
        registry.set_site(data, SITE, hold="%ds" % HOLD_S)
    assert show(in1, door.codes[0]) == (GREEN, 0, 1)
    assert show(in2, door.codes[4])[:3:2] == (HOLD, 0)
    held_at = time.monotonic()
    time.sleep(HOLD_S + 1.5 - (time.monotonic() - held_at))  # nobody confirms
    assert show(in1, door.codes[2]) == (GREEN, 0, 1)  # the place was released
    assert show(in2, door.guard)[:3:2] == (GUARD_IDLE, 0)  # too late: nothing to confirm
    assert (HOLD, R_HOLD_EXPIRED, None) in events(door)
    assert inside(door) == 2
