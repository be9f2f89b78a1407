"""The hostile-input campaign at scale: a million inputs against the decoders an attacker reaches first, called
directly (no database per input), so bench/hostile.py --decoders N runs them in minutes. hostile.py goes through the
whole host (gateway, SQLite) and is the slower, deeper half.

Each kind edits something valid or makes bytes up, then asks the real decoder:
- frames: an authentic unit frame with 1-4 bytes flipped, or random bytes, to the host's protocol Session; accepted
  (a message comes back) is wrong for any frame that is not the authentic one;
- serial streams: random chunks around a valid frame to the StreamDecoder; a frame over MAX_FRAME is wrong;
- cards: a valid PN1 token with one character changed or bytes flipped, or made-up text, to the card reader;
  a token that still verifies but is not the original is wrong;
- EU certificates: a valid HC1 with one character changed, cut, or made up, to hc1.check; an admission is wrong;
- CSV rows: made-up cells to the import's row check; a row accepted with a control character in its name, a date
  outside 2020..today or a NIK that is not 16 digits is wrong.
A crash is any exception other than the decoder's own refusal."""

import random

import base45

import pintu_protocol as p
from pintu.errors import PintuError
from pintu.registry.person_import import parse_row
from pintu.registry.validate import FIRST_DAY
from pintu.rules import hc1
from pintu.rules.credentials import Issuer, new_key, read_token
from pintu.rules.nik import NikHasher
from pintu.rules.policy import admitted
from pintu_protocol.frame import MAX_FRAME

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
TODAY = "2022-06-01"


class _Nik:
    """What parse_row needs of a data directory: the keyed NIK hash."""

    def __init__(self):
        self.nik = NikHasher(bytes(32))


class Decoders:
    def __init__(self, rng):
        from tests.dcc import factory

        self.rng = rng
        self.key = bytes(range(32))
        unit = p.Session("door-1", self.key, p.UNIT)
        self.frames = [unit.send(p.Scan(i + 1, "lobby", p.IN, b"PN1:" + b"K" * 80)) for i in range(64)]
        self.issuer = Issuer(new_key())
        self.token = self.issuer.issue(19000)[1]
        self.factory = factory
        self.signer = factory.make_signer("ec")
        self.anchors = {self.signer.kid: [self.signer.cert]}
        self.hc1 = factory.hc1_code(self.signer, factory.claims(factory.vaccination()))
        self.data = _Nik()
        assert admitted(self._hc1_verdict(self.hc1)), "the HC1 the attacks edit must be admitted"

    def _hc1_verdict(self, code):
        return hc1.check(code, self.anchors, now=self.factory.NOW, id_key=bytes(32)).verdict

    # Each attempt -> (kind, wrong, example); an exception out of it is a crash.

    def frame(self):
        rng = self.rng
        counter = rng.randrange(len(self.frames))
        original = self.frames[counter]
        if rng.random() < 0.2:
            frame = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
            kind = "random frame"
        else:
            frame = bytearray(original)
            for i in rng.sample(range(len(frame)), rng.randrange(1, 5)):
                frame[i] ^= rng.randrange(1, 256)
            frame, kind = bytes(frame), "flipped frame"
        host = p.Session("door-1", self.key, p.HOST)
        try:
            host.receive(frame)
            return kind, frame != original, frame
        except p.ProtocolError:
            return kind, False, frame

    def stream(self):
        rng = self.rng
        decoder = p.StreamDecoder()
        good = p.encode_stream(self.frames[0])
        pieces = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 120))), good[: rng.randrange(len(good))],
                  b"\x00" * rng.randrange(3), good]
        rng.shuffle(pieces)
        data = b"".join(pieces)
        wrong = False
        for start in range(0, len(data), 64):
            decoder.feed(data[start : start + 64])
            for frame in decoder.frames():  # dropped stretches are counted in decoder.errors, never raised
                wrong = wrong or len(frame) > MAX_FRAME
        return "serial stream", wrong, data[:64]

    def card(self):
        rng = self.rng
        body = self.token[4:]
        roll = rng.random()
        if roll < 0.5:
            i = rng.randrange(len(body))
            code = "PN1:" + body[:i] + rng.choice(B45.replace(body[i], "")) + body[i + 1 :]
            kind = "card, one character changed"
        elif roll < 0.8:
            raw = bytearray(base45.b45decode(body))
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            code, kind = "PN1:" + base45.b45encode(bytes(raw)).decode(), "card, one bit flipped"
        else:
            code = "PN1:" + "".join(rng.choice(B45) for _ in range(rng.randrange(0, 140)))
            kind = "card, made up"
        reading = read_token(self.issuer.public_key, code)
        return kind, reading.reason == 0 and code != self.token, code[:64]

    def eu_certificate(self):
        rng = self.rng
        body = self.hc1[4:]
        roll = rng.random()
        if roll < 0.6:
            i = rng.randrange(len(body))
            code = "HC1:" + body[:i] + rng.choice(B45.replace(body[i], "")) + body[i + 1 :]
            kind = "EU certificate, one character changed"
        elif roll < 0.8:
            code, kind = self.hc1[: rng.randrange(len(self.hc1))], "EU certificate, cut"
        else:
            code = "HC1:" + "".join(rng.choice(B45) for _ in range(rng.randrange(0, 400)))
            kind = "EU certificate, made up"
        return kind, admitted(self._hc1_verdict(code)) and code != self.hc1, code[:64]

    def csv_row(self):
        rng = self.rng
        junk = ["", " ", "\x1b[31m", "\x00", "\n", "\u202e", "9999-12-31", "2019-12-31", "2022-06-02", "2021-06-01",
                "positive", "clear", "contact", "staff", "visitor", "x" * 200, "3275010101800001", "1" * 17, "-1"]

        def cell():
            return rng.choice(junk) if rng.random() < 0.7 else "".join(chr(rng.randrange(0, 0x3000))
                                                                        for _ in range(rng.randrange(0, 12)))

        row = {column: cell() for column in ("nik", "name", "role", "dose1", "dose2", "dose3", "status",
                                             "status_until")}
        if rng.random() < 0.5:
            row["nik"] = "3275%012d" % rng.randrange(10**12)
        try:
            parsed = parse_row(self.data, 2, row, TODAY)
        except PintuError:
            return "CSV row", False, repr(row)[:64]
        name = parsed.name or ""
        bad_name = any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\u202a\u202b\u202c\u202d\u202e"
                       for ch in name) or len(name) > 100
        bad_day = any(not (FIRST_DAY.isoformat() <= day <= TODAY) for _, day in parsed.doses)
        return "CSV row", bad_name or bad_day, repr(row)[:64]


def run_decoders(tally, total, seed=1):
    """`total` attempts spread over the kinds above (cheap ones more often), counted in `tally` (hostile.Tally)."""
    rng = random.Random(seed)
    decoders = Decoders(rng)
    # weights: frames and streams cost microseconds, EU certificates a signature check each
    plan = [decoders.frame] * 4 + [decoders.stream] * 2 + [decoders.card] * 2 + [decoders.csv_row] * 2 + [
        decoders.eu_certificate]
    for _ in range(total):
        attempt = rng.choice(plan)
        try:
            kind, wrong, example = attempt()
        except Exception as exc:  # noqa: BLE001 - counted: a decoder must refuse, never raise
            tally.add(attempt.__name__, False, True, repr(exc)[:64])
            continue
        tally.add(kind, wrong, False, example)
    return tally
