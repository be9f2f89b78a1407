"""The registry rows a decision reads are cached (issue 17, data/batching.py), yet what an operator changes from
another process applies at the next scan: site capacity and policy, a door rebound or deleted, a unit revoked. Two
DataDir objects on one database are two processes' views of it; on both backends."""

import pytest

import pintu_protocol as p
from pintu import checkin, registry
from pintu.data.datadir import DataDir
from pintu.errors import PintuError
from pintu.gateway.gateway import Gateway
from pintu_protocol.verdicts import EXIT, FULL, GREEN, INVALID, R_WRONG_DOOR
from tests.gateway.conftest import make_office
from tests.gateway.test_gateway import Unit, ask


@pytest.fixture
def office(tmp_path, database):
    office = make_office(tmp_path / "data", capacity=5, database=database)
    yield office
    office.data.close()


def scan(gw, unit, code, direction=p.IN):
    return unit.answer(ask(gw, unit.scan(code, direction)))


def test_site_capacity_and_policy_set_elsewhere_apply_at_the_next_scan(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    assert scan(gw, unit, office.codes["budi"]).verdict == GREEN  # the site's row is cached now
    with DataDir(office.path) as operator:
        registry.set_site(operator, "kantor", capacity=1)
    v = scan(gw, unit, office.codes["dewi"])
    assert (v.verdict, v.capacity) == (FULL, 1)
    # The library's single decisions (`pintu check`) read through the same cache.
    assert checkin.check(office.data, "lobby", office.codes["dewi"].decode(), dry_run=True).verdict == FULL
    with DataDir(office.path) as operator:
        registry.set_site(operator, "kantor", capacity=5, policy_name="full")  # two doses now; dewi has one
    v = scan(gw, unit, office.codes["dewi"])
    assert v.verdict != GREEN and v.capacity == 5
    with DataDir(office.path) as operator:
        registry.set_site(operator, "kantor", policy_name="dose1")
    assert scan(gw, unit, office.codes["dewi"]).verdict == GREEN
    gw.close()


def _sql(data, *statements):
    with data.store.write():
        for statement in statements:
            data.store._run(statement)


def test_a_door_rebound_or_deleted_elsewhere_applies_at_the_next_scan(office):
    gw = Gateway(office.data)
    entry, exit_unit = Unit(office.units["door-1"]), Unit(office.units["door-2"])
    assert scan(gw, entry, office.codes["budi"]).verdict == GREEN
    assert scan(gw, exit_unit, office.codes["dewi"], p.OUT).reason != R_WRONG_DOOR  # door-2's door is cached
    with DataDir(office.path) as operator:  # door-1 moves to the exit door: its scans are exits now
        _sql(operator, "UPDATE devices SET door_id = 'belakang' WHERE id = 'door-1'")
    assert scan(gw, entry, office.codes["budi"]).verdict == EXIT
    with DataDir(office.path) as operator:  # door-2 unbound and the exit door deleted
        _sql(operator, "UPDATE devices SET door_id = NULL WHERE id IN ('door-1', 'door-2')",
             "DELETE FROM doors WHERE id = 'belakang'")
    v = scan(gw, exit_unit, office.codes["budi"], p.OUT)
    assert (v.verdict, v.reason) == (INVALID, R_WRONG_DOOR)
    with pytest.raises(PintuError, match="unknown door"):
        checkin.check(office.data, "belakang", office.codes["budi"].decode())
    gw.close()


def test_a_unit_revoked_elsewhere_is_refused_at_its_next_frame(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    assert scan(gw, unit, office.codes["budi"]).verdict == GREEN  # the device's key is cached
    with DataDir(office.path) as operator:
        registry.revoke_device(operator, "door-1")
    assert ask(gw, unit.scan(office.codes["dewi"])) == []
    assert gw.stats["refused_unknown_device"] == 1
    assert office.data.store.count_inside("kantor") == 1
    gw.close()


def test_a_key_changed_elsewhere_is_used_at_the_next_frame(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    assert scan(gw, unit, office.codes["budi"]).verdict == GREEN
    new_key = bytes(range(32))
    with DataDir(office.path) as operator:
        with operator.store.write():
            operator.store._run("UPDATE devices SET key = ? WHERE id = 'door-1'", (new_key,))
    assert ask(gw, unit.scan(office.codes["dewi"])) == []  # the old key's frames are forged now
    fresh = p.Session("door-1", new_key, p.UNIT)
    fresh.counters.tx = 1000  # past what the old session sent
    frame = fresh.send(p.Scan(99, "lobby", p.IN, office.codes["dewi"]))
    assert fresh.receive(ask(gw, frame)[0]).verdict == GREEN
    gw.close()


def test_a_change_rolled_back_is_never_trusted_from_the_cache(tmp_path, database):
    """A transaction that changed a site and read it through the cache, then failed: its generation went back with
    it, and another process's next change makes that number true again — for a row that never was."""
    office = make_office(tmp_path / "d", capacity=1, database=database)
    data = office.data
    try:
        assert checkin.check(data, "lobby", office.codes["budi"].decode()).verdict == GREEN  # full now: 1 / 1
        with pytest.raises(RuntimeError):
            with data.store.write():
                registry.set_site(data, "kantor", capacity=100)
                data.store.cached("sites", "kantor")
                raise RuntimeError("the operator's transaction fails after the change")
        with DataDir(office.path) as other:  # an unrelated change, committed elsewhere
            registry.set_site(other, "kantor", referral="Puskesmas Baru")
        decision = checkin.check(data, "lobby", office.codes["dewi"].decode())
        assert (decision.verdict, decision.capacity) == (FULL, 1)
    finally:
        data.close()
