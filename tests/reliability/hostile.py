"""The hostile-input campaign, shared by tests/reliability/test_hostile.py (hypothesis, fixed budget) and
bench/hostile.py (figures). Every attempt goes through the real thing: the Gateway in process with a real SQLite data
directory, the serial stream decoder, the code readers behind `pintu check`, the CSV import.

An attempt is *wrongly accepted* when the host does what it should refuse: answers a frame it should drop (anything
but an ERROR for an authentic frame of an unknown type or version), records a decision for it, or lets a hostile
code in (GREEN, YELLOW or EXIT). A *crash* is an exception out of the host, or one the gateway had to catch."""

import os
import random
import struct
from datetime import timedelta

import base45

import pintu_protocol as p
from pintu import checkin, registry
from pintu.gateway.gateway import Gateway
from pintu.registry import cards, provision
from pintu.rules.credentials import Issuer, new_key
from pintu_protocol.auth import Signer
from pintu_protocol.counters import MemoryCounters
from pintu_protocol.frame import FLAG_FROM_HOST, MAX_FRAME
from pintu_protocol.verdicts import EXIT, GREEN, YELLOW
from tests.gateway.conftest import make_office

ADMITS = (GREEN, YELLOW, EXIT)
SQL = ("'; DROP TABLE persons; --", "\" OR 1=1 --", "x'); DELETE FROM events; --", "1; UPDATE sites SET capacity=0",
       "PN1:' UNION SELECT * FROM devices --", "Robert'); DROP TABLE visits;--", "%s%s%n", "\\x00\\' OR ''='")


class Tally:
    def __init__(self):
        self.tried = {}
        self.wrong = {}
        self.crashes = {}
        self.examples = []

    def add(self, kind, wrong=False, crash=False, example=None):
        self.tried[kind] = self.tried.get(kind, 0) + 1
        if wrong:
            self.wrong[kind] = self.wrong.get(kind, 0) + 1
        if crash:
            self.crashes[kind] = self.crashes.get(kind, 0) + 1
        if (wrong or crash) and len(self.examples) < 10:
            self.examples.append((kind, example))

    def totals(self):
        return {"tried": sum(self.tried.values()), "wrongly_accepted": sum(self.wrong.values()),
                "crashes": sum(self.crashes.values())}


class Target:
    """An office (tests/gateway/conftest.make_office) behind a real Gateway, plus what the attacks need: a third
    unit that is revoked, a revoked card, a card not valid yet, cards signed with keys the host does not know."""

    def __init__(self, path):
        self.office = make_office(path, capacity=50)
        data = self.data = self.office.data
        self.gateway = Gateway(data)
        registry.add_person(data, "3275010101990009", "Revoked Person")
        registry.add_dose(data, "3275010101990009", "2021-03-01")
        self.revoked_card = cards.issue_card(data, "3275010101990009", "kantor")["code"].encode()
        cards.revoke_cards(data, "3275010101990009")
        _, cfg_path = provision.add_unit(data, "door-3", "lobby")
        with open(cfg_path) as f:
            import json

            self.revoked_unit = json.load(f)
        provision.revoke_unit(data, "door-3")
        budi = self.office.codes["budi"].decode()
        cred = data.store.get_credential(data.issuer.read(budi).cred_id)
        self.stranger = Issuer(new_key())  # a key the host never heard of, same credential id
        self.resigned = self.stranger.issue(_day(), cred_id=bytes(cred["id"]))[1].encode()
        self.future = data.issuer.issue(_day() + 30, cred_id=bytes(cred["id"]))[1].encode()
        self.sessions = {d: p.Session(d, bytes.fromhex(cfg["key"]), p.UNIT) for d, cfg in self.office.units.items()}
        self.valid = self.office.codes["budi"]  # a good card (the attacks edit it)

    def close(self):
        self.data.close()

    def events(self):
        return self.data.store._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def handle(self, frame, origin=None):
        """-> (answers decoded by the unit side or raw, crashed)."""
        before = self.gateway.stats["crashed"]
        try:
            answers = self.gateway.handle(frame, lambda f: None, origin)
        except Exception:  # noqa: BLE001 - counted: the host must never raise on input
            return [], True
        return answers, self.gateway.stats["crashed"] > before

    def send(self, device, msg):
        return self.sessions[device].send(msg)


def _day():
    import time

    return int(time.time() // 86400)


# -- frames ---------------------------------------------------------------------------------------------------------


def _answer_types(target, device, answers):
    session = target.sessions.get(device)
    kinds = []
    for frame in answers:
        try:
            kinds.append(type(session.receive(frame)) if session else "?")
        except p.ProtocolError:
            kinds.append("undecodable")
    return kinds


def frame_attempt(target, tally, kind, frame, origin=None, allow_error=False):
    """Feed one hostile frame; any answer (but an allowed ERROR) or a new event is a wrong acceptance."""
    events = target.events()
    answers, crashed = target.handle(frame, origin)
    device = None
    try:
        device = p.read_header(frame).device_id
    except p.ProtocolError:
        pass
    kinds = _answer_types(target, device, answers) if answers else []
    wrong = target.events() != events or any(not (allow_error and k is p.Error) for k in kinds)
    tally.add(kind, wrong, crashed, frame[:64])


def _signed(key, device, counter, msg_type, body, version=1, flags=0):
    dev = device.encode()
    head = struct.pack(">BBBB", version, msg_type, flags, len(dev)) + dev + struct.pack(">I", counter) + body
    return head + Signer(key).tag(head)


def frame_campaign(target, tally, rng, n):
    """n rounds; each round tries every kind of hostile frame once."""
    key1 = bytes.fromhex(target.office.units["door-1"]["key"])
    unit = target.sessions["door-1"]
    for _ in range(n):
        size = rng.randrange(0, MAX_FRAME + 200)
        frame_attempt(target, tally, "random bytes", os.urandom(size) if rng.random() < 0.5 else
                      bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40))))
        valid = target.send("door-1", p.Scan(rng.randrange(1, 1 << 32), "lobby", p.IN, target.valid))
        mutated = bytearray(valid)
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(mutated))
            mutated[i] ^= 1 << rng.randrange(8)
        frame_attempt(target, tally, "mutated valid frame", bytes(mutated))
        cut = valid[: rng.randrange(len(valid))] if rng.random() < 0.5 else valid + os.urandom(rng.randrange(1, 50))
        frame_attempt(target, tally, "truncated or extended frame", cut)
        frame_attempt(target, tally, "bad tag", valid[:-8] + os.urandom(8))
        # A valid frame replayed; then one validly signed under an older counter (rewound).
        fresh = target.send("door-1", p.Heartbeat(1, 0, 0, 0, 0, ""))
        target.handle(fresh)
        frame_attempt(target, tally, "replayed frame", fresh)
        # Rewound: to a counter the host has seen, or below its window of 64 (an unseen counter within the window is
        # how frames overtaken on another worker arrive, and is accepted once: data/replay_window.py).
        old = rng.choice([p.read_header(fresh).counter, 0]
                         + ([unit.counters.tx - 128 - rng.randrange(0, 50)] if unit.counters.tx > 200 else []))
        frame_attempt(target, tally, "rewound counter", _signed(key1, "door-1", old, p.SCAN,
                                                                 _scan_body(target.valid)))
        # Authentic frames (fresh counter, right key) whose length fields lie.
        unit.counters.tx += 1
        body = _scan_body(target.valid)
        lie = bytearray(body)
        pos = rng.choice((5 + 5 + 1,))  # the code's u16 length after scan(4) + door(1+5) + direction(1)
        struct.pack_into(">H", lie, pos, rng.choice((0xFFFF, 1201, len(target.valid) + 1, 60000)))
        frame_attempt(target, tally, "oversize length field", _signed(key1, "door-1", unit.counters.tx, p.SCAN,
                                                                       bytes(lie)))
        unit.counters.tx += 1
        frame_attempt(target, tally, "unknown message type",
                      _signed(key1, "door-1", unit.counters.tx, rng.choice((0, 0x7F, 0xEE, 0xFF)), body),
                      allow_error=True)
        unit.counters.tx += 1
        frame_attempt(target, tally, "unknown version",
                      _signed(key1, "door-1", unit.counters.tx, p.SCAN, body, version=rng.choice((0, 2, 0xFF))),
                      allow_error=True)
        unit.counters.tx += 1
        frame_attempt(target, tally, "host-direction flag (reflection)",
                      _signed(key1, "door-1", unit.counters.tx, p.SCAN, body, flags=FLAG_FROM_HOST))
        # A valid frame of door-1 under door-2: on door-2's MQTT topic, and with the id in the frame rewritten.
        other = target.send("door-1", p.Scan(rng.randrange(1, 1 << 32), "lobby", p.IN, target.valid))
        frame_attempt(target, tally, "frame on another device's topic", other, origin=("kantor", "door-2"))
        frame_attempt(target, tally, "frame replayed under another id", other.replace(b"door-1", b"door-2", 1))
        revoked = p.Session("door-3", bytes.fromhex(target.revoked_unit["key"]), p.UNIT, MemoryCounters(tx=1000 + _))
        frame_attempt(target, tally, "revoked device", revoked.send(p.Scan(1, "lobby", p.IN, target.valid)))


def _scan_body(code):
    return p.messages.encode_body(p.Scan(7, "lobby", p.IN, code))[1]


def stream_campaign(tally, rng, n, target=None):
    """The serial stream decoder on random bytes, noise around valid frames, cut and flipped stream bytes. Frames it
    hands out go to the gateway when a target is given (where they must be refused)."""
    for _ in range(n):
        decoder = p.StreamDecoder()
        valid = p.encode_stream(p.Session("door-1", bytes(32), p.UNIT).send(p.Hello("1", "b", b"")))
        pieces = [os.urandom(rng.randrange(0, 300)), valid[: rng.randrange(len(valid))], b"\x00" * rng.randrange(3),
                  bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 3000))), b"\x01" * rng.randrange(0, 2000)]
        rng.shuffle(pieces)
        data = bytearray(b"".join(pieces))
        if data and rng.random() < 0.5:
            data[rng.randrange(len(data))] ^= 0xFF
        crashed = wrong = False
        try:
            decoder.feed(bytes(data))
            for frame in decoder.frames():
                if len(frame) > MAX_FRAME:
                    wrong = True
                if target is not None:
                    answers, crash = target.handle(frame)
                    wrong = wrong or bool(answers)
                    crashed = crashed or crash
        except Exception:  # noqa: BLE001 - counted
            crashed = True
        tally.add("serial stream", wrong, crashed, bytes(data[:64]))


# -- codes ------------------------------------------------------------------------------------------------------------


def hostile_codes(target, rng):
    """(kind, code) pairs: forged, revoked, not yet valid, empty, huge, binary, SQL-looking."""
    valid = target.valid.decode()
    body = valid[4:]
    i = rng.randrange(len(body))
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    edited = valid[:4] + body[:i] + rng.choice(alphabet.replace(body[i], "")) + body[i + 1:]
    raw = bytearray(base45.b45decode(body))
    raw[rng.randrange(10)] ^= 1 << rng.randrange(8)  # the credential id: points at someone else, signature breaks
    yield "edited token", edited.encode()
    yield "token with edited credential id", ("PN1:" + base45.b45encode(bytes(raw)).decode()).encode()
    yield "signed with a wrong key", Issuer(new_key()).issue(_day())[1].encode()
    yield "re-signed with an unknown key", target.resigned
    yield "revoked card", target.revoked_card
    yield "not yet valid card", target.future
    yield "empty code", b""
    yield "10,000-character code", (valid * 100)[:10000].encode()
    yield "binary junk", os.urandom(rng.randrange(1, 1200))
    yield "SQL-looking code", rng.choice(SQL).encode()
    yield "SQL after a card prefix", ("PN1:" + rng.choice(SQL)).encode()
    yield "truncated card", valid[: rng.randrange(4, len(valid))].encode()
    yield "HC1 junk", ("HC1:" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 600)))).encode()


def code_attempt(target, tally, kind, code, door="lobby", scan_ref=None):
    """One code at the entry door through checkin.decide_scan (what `pintu check` and the gateway call), and through
    the gateway in a SCAN frame when the protocol can carry it."""
    persons = target.data.store.count_persons()
    crashed = False
    try:
        decision = checkin.decide_scan(target.data, code, door=door)
        wrong = decision.verdict in ADMITS
    except Exception:  # noqa: BLE001 - counted
        crashed, wrong = True, False
    if len(code) <= p.MAX_CODE:
        frame = target.send("door-1", p.Scan(scan_ref or target.sessions["door-1"].counters.tx, "lobby", p.IN, code))
        answers, crash = target.handle(frame)
        crashed = crashed or crash
        for msg in _decoded(target, answers):
            wrong = wrong or (type(msg) is p.Verdict and msg.verdict in ADMITS)
    wrong = wrong or target.data.store.count_persons() != persons
    tally.add(kind, wrong, crashed, code[:64])


def _decoded(target, answers):
    out = []
    for frame in answers:
        try:
            out.append(target.sessions["door-1"].receive(frame))
        except p.ProtocolError:
            pass
    return out


def code_campaign(target, tally, rng, n):
    for _ in range(n):
        for kind, code in hostile_codes(target, rng):
            code_attempt(target, tally, kind, code)


def expired_certificate_attempts(target, tally):
    """EU certificates (HC1) against a trusted signer: expired, not yet valid, re-signed with an unknown key,
    forged. Uses the DCC test factory (tests/dcc/factory.py)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.dcc import factory

    signer = factory.make_signer("ec")
    target.data.trust.import_bytes(signer.cert.public_bytes(Encoding.PEM))
    at = factory.NOW.timestamp()
    good = factory.hc1_code(signer, factory.claims(factory.vaccination()))
    cases = [
        ("expired EU certificate", factory.hc1_code(signer, factory.claims(
            factory.vaccination(), iat=factory.NOW - timedelta(days=400), exp=factory.NOW - timedelta(days=1)))),
        ("not-yet-valid EU certificate", factory.hc1_code(signer, factory.claims(
            factory.vaccination(), iat=factory.NOW + timedelta(days=2), exp=factory.NOW + timedelta(days=300)))),
        ("EU certificate re-signed with an unknown key", factory.hc1_code(factory.make_signer("ec"), factory.claims(
            factory.vaccination()), kid=signer.kid)),
        ("edited EU certificate", good[:-10] + ("A" if good[-10] != "A" else "B") + good[-9:]),
    ]
    for kind, code in cases:
        crashed = False
        try:
            wrong = checkin.decide_scan(target.data, code, door="lobby", at=at).verdict in ADMITS
        except Exception:  # noqa: BLE001 - counted
            wrong, crashed = False, True
        tally.add(kind, wrong, crashed, code[:64])
    assert checkin.decide_scan(target.data, good, door="lobby", at=at, dry_run=True).verdict == GREEN


# -- the CSV of `pintu person import` ----------------------------------------------------------------------------------


def csv_attempts(target, tally, rng, n):
    """SQL-looking text in every CSV field: rows are refused by validation or stored as plain text; the schema and
    the other rows stay as they were."""
    from pintu.errors import PintuError

    store = target.data.store
    tables = store._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    for k in range(n):
        fields = {"nik": "3275%012d" % (900000 + k), "name": rng.choice(SQL), "role": "visitor", "dose1": "",
                  "dose2": "", "dose3": "", "status": "", "status_until": ""}
        field = rng.choice(list(fields))
        fields[field] = rng.choice(SQL)
        crashed = False
        try:
            registry.import_persons(target.data, [(2, fields)], skip_bad=True)
        except PintuError:
            pass
        except Exception:  # noqa: BLE001 - counted
            crashed = True
        stored = store.find_person(target.data.nik.hash(fields["nik"])) if fields["nik"].isdigit() else None
        wrong = store._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] != tables
        wrong = wrong or store.get_site("kantor")["capacity"] != 50
        if stored is not None and field == "name":
            wrong = wrong or stored["name"] != fields["name"]  # kept verbatim: it was data, not SQL
        tally.add("SQL-looking CSV field (%s)" % field if field in ("nik", "name") else "SQL-looking CSV field",
                  wrong, crashed, repr(fields)[:64])


def mqtt_campaign(tmp, tally, rounds=3):
    """Against a real Mosquitto configured by `pintu broker-config` and the gateway behind a real MqttLink: a unit
    publishing on another unit's topic, a client with no credentials or a wrong password, a revoked unit."""
    import threading
    import time

    import paho.mqtt.client as mqtt

    from pintu.gateway.mqtt_link import MqttLink
    from pintu_protocol.topics import up_topic
    from tests.mosquitto import Broker, free_port

    port = free_port()
    office = make_office(os.path.join(tmp, "mqtt-data"), link="mqtt", broker="127.0.0.1:%d" % port)
    data = office.data
    _, cfg_path = provision.add_unit(data, "door-3", "lobby", "mqtt", wifi_ssid="x", broker="127.0.0.1:%d" % port)
    with open(cfg_path) as f:
        import json

        revoked = json.load(f)
    provision.revoke_unit(data, "door-3")
    provision.broker_config(data, os.path.join(tmp, "broker"), port=port, bind="127.0.0.1")
    broker = Broker(os.path.join(tmp, "broker", "mosquitto.conf"), port, os.path.join(tmp, "mosquitto.log")).start()
    gateway = Gateway(data)
    link = MqttLink("mqtt://127.0.0.1:%d" % port, gateway.handle, username="pintu-host",
                    password=provision.host_password(data), client_id="host-hostile").start()

    def client(user, password, client_id):
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if user is not None:
            c.username_pw_set(user, password)
        result, done = [], threading.Event()
        c.on_connect = lambda cl, u, f, rc, props: (result.append(rc), done.set())
        c.on_disconnect = lambda *a: done.set()
        c.connect("127.0.0.1", port)
        c.loop_start()
        done.wait(10)
        return c, (result[0] if result else None)

    try:
        cfg1 = office.units["door-1"]
        session = p.Session("door-1", bytes.fromhex(cfg1["key"]), p.UNIT, MemoryCounters(tx=50000))
        for k in range(rounds):
            events = data.store._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            seen = gateway.stats["SCAN"]
            c, rc = client(cfg1["link"]["user"], cfg1["link"]["password"], "door-1-%d" % k)
            frame = session.send(p.Scan(k + 1, "lobby", p.IN, office.codes["budi"]))
            # door-1 (logged in as itself) publishes its own valid frame on door-2's topic: the broker's ACL drops
            # it; were it delivered, the gateway would refuse it for the topic.
            c.publish(up_topic("kantor", "door-2"), frame, qos=1).wait_for_publish(5)
            c.disconnect()
            c.loop_stop()
            time.sleep(0.3)
            wrong = data.store._db.execute("SELECT COUNT(*) FROM events").fetchone()[0] != events
            wrong = wrong or gateway.stats["SCAN"] != seen
            tally.add("MQTT: publish on another unit's topic", wrong, False, frame[:32])
            for kind, user, password in (("MQTT: client without credentials", None, None),
                                         ("MQTT: wrong password", cfg1["link"]["user"], "not-the-password"),
                                         ("MQTT: revoked unit", "door-3", revoked["link"]["password"])):
                c, rc = client(user, password, "intruder-%d" % k)
                c.loop_stop()
                tally.add(kind, rc is None or not rc.is_failure, False, kind)
    finally:
        link.close()
        broker.stop()
        data.close()


def run_campaign(path, rounds, seed=1):
    """Everything above except MQTT (which needs a broker: test_hostile.py and bench/hostile.py do it)."""
    rng = random.Random(seed)
    tally = Tally()
    target = Target(path)
    try:
        frame_campaign(target, tally, rng, rounds)
        stream_campaign(tally, rng, rounds, target)
        code_campaign(target, tally, rng, max(1, rounds // 4))
        expired_certificate_attempts(target, tally)
        csv_attempts(target, tally, rng, max(1, rounds // 4))
    finally:
        target.close()
    return tally
