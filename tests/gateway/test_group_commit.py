"""Group commit (issue 17): frames that arrive while a transaction is open are decided one after another in the next
one, on both backends. Capacity holds exactly inside a batch; a batch whose COMMIT fails answers none of its frames
and their replays are recorded later; one frame's own error leaves the others' decisions alone."""

import sqlite3
import time
from contextlib import contextmanager

import pytest

import pintu_protocol as p
from pintu import registry
from pintu.checkin import events
from pintu.data import store as store_mod
from pintu.data.datadir import DataDir
from pintu.gateway.gateway import Gateway
from pintu.registry import cards
from pintu_protocol.verdicts import EXIT, FULL, GREEN, INVALID, R_HOST_FAULT
from tests.gateway.conftest import make_office
from tests.gateway.test_gateway import Unit


@contextmanager
def one_batch(gateway):
    """Frames submitted inside are decided together: the decider cannot take any before the block ends. (The
    gateway's condition is re-entrant, so this thread may still queue frames while it holds it.)"""
    with gateway.held():
        yield
    assert gateway.wait_idle(30)


def collect(gateway, frames):
    """Submit frames as one batch. -> one list of answers per frame, filled once the batch is over."""
    answers = [[] for _ in frames]
    with one_batch(gateway):
        for frame, out in zip(frames, answers, strict=True):
            gateway.submit(frame, out.append)
    return answers


def add_people(office, count, first=0):
    codes = []
    for i in range(first, first + count):
        nik = "3275%012d" % (900000 + i)
        registry.add_person(office.data, nik, "Guest %d" % i)
        registry.add_dose(office.data, nik, "2021-03-01")
        codes.append(cards.issue_card(office.data, nik, "kantor", at=time.time())["code"].encode())
    return codes


@pytest.fixture
def big_office(tmp_path, database):
    office = make_office(tmp_path / "data", capacity=5, database=database)
    yield office
    office.data.close()


def test_capacity_holds_exactly_inside_one_batch(big_office):
    gw = Gateway(big_office.data)
    unit = Unit(big_office.units["door-1"])
    codes = add_people(big_office, 20)
    answers = collect(gw, [unit.scan(code) for code in codes])
    assert gw.stats["batches"] == 1 and gw.stats["SCAN"] == 20
    verdicts = [unit.session.receive(a[0]).verdict for a in answers]
    assert verdicts == [GREEN] * 5 + [FULL] * 15  # in arrival order: the first five take the places
    store = big_office.data.store
    assert store.count_inside("kantor") == store.count_open_visits("kantor") == 5
    gw.close()


def _poison_commit(store, person_id):
    """From another connection: a row that breaks a deferred foreign key whenever an event of person_id is
    recorded, so the transaction holding it fails at its COMMIT (as a disk that fills at the last moment)."""
    if store.backend == "sqlite":
        store._db.executescript(
            "CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);"
            "CREATE TABLE poison (ref INTEGER REFERENCES poison_parent(id) DEFERRABLE INITIALLY DEFERRED);"
            "CREATE TRIGGER poison_commit AFTER INSERT ON events WHEN NEW.person_id = %d"
            " BEGIN INSERT INTO poison VALUES (999); END;" % person_id)
    else:
        store._script(
            "CREATE TABLE poison_parent (id BIGINT PRIMARY KEY);"
            "CREATE TABLE poison (ref BIGINT REFERENCES poison_parent(id) DEFERRABLE INITIALLY DEFERRED);"
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.person_id = %d THEN INSERT INTO poison VALUES (999); END IF; RETURN NEW; END $$;"
            "CREATE TRIGGER poison_commit AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison();"
            % person_id)


def _cure(store):
    if store.backend == "sqlite":
        store._db.executescript("DROP TRIGGER poison_commit;")
    else:
        store._script("DROP TRIGGER poison_commit ON events;")


def test_a_batch_whose_commit_fails_answers_none_of_its_frames(big_office):
    office = big_office
    gw = Gateway(office.data)
    unit = Unit(office.units["door-1"])
    with DataDir(office.path) as other:  # the operator's (or a broken disk's) own connection
        dewi = other.store.find_person(other.nik.hash("3275014404880004"))["id"]
        _poison_commit(other.store, dewi)
        names = ("budi", "dewi", "sari")
        frames = [unit.scan(office.codes[name]) for name in names]
        answers = collect(gw, frames)
        assert answers == [[], [], []]  # no VERDICT: each unit shows OFFLINE and queues its scan
        assert gw.stats["storage_failed"] == 3
        store = office.data.store
        assert store.count_inside("kantor") == 0 and events.list_events(office.data) == []
        _cure(other.store)  # the disk works again
    # The same frames come again (a QoS 1 redelivery): their counters were not spent, so they are decided now.
    again = collect(gw, frames[:1])
    assert unit.session.receive(again[0][0]).verdict == GREEN
    # The units replay the other two scans from their queues: recorded, acknowledged, nobody admitted after the fact.
    queued = [unit.session.send(p.Queued(n, 30, "lobby", p.IN, office.codes[name]))
              for n, name in ((2, "dewi"), (3, "sari"))]
    acks = [unit.session.receive(a[0]) for a in collect(gw, queued)]
    assert acks == [p.Ack(p.QUEUED, 2), p.Ack(p.QUEUED, 3)]
    assert store.count_inside("kantor") == store.count_open_visits("kantor") == 1  # budi only
    assert len(events.list_events(office.data)) == 3
    gw.close()


def _bind_to_missing_door(office, device):
    """From another connection: the unit's door row gone from under it (foreign keys off, as a damaged or
    hand-edited database could leave it)."""
    with DataDir(office.path) as other:
        store = other.store
        if store.backend == "sqlite":
            db = sqlite3.connect(store.path, isolation_level=None)
            db.execute("PRAGMA foreign_keys=OFF")
            db.execute("UPDATE devices SET door_id = 'ghost' WHERE id = ?", (device,))
            db.close()
        else:
            with store.write():
                store._script("ALTER TABLE devices DROP CONSTRAINT devices_door_id_fkey;"
                              "UPDATE devices SET door_id = 'ghost' WHERE id = '%s';" % device)


def test_one_frames_own_error_leaves_the_others_decisions_alone(big_office):
    office = big_office
    gw = Gateway(office.data)
    entry, broken = Unit(office.units["door-1"]), Unit(office.units["door-2"])
    _bind_to_missing_door(office, "door-2")
    frames = [entry.scan(office.codes["budi"]), broken.scan(office.codes["dewi"], p.OUT),
              entry.scan(office.codes["dewi"])]
    first, fault, last = collect(gw, frames)
    assert gw.stats["batches"] == 1
    assert entry.session.receive(first[0]).verdict == GREEN
    assert (lambda v: (v.verdict, v.reason))(broken.session.receive(fault[0])) == (INVALID, R_HOST_FAULT)
    assert entry.session.receive(last[0]).verdict == GREEN
    assert office.data.store.count_inside("kantor") == 2
    assert [e["verdict"] for e in events.list_events(office.data)].count("GREEN") == 2
    gw.close()


def test_handle_still_answers_one_frame_at_a_time(big_office):
    """A caller of handle() gets its own answers back, as before group commit."""
    gw = Gateway(big_office.data)
    unit = Unit(big_office.units["door-1"])
    assert unit.answer(gw.handle(unit.scan(big_office.codes["budi"]), lambda f: None)).verdict == GREEN
    gw.close()
    assert gw.handle(unit.scan(big_office.codes["dewi"]), lambda f: None) == []  # closed: nothing decided


def test_a_reply_may_hand_the_gateway_another_frame(big_office):
    """A link whose reply() feeds the next frame back (a simulator, a bridge) is answered, not deadlocked."""
    gw = Gateway(big_office.data)
    entry, exit_unit = Unit(big_office.units["door-1"]), Unit(big_office.units["door-2"])
    follow_up = exit_unit.scan(big_office.codes["budi"], p.OUT)
    heard = []

    def reply(frame):
        heard.append(entry.session.receive(frame).verdict)
        heard.append(exit_unit.answer(gw.handle(follow_up, lambda f: None)).verdict)

    gw.submit(entry.scan(big_office.codes["budi"]), reply)
    assert gw.wait_idle(30)
    assert heard == [GREEN, EXIT]
    assert big_office.data.store.count_inside("kantor") == 0
    gw.close()


def _checkpointed_events(path):
    """Events in the database file itself, the write-ahead log ignored (immutable=1): what a checkpoint copied."""
    try:
        db = sqlite3.connect("file:%s?immutable=1" % path, uri=True)
        try:
            return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError:  # a page caught mid-copy: look again
        return -1


@pytest.mark.sqlite_only
def test_while_frames_flow_the_log_is_checkpointed_beside_the_decisions(big_office, monkeypatch):
    """No COMMIT of a batch runs SQLite's checkpoint (milliseconds for every frame of it): a thread of the decider's
    copies the log meanwhile, and the connection checkpoints by itself again once the decider is gone."""
    monkeypatch.setattr(store_mod, "CHECKPOINT_AFTER_PAGES", 1)  # a log this small is copied too (not 1,000 pages)
    store = big_office.data.store
    gw = Gateway(big_office.data)
    unit = Unit(big_office.units["door-1"])
    assert unit.answer(gw.handle(unit.scan(big_office.codes["budi"]), lambda f: None)).verdict == GREEN
    assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    database = big_office.path + "/pintu.db"
    deadline = time.monotonic() + 30
    while _checkpointed_events(database) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _checkpointed_events(database) == 1
    def own_checkpoints():
        return store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]

    while own_checkpoints() != 1000 and time.monotonic() < deadline:  # idle: the decider and its checkpointer end
        time.sleep(0.05)
    assert own_checkpoints() == 1000
    gw.close()


def test_under_overload_frames_are_shed_undecided_and_their_resends_decided_once(big_office):
    """A frame that waited longer than a unit waits for its verdict, or that finds the queue full, is dropped without
    being decided: nothing recorded, its counter unspent, the broker client's thread never blocked. The unit's resend
    of the scan (a new frame, same scan id) is then decided once, as any resend."""
    office = big_office
    gw = Gateway(office.data, queue_max=2)
    gw._frames.stale_s = 0.2  # a unit that waits 0.2 s for its verdict
    unit = Unit(office.units["door-1"])
    codes = add_people(office, 3)
    answers = [[] for _ in range(3)]
    with gw.held():  # the decider is busy elsewhere while the frames arrive
        for code, out in zip(codes, answers, strict=True):
            gw.submit(unit.scan(code), out.append)  # returns at once, also for the third that finds no room
        time.sleep(0.3)  # the two taken frames go stale waiting
    assert gw.wait_idle(30)
    assert answers == [[], [], []]  # nothing answered: each unit shows OFFLINE and keeps its scan
    assert (gw.stats["shed_queue_full"], gw.stats["shed_stale"], gw.stats.get("SCAN", 0)) == (1, 2, 0)
    assert events.list_events(office.data) == [] and office.data.store.count_inside("kantor") == 0
    # The unit resends its first scan in a new frame (same scan id 1): decided now, once.
    resend = unit.session.send(p.Scan(1, "lobby", p.IN, codes[0]))
    answer = collect(gw, [resend])[0]
    verdict = unit.session.receive(answer[0])
    assert (verdict.scan, verdict.verdict) == (1, GREEN)
    assert len(events.list_events(office.data)) == 1 and office.data.store.count_inside("kantor") == 1
    gw.close()
