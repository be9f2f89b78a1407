"""Issue 19 end to end: the real door-unit firmware (on fake hardware) on its serial link to the real gateway, and a
guard who confirms a YELLOW by hand (`checkin.settle_hold`, what `pintu confirm` and the console call) from another
connection to the same database, as another process would. The unit's relay says whether the door opened."""

import threading
import time

import pytest

from pintu import checkin, registry
from pintu.checkin import door_opens
from pintu.data.datadir import DataDir
from pintu.gateway.gateway import Gateway
from pintu_protocol.verdicts import GREEN, HOLD, R_GUARD_CONFIRMED, R_GUARD_REFUSED

from .conftest import PEOPLE
from .test_unit_faults import Wired

DEWI = PEOPLE["dewi"][0]  # one dose: YELLOW under the `full` policy, so her scan is held for the guard


class Pushed(Wired):
    """A Wired unit whose frames go to several gateways in turn (workers sharing the unit), each of which looks for
    door opens at every step, as `pintu serve` does every door_opens.PUSH_EVERY_S."""

    def __init__(self, office, gateways):
        super().__init__(office, gateways[0])
        self.gateways = gateways
        self.turn = 0

    def run(self, ms, step=10):
        for _ in range(max(1, ms // step)):
            self.bench.run(step)
            self.decoder.feed(self.bench.stream.take())
            for frame in self.decoder.frames():
                self.sent.append(self._type(frame))
                self.turn = (self.turn + 1) % len(self.gateways)
                self.gateways[self.turn].handle(frame, self._reply)
            for gateway in self.gateways:
                gateway.push_opens()

    def pulses(self):
        return self.bench.recorder.values().count(("relay", 1))


@pytest.fixture
def yellow(office):
    registry.set_site(office.data, "kantor", policy_name="full")
    return office


def held_unit(office, gateways):
    """Dewi scanned at door-1: HOLD shown, the door shut. -> the unit."""
    unit = Pushed(office, gateways)
    unit.run(100)
    unit.scan(office.codes["dewi"])
    unit.run(4000)  # answered, and the guard_wait pattern has run out
    assert unit.bench.app.last_verdict.verdict == HOLD and unit.pulses() == 0
    assert office.data.store.count_inside("kantor") == 0
    return unit


def settle(office, confirm, at=None):
    """The guard's answer from another connection to the database (another process's view: the CLI, the console)."""
    with DataDir(office.path) as other:
        return checkin.settle_hold(other, "kantor", DEWI, confirm, operator="Joko", at=at)


def test_a_confirmation_by_hand_opens_the_door_the_visitor_waits_at_once(yellow):
    gateway = Gateway(yellow.data)
    unit = held_unit(yellow, [gateway])
    shown = []
    unit.bench.app.on_shown = lambda scan, code: shown.append(code)
    decision = settle(yellow, True)
    assert (decision.verdict, decision.reason, decision.occupancy) == (GREEN, R_GUARD_CONFIRMED, 1)
    unit.run(300)
    assert unit.pulses() == 1 and shown == [GREEN]  # the relay pulsed once, the visitor saw GREEN
    assert unit.bench.app.last_verdict.reason == R_GUARD_CONFIRMED and unit.answers.count("verdict") == 2
    unit.run(5000)
    assert unit.pulses() == 1 and gateway.stats["door_opens"] == 1  # once only
    assert yellow.data.store.count_inside("kantor") == 1


def test_a_confirmation_past_the_deadline_opens_nothing_and_the_record_says_what_happened(yellow):
    late = [0.0]
    gateway = Gateway(yellow.data, clock=lambda: time.time() + late[0])
    unit = held_unit(yellow, [gateway])
    # The gateway does not look until after the deadline (stopped, its database unreachable meanwhile: whatever).
    unit.gateways = []
    settle(yellow, True)
    unit.run(200)
    late[0] = door_opens.OPEN_WINDOW_S + 1
    unit.gateways = [gateway]
    unit.run(2000)
    assert unit.pulses() == 0 and gateway.stats["door_opens"] == 0  # never a late door
    last = yellow.data.store.list_events(limit=1)[0]
    assert (last["verdict"], last["reason"], last["operator"]) == (GREEN, R_GUARD_CONFIRMED, "Joko")
    assert yellow.data.store.count_inside("kantor") == 1  # confirmed and inside: the guard lets her through
    held_scan = yellow.data.store.find_scan("device:door-1", unit.bench.app.last_verdict.scan)
    hold = yellow.data.store.hold_of_event(held_scan["id"])
    assert (hold["outcome"], hold["guard"], hold["open_outcome"]) == ("confirmed", "Joko", "late")


def test_a_refusal_opens_nothing(yellow):
    gateway = Gateway(yellow.data)
    unit = held_unit(yellow, [gateway])
    decision = settle(yellow, False)
    assert (decision.verdict, decision.reason) == (HOLD, R_GUARD_REFUSED)
    unit.run(2000)
    assert unit.pulses() == 0 and unit.answers.count("verdict") == 1
    assert yellow.data.store.count_inside("kantor") == 0


def test_two_workers_that_both_heard_the_unit_push_once(yellow):
    other = DataDir(yellow.path)
    try:
        workers = [Gateway(yellow.data), Gateway(other)]
        unit = held_unit(yellow, workers)
        assert all(w.stats["HELLO"] + w.stats["SCAN"] + w.stats["ACK"] for w in workers)  # both heard it
        settle(yellow, True)
        unit.run(2000)
        assert unit.pulses() == 1
        assert sorted(w.stats["door_opens"] for w in workers) == [0, 1]
    finally:
        other.close()


def test_a_push_never_overtakes_the_answers_of_a_batch_being_sent(yellow):
    """The pusher thread looks while the decider is sending a batch's answers: the push (its counter drawn later)
    waits until they are out. Sent before them, it would make the unit refuse the answers as replays."""
    gateway = Gateway(yellow.data)
    unit = held_unit(yellow, [gateway])
    settle(yellow, True)  # the guard confirms Dewi from the console: an open is due at door-1
    pusher = []

    def reply(frame, now=False):  # the decider sends Budi's answer; the pusher's look starts just before it
        if not pusher:
            pusher.append(threading.Thread(target=gateway.push_opens))
            pusher[0].start()
            pusher[0].join(0.5)  # it would have sent its push by now, were it not held back
        return unit._reply(frame, now)

    unit.scan(yellow.codes["budi"])
    for _ in range(300):
        unit.bench.run(10)
        unit.decoder.feed(unit.bench.stream.take())
        for frame in unit.decoder.frames():
            unit.sent.append(unit._type(frame))
            gateway.handle(frame, reply)
    pusher[0].join(10)
    assert gateway.stats["door_opens"] == 1 and unit.answers[-2:] == ["verdict", "verdict"]
    app = unit.bench.app
    assert app.counts["rejected_frames"] == 0  # every frame taken, in counter order
    assert app.last_verdict.verdict == GREEN and app.counts["verdicts"] == 2  # Dewi's HOLD, Budi's GREEN
    # Budi was shown his answer after Dewi's HOLD, so the confirmation arriving after it opened nothing for her: the
    # door never opens in front of the next visitor (the guard lets Dewi through).
    assert unit.pulses() == 1 and app._held is None
