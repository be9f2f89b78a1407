"""The gateway in process: authentication, replays, idempotent resends, offline replays, and every answer."""

import pintu_protocol as p
from pintu.checkin import events
from pintu.data.datadir import DataDir
from pintu.gateway.gateway import Gateway
from pintu_protocol.verdicts import BLACK, EXIT, FULL, GREEN, INVALID, OFFLINE, R_ALREADY_INSIDE, RED


class Unit:
    """A door unit's protocol side, as the firmware would drive it."""

    def __init__(self, config):
        self.id = config["device_id"]
        self.session = p.Session(self.id, bytes.fromhex(config["key"]), p.UNIT)
        self.scan_id = 0

    def scan(self, code, direction=p.IN):
        self.scan_id += 1
        return self.session.send(p.Scan(self.scan_id, "lobby", direction, code))

    def answer(self, frames):
        assert len(frames) == 1, frames
        return self.session.receive(frames[0])


def ask(gateway, frame, origin=None):
    return gateway.handle(frame, lambda f: None, origin)


def test_hello_gets_config_and_is_recorded(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    config = unit.answer(ask(gw, unit.session.send(p.Hello("1.0.0", "esp32-devkitc-gm65", b"\x01" * 8))))
    assert isinstance(config, p.Config)
    row = office.data.store.get_device("door-1")
    assert (row["firmware"], row["board"]) == ("1.0.0", "esp32-devkitc-gm65")


def test_every_verdict_reaches_the_unit(office):
    gw = Gateway(office.data)
    unit, exit_unit = Unit(office.units["door-1"]), Unit(office.units["door-2"])
    v = unit.answer(ask(gw, unit.scan(office.codes["budi"])))
    assert (v.verdict, v.occupancy, v.capacity) == (GREEN, 1, 2)
    v = unit.answer(ask(gw, unit.scan(office.codes["sari"])))
    assert v.verdict == RED and v.referral == "Puskesmas Karang Kitri"
    assert unit.answer(ask(gw, unit.scan(office.codes["andi"]))).verdict == BLACK
    assert unit.answer(ask(gw, unit.scan(b"PN1:forged-or-garbage"))).verdict == INVALID
    assert unit.answer(ask(gw, unit.scan(office.codes["dewi"]))).verdict == GREEN
    v = exit_unit.answer(ask(gw, exit_unit.scan(office.codes["dewi"], p.OUT)))
    assert (v.verdict, v.occupancy) == (EXIT, 1)


def test_second_entry_scan_is_refused_and_not_counted_twice(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    unit.answer(ask(gw, unit.scan(office.codes["budi"])))
    v = unit.answer(ask(gw, unit.scan(office.codes["budi"])))  # a new scan, same person, already inside
    assert (v.verdict, v.reason, v.occupancy) == (INVALID, R_ALREADY_INSIDE, 1)  # anti-passback: the door stays shut


def test_resent_scan_gets_the_same_verdict_and_counts_once(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    first = unit.answer(ask(gw, unit.scan(office.codes["budi"])))
    # The unit heard nothing and resends the same scan id in a new frame.
    again = unit.answer(ask(gw, unit.session.send(p.Scan(unit.scan_id, "lobby", p.IN, office.codes["budi"]))))
    assert again == first
    assert office.data.store.count_inside("kantor") == 1
    assert len(events.list_events(office.data)) == 1


def test_replayed_frame_decides_nothing_twice_and_an_old_one_is_dropped(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    frame = unit.scan(office.codes["budi"])
    assert ask(gw, frame)
    # The same frame again within the window (a QoS 1 redelivery after a broker restart, or a copy): dropped
    # unanswered, nothing decided or counted twice, counted but not a security event (issue 16).
    assert ask(gw, frame) == []
    assert gw.stats["duplicate"] == 1 and gw.stats["refused_replay"] == 0
    assert office.data.store.count_inside("kantor") == 1 and len(events.list_events(office.data)) == 1
    # 64 frames later it is below the window: dropped unanswered, counted as a replay.
    for _ in range(64):
        assert ask(gw, unit.session.send(p.Heartbeat(0, 0, 0, 0, 0, ""))) == []
    assert ask(gw, frame) == []
    assert gw.stats["refused_replay"] == 1
    # A fresh gateway (a host restart) still refuses it: the window lives in the registry.
    assert ask(Gateway(office.data), frame) == []
    assert office.data.store.count_inside("kantor") == 1


def test_bad_tag_unknown_device_and_wrong_topic_are_dropped(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    frame = bytearray(unit.scan(office.codes["budi"]))
    frame[-1] ^= 1
    assert ask(gw, bytes(frame)) == []
    stranger = p.Session("door-9", bytes(32), p.UNIT)
    assert ask(gw, stranger.send(p.Scan(1, "lobby", p.IN, office.codes["budi"]))) == []
    # door-1's frame published on door-2's topic
    assert ask(gw, unit.scan(office.codes["budi"]), origin=("kantor", "door-2")) == []
    assert ask(gw, b"\x00garbage") == []
    assert gw.stats["refused_bad_tag"] == 1
    assert gw.stats["refused_unknown_device"] == 1
    assert gw.stats["refused_wrong_topic"] == 1
    assert gw.stats["refused_malformed"] == 1
    assert office.data.store.count_inside("kantor") == 0


def test_frame_of_one_device_replayed_under_another_id_is_refused(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    frame = bytearray(unit.scan(office.codes["budi"]))
    frame[4:10] = b"door-2"  # same length id, other device
    assert ask(gw, bytes(frame)) == []
    assert gw.stats["refused_bad_tag"] == 1


def test_revoked_device_is_refused(office):
    from pintu.registry import provision

    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    assert ask(gw, unit.scan(office.codes["budi"]))
    provision.revoke_unit(office.data, "door-1")
    assert ask(gw, unit.scan(office.codes["dewi"])) == []
    assert gw.stats["refused_unknown_device"] == 1


def test_queued_scan_is_recorded_at_its_time_acked_and_never_admits(office):
    now = 1_700_000_000
    gw = Gateway(office.data, clock=lambda: now)
    unit = Unit(office.units["door-1"])
    ack = unit.answer(ask(gw, unit.session.send(p.Queued(41, 600, "lobby", p.IN, office.codes["budi"]))))
    assert ack == p.Ack(p.QUEUED, 41)
    [row] = office.data.store.list_events()
    assert row["time"] == now - 600 and row["queued"] == 1
    assert office.data.store.count_inside("kantor") == 0  # the door did not open then; nobody counted in
    # Replayed again (the unit missed the ACK): stored once.
    again = unit.answer(ask(gw, unit.session.send(p.Queued(41, 660, "lobby", p.IN, office.codes["budi"]))))
    assert again == p.Ack(p.QUEUED, 41)
    assert len(events.list_events(office.data, at=now)) == 1


def test_host_counters_survive_a_restart(office, tmp_path):
    unit = Unit(office.units["door-1"])
    gw = Gateway(office.data)
    unit.answer(ask(gw, unit.scan(office.codes["budi"])))
    with DataDir(office.path) as data2:  # a second worker or a restarted host
        v = unit.answer(ask(Gateway(data2), unit.scan(office.codes["dewi"])))
        assert v.verdict == GREEN  # the unit accepted the new host counter: it is above the last one


def test_unknown_message_type_from_a_newer_unit_is_answered_with_error(office):
    from pintu_protocol.auth import Signer
    from pintu_protocol.frame import encode_frame

    key = bytes.fromhex(office.units["door-1"]["key"])
    frame = bytearray(encode_frame(p.Ack(0, 1), "door-1", 5, Signer(key), False))
    frame[1] = 0x0E
    frame[-8:] = Signer(key).tag(bytes(frame[:-8]))
    unit = Unit(office.units["door-1"])
    err = unit.answer(ask(Gateway(office.data), bytes(frame)))
    assert err.code == 23


def test_full_verdict(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    from pintu import registry

    registry.add_person(office.data, "3275010707900007", "Eko")
    registry.add_dose(office.data, "3275010707900007", "2021-05-05")
    from pintu.registry import cards

    eko = cards.issue_card(office.data, "3275010707900007", "kantor")["code"].encode()
    assert unit.answer(ask(gw, unit.scan(office.codes["budi"]))).verdict == GREEN
    assert unit.answer(ask(gw, unit.scan(office.codes["dewi"]))).verdict == GREEN
    assert unit.answer(ask(gw, unit.scan(eko))).verdict == FULL


def test_admission_the_unit_never_showed_is_undone_by_its_queued_replay(office):
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    verdict = unit.answer(ask(gw, unit.scan(office.codes["budi"])))
    assert (verdict.verdict, verdict.occupancy) == (GREEN, 1)
    # The unit heard it too late: it had shown OFFLINE and queued the scan; now it replays it.
    replay = p.Queued(unit.scan_id, 5, "lobby", p.IN, office.codes["budi"])
    assert unit.answer(ask(gw, unit.session.send(replay))) == p.Ack(p.QUEUED, unit.scan_id)
    assert office.data.store.count_inside("kantor") == 0
    rows = office.data.store.list_events()
    assert sorted((r["verdict"], events.reason_name(r["reason"])) for r in rows) == [
        (GREEN, "ok"), (OFFLINE, "not_shown")]
    # Replayed again (the ACK was lost): nothing more changes.
    unit.answer(ask(gw, unit.session.send(replay)))
    assert len(office.data.store.list_events()) == 2
    # The person really comes in on the next scan and is counted.
    assert unit.answer(ask(gw, unit.scan(office.codes["budi"]))).occupancy == 1
