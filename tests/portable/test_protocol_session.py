"""Sessions: loopback pairs, replays, reflections, tampering, limits and error codes."""

import pintu_protocol as p
from pintu_protocol import errors
from pintu_protocol.counters import MemoryCounters
from pintu_protocol.messages import MAX_CODE

from .common import Lcg, pair, raises, random_message, sender_for


def test_loopback_round_trip_of_pseudo_random_messages():
    unit, host = pair()
    rng = Lcg(2021)
    for _ in range(300):
        msg = random_message(rng)
        sender, receiver = sender_for(msg, unit, host)
        assert receiver.receive(sender.send(msg)) == msg


def test_loopback_over_a_byte_stream_in_odd_chunks():
    unit, host = pair()
    rng = Lcg(7)
    sent = [p.Scan(i, "gate", p.IN, rng.bytes(rng.next(MAX_CODE + 1))) for i in range(1, 21)]
    wire = b"".join(p.encode_stream(unit.send(m)) for m in sent)
    decoder = p.StreamDecoder()
    got = []
    pos = 0
    while pos < len(wire):
        step = 1 + rng.next(97)
        decoder.feed(wire[pos : pos + step])
        pos += step
        for frame in decoder.frames():
            got.append(host.receive(frame))
    assert got == sent


def test_replay_is_refused_and_counters_advance():
    unit, host = pair()
    first = unit.send(p.Scan(1, "gate", p.IN, b"x"))
    second = unit.send(p.Scan(2, "gate", p.IN, b"y"))
    assert host.receive(second).scan == 2
    e = raises(p.AuthError, host.receive, first)  # older counter, arriving late
    assert e.code == errors.E_REPLAY
    e = raises(p.AuthError, host.receive, second)  # the same frame again
    assert e.code == errors.E_REPLAY
    assert host.counters.rx == 2


def test_unit_reboot_rule_counter_restored_above_last_sent():
    unit, host = pair()
    for i in range(5):
        host.receive(unit.send(p.Scan(i + 1, "gate", p.IN, b"x")))
    # A reboot that forgot its counter is refused until it starts above what it used (firmware reserves blocks).
    rebooted = p.Session("door-1", bytes(range(0x20, 0x40)), p.UNIT, MemoryCounters(tx=2))
    raises(p.AuthError, host.receive, rebooted.send(p.Hello("1", "b", b"")))
    reserved = p.Session("door-1", bytes(range(0x20, 0x40)), p.UNIT, MemoryCounters(tx=64))
    assert host.receive(reserved.send(p.Hello("1", "b", b""))) == p.Hello("1", "b", b"")


def test_every_flipped_bit_is_refused():
    unit, host = pair()
    frame = unit.send(p.Scan(9, "gate", p.IN, b"PN1:abc"))
    for i in range(len(frame) * 8):
        bad = bytearray(frame)
        bad[i // 8] ^= 1 << (i % 8)
        fresh = p.Session("door-1", bytes(range(0x20, 0x40)), p.HOST)
        raises(p.RemoteProtocolError, fresh.receive, bytes(bad))


def test_reflected_frame_is_refused():
    unit, host = pair()
    verdict = host.send(p.Verdict(1, 0, 0, 1, 10, ""))
    other_host = p.Session("door-1", bytes(range(0x20, 0x40)), p.HOST)
    e = raises(p.AuthError, other_host.receive, verdict)
    assert e.code == errors.E_BAD_TAG


def test_frame_of_another_device_is_refused():
    unit, host = pair("door-1")
    _, host2 = pair("door-2")
    e = raises(p.AuthError, host2.receive, unit.send(p.Scan(1, "gate", p.IN, b"x")))
    assert e.code == errors.E_UNKNOWN_DEVICE


def test_wrong_key_is_refused():
    unit, _ = pair(key=bytes(32))
    _, host = pair()
    e = raises(p.AuthError, host.receive, unit.send(p.Scan(1, "gate", p.IN, b"x")))
    assert e.code == errors.E_BAD_TAG


def test_host_never_accepts_unit_only_messages_from_a_unit_reversed():
    unit, host = pair()
    raises(p.LocalProtocolError, unit.send, p.Verdict(1, 0, 0, 0, 0, ""))
    raises(p.LocalProtocolError, host.send, p.Scan(1, "gate", p.IN, b"x"))


def test_encoder_refuses_what_the_protocol_cannot_carry():
    unit, _ = pair()
    raises(p.LocalProtocolError, unit.send, p.Scan(1, "gate", p.IN, bytes(MAX_CODE + 1)))
    raises(p.LocalProtocolError, unit.send, p.Scan(1, "gate", 2, b"x"))
    raises(p.LocalProtocolError, unit.send, p.Scan(-1, "gate", p.IN, b"x"))
    raises(p.LocalProtocolError, unit.send, p.Scan(1, "g\nate", p.IN, b"x"))
    raises(p.LocalProtocolError, unit.send, p.Scan(1, "gate", p.IN, "text"))
    raises(p.LocalProtocolError, unit.send, ("not", "a", "message"))
    raises(p.LocalProtocolError, p.Session, "door-1", b"short", p.UNIT)
    raises(p.LocalProtocolError, p.Session("bad id!", bytes(32), p.UNIT).send, p.Hello("1", "b", b""))
    assert unit.counters.tx == 0  # nothing refused used up a counter


def test_decoder_errors_carry_stable_codes():
    unit, host = pair()
    frame = unit.send(p.Scan(1, "gate", p.IN, b"x"))
    assert raises(p.DecodeError, host.receive, frame[:10]).code == errors.E_TRUNCATED
    assert raises(p.DecodeError, host.receive, b"\x02" + frame[1:]).code == errors.E_VERSION
    assert raises(p.DecodeError, host.receive, bytes(p.MAX_FRAME + 1)).code == errors.E_BAD_FIELD


def test_authentic_unknown_type_is_reported_as_such():
    # A newer peer's new message type: authenticated, then refused with E_UNKNOWN_TYPE (answer ERROR, act on nothing).
    from pintu_protocol.auth import Signer
    from pintu_protocol.frame import encode_frame

    unit, host = pair()
    frame = bytearray(encode_frame(p.Ack(0, 1), "door-1", 1, Signer(bytes(range(0x20, 0x40))), False))
    frame[1] = 0x0E
    frame[-8:] = Signer(bytes(range(0x20, 0x40))).tag(bytes(frame[:-8]))
    e = raises(p.DecodeError, host.receive, bytes(frame))
    assert e.code == errors.E_UNKNOWN_TYPE


def test_newer_peer_may_append_fields():
    # Trailing body bytes inside an authentic frame are ignored: how a later version extends a message.
    from pintu_protocol.auth import Signer
    from pintu_protocol.frame import encode_frame

    signer = Signer(bytes(range(0x20, 0x40)))
    frame = encode_frame(p.Ack(3, 9), "door-1", 1, signer, False)
    longer = frame[:-8] + b"\x01\x02\x03"
    longer += signer.tag(longer)
    unit, host = pair()
    assert host.receive(longer) == p.Ack(3, 9)


def test_verdict_for_the_unit_carries_every_field():
    unit, host = pair()
    msg = p.Verdict(77, p.verdicts.RED, p.verdicts.R_NO_DOSE, 49, 50, "Puskesmas Karang Kitri")
    got = unit.receive(host.send(msg))
    assert got.scan == 77 and got.verdict == p.verdicts.RED and got.referral == "Puskesmas Karang Kitri"


def test_session_takes_its_counters_from_the_store_it_is_given():
    key = bytes(range(0x20, 0x40))
    store = MemoryCounters(tx=41)
    unit = p.Session("door-1", key, p.UNIT, store)
    frame = unit.send(p.Hello("1", "b", b""))
    assert p.read_header(frame).counter == 42 and store.tx == 42
    seen = MemoryCounters(rx=42)  # e.g. another host worker accepted it already
    host = p.Session("door-1", key, p.HOST, seen)
    assert raises(p.AuthError, host.receive, frame).code == errors.E_REPLAY
    seen.rx = 41
    assert host.receive(frame) == p.Hello("1", "b", b"") and seen.rx == 42
