"""Stream framing: resync after garbage, truncation, noise and over-long frames, with bounded memory."""

import pintu_protocol as p
from pintu_protocol import errors
from pintu_protocol.stream import MAX_ENCODED, cobs_decode, cobs_encode

from .common import Lcg, pair


def _drain(decoder):
    errs = []
    before = decoder.errors
    frames = list(decoder.frames(lambda e: errs.append(e.code)))
    assert decoder.errors - before == len(errs)  # every dropped stretch is counted as well as reported
    return frames, errs


def test_cobs_round_trip_edge_cases():
    rng = Lcg(3)
    cases = [b"", b"\x00", b"\x00\x00", b"\x01" * 253, b"\x01" * 254, b"\x01" * 255, b"\x00" + b"\x02" * 600]
    cases += [rng.bytes(rng.next(700)) for _ in range(50)]
    for data in cases:
        enc = cobs_encode(data)
        assert 0 not in enc
        assert cobs_decode(enc) == data


def test_resync_after_garbage_and_truncated_frame():
    unit, host = pair()
    a = p.encode_stream(unit.send(p.Scan(1, "gate", p.IN, b"A")))
    b = p.encode_stream(unit.send(p.Scan(2, "gate", p.IN, b"B")))
    c = p.encode_stream(unit.send(p.Scan(3, "gate", p.IN, b"C")))
    decoder = p.StreamDecoder()
    decoder.feed(b"ets Jun  8 2016 00:22:57\r\nrst:0x1\x00garbage" + a + b[: len(b) // 2] + c)
    frames, errs = _drain(decoder)
    assert [host.receive(f).code for f in frames] == [b"A", b"C"]
    assert errs  # the noise and the cut frame were reported, not silently merged


def test_flipped_byte_fails_crc_not_auth():
    unit, host = pair()
    wire = bytearray(p.encode_stream(unit.send(p.Scan(1, "gate", p.IN, b"PN1:hello"))))
    wire[20] ^= 0x40
    decoder = p.StreamDecoder()
    decoder.feed(bytes(wire))
    frames, errs = _drain(decoder)
    assert frames == []
    assert errs and errs[0] in (errors.E_FRAME_CRC, errors.E_FRAME_CORRUPT)


def test_over_long_frame_is_dropped_without_buffering_it():
    unit, host = pair()
    decoder = p.StreamDecoder()
    chunk = b"\x55" * 1000
    for _ in range(100):  # 100 kB with no delimiter
        decoder.feed(chunk)
        assert len(decoder._partial) <= MAX_ENCODED
    good = unit.send(p.Scan(1, "gate", p.IN, b"ok"))
    decoder.feed(p.encode_stream(good))
    frames, errs = _drain(decoder)
    assert errs == [errors.E_FRAME_TOO_LONG]
    assert frames == [good]


def test_random_noise_only_gives_frames_or_framing_errors():
    rng = Lcg(11)
    decoder = p.StreamDecoder()
    for _ in range(200):
        decoder.feed(rng.bytes(rng.next(300)))
        _drain(decoder)
