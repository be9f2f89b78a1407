"""Property tests (CPython, hypothesis): round trips, arbitrary chunking, hostile bytes, tampering, stdlib HMAC."""

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

import pintu_protocol as p
from pintu_protocol.messages import MAX_CODE, SCHEMAS
from pintu_protocol.session import SENDS
from tests.portable.common import pair

KEY = bytes(range(0x20, 0x40))
printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E))


def _field(kind, bound):
    if kind in ("B", "H", "I"):
        return st.integers(0, bound)
    if kind == "t":
        return printable.filter(lambda s: len(s) <= bound)
    return st.binary(max_size=min(bound, 300)) if bound == MAX_CODE else st.binary(max_size=bound)


messages = st.one_of(
    [st.tuples(*[_field(k, b) for k, b in fields]).map(lambda v, c=cls: c(*v)) for cls, _, fields in SCHEMAS.values()]
)


def _route(msg, unit, host):
    return (unit, host) if p.messages.TYPE_OF[type(msg)] in SENDS[p.UNIT] else (host, unit)


@given(messages)
def test_every_message_round_trips(msg):
    unit, host = pair()
    sender, receiver = _route(msg, unit, host)
    assert receiver.receive(sender.send(msg)) == msg


@given(st.lists(messages, min_size=1, max_size=8), st.data())
def test_stream_decoder_is_indifferent_to_chunking(msgs, data):
    unit, host = pair()
    frames = [_route(m, unit, host)[0].send(m) for m in msgs]
    wire = b"".join(p.encode_stream(f) for f in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=20)))
    decoder = p.StreamDecoder()
    got = []
    for a, b in zip([0] + cuts, cuts + [len(wire)], strict=True):
        decoder.feed(wire[a:b])
        got.extend(decoder.frames())
    assert got == frames


@given(st.binary(max_size=2000))
def test_random_bytes_only_give_messages_or_protocol_errors(data):
    _, host = pair()
    try:
        host.receive(data)
    except p.ProtocolError:
        pass
    decoder = p.StreamDecoder()
    decoder.feed(data)
    stretches = data.count(0)
    frames = list(decoder.frames())  # ends, whatever the bytes: each stretch is a frame or a counted error
    assert len(frames) + decoder.errors <= stretches


@given(messages, st.data())
def test_mutated_frames_are_refused_or_harmless(msg, data):
    unit, host = pair()
    sender, receiver = _route(msg, unit, host)
    original = sender.send(msg)
    frame = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        i = data.draw(st.integers(0, max(0, len(frame) - 1)))
        if op == "flip" and frame:
            frame[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del frame[i:]
        else:
            frame[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    if bytes(frame) == original:
        return  # the mutations undid each other (a bit flipped twice): not a mutated frame
    try:
        receiver.receive(bytes(frame))
    except p.ProtocolError:
        return
    raise AssertionError("a mutated frame was accepted")


@given(messages, st.data())
def test_one_flipped_bit_anywhere_is_refused(msg, data):
    unit, host = pair()
    sender, receiver = _route(msg, unit, host)
    frame = bytearray(sender.send(msg))
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    frame[bit // 8] ^= 1 << (bit % 8)
    try:
        receiver.receive(bytes(frame))
    except p.RemoteProtocolError:
        return
    raise AssertionError("bit %d flipped and still accepted" % bit)


@given(st.binary(max_size=200), st.binary(max_size=3000))
def test_hmac_matches_cpython_hmac(key, data):
    assert p.hmac_sha256(key, data) == hmac.new(key, data, hashlib.sha256).digest()
    signer = p.Signer(key)
    assert signer.tag(data) == hmac.new(key, data, hashlib.sha256).digest()[: p.TAG_LEN]


@given(st.binary(max_size=64), st.binary(max_size=64))
def test_compare_digest_agrees_with_hmac_compare_digest(a, b):
    assert p.compare_digest(a, b) == hmac.compare_digest(a, b)


def test_frame_tag_is_stdlib_hmac_over_the_frame():
    unit, _ = pair()
    frame = unit.send(p.Scan(1, "gate", p.IN, b"PN1:x"))
    assert frame[-8:] == hmac.new(KEY, frame[:-8], hashlib.sha256).digest()[:8]


def test_largest_message_fits_the_frame_limit():
    unit, host = pair("d" * p.MAX_DEVICE_ID)
    msg = p.Queued(2**32 - 1, 2**32 - 1, "x" * 32, p.OUT, bytes(MAX_CODE))
    frame = unit.send(msg)
    assert len(frame) <= p.MAX_FRAME
    decoder = p.StreamDecoder()
    decoder.feed(p.encode_stream(frame))
    assert host.receive(next(decoder.frames())) == msg
