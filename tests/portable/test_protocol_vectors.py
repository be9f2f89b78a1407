"""Golden vectors: message fields -> exact bytes, on both interpreters."""

import pintu_protocol as p
from pintu_protocol.counters import MemoryCounters

from .common import load_vectors, message_from_vector


def _sessions(data, vec):
    key = bytes.fromhex(data["key"])
    role = p.HOST if vec["from_host"] else p.UNIT
    sender = p.Session(data["device_id"], key, role, MemoryCounters(tx=vec["counter"] - 1))
    receiver = p.Session(data["device_id"], key, 1 - role, MemoryCounters(rx=vec["counter"] - 1))
    return sender, receiver


def test_every_message_type_has_a_vector():
    names = [v["type"] for v in load_vectors()["vectors"]]
    for schema in p.messages.SCHEMAS.values():
        assert schema[1] in names, schema[1]


def test_encode_gives_the_golden_bytes():
    data = load_vectors()
    for vec in data["vectors"]:
        sender, _ = _sessions(data, vec)
        frame = sender.send(message_from_vector(vec))
        assert frame.hex() == vec["frame"], vec["name"]
        assert p.encode_stream(frame).hex() == vec["stream"], vec["name"]


def test_decode_gives_the_golden_fields():
    data = load_vectors()
    for vec in data["vectors"]:
        _, receiver = _sessions(data, vec)
        msg = receiver.receive(bytes.fromhex(vec["frame"]))
        assert msg == message_from_vector(vec), vec["name"]
        assert receiver.counters.rx == vec["counter"]


def test_stream_fed_one_byte_at_a_time():
    data = load_vectors()
    decoder = p.StreamDecoder()
    frames = []
    for vec in data["vectors"]:
        for b in bytes.fromhex(vec["stream"]):
            decoder.feed(bytes((b,)))
            frames.extend(frame.hex() for frame in decoder.frames())
    assert frames == [v["frame"] for v in data["vectors"]]


def test_stream_fed_all_at_once():
    data = load_vectors()
    decoder = p.StreamDecoder()
    decoder.feed(bytes.fromhex("".join(v["stream"] for v in data["vectors"])))
    frames = [frame.hex() for frame in decoder.frames()]
    assert frames == [v["frame"] for v in data["vectors"]]
