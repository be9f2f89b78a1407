"""Import N synthetic persons, then time decisions three ways beside the bare durable transaction rate of the same
database, in one run.

1. Single decisions through the library (`pintu check`'s path): one transaction and COMMIT each, the card's Ed25519
   signature checked at every scan (decisions_per_s), then with verified cards remembered by digest
   (decisions_remembered_per_s; revocation is still read at every scan).
2. The gateway's group-commit path (decisions_batched_per_s, p50_us, p99_us): the real Gateway driven, without a
   network, by --sessions simulated door units (pintu_protocol Session objects, authenticated frames, each unit with
   one scan in flight as a real unit has); frames that arrive while a transaction is open share the next one.
   Latency is from handing the frame to the gateway to its answer being released after the COMMIT. The same with
   the signature checked at every scan is decisions_batched_signature_per_s.
   An open-loop run through the same path (open_offered_per_s, open_p50_us, open_p99_us): scans arrive at a set
   rate (--open-rate, default half the batched rate) whatever the answers do, latency from each one's scheduled time.
3. The denominator, raw_txn_per_s: BEGIN IMMEDIATE; INSERT one row; COMMIT, on a table of the same database file
   with the same pragmas (WAL, synchronous=NORMAL) on a connection of its own; on PostgreSQL, BEGIN; INSERT; COMMIT
   (three round trips, as a client sends them) in the bench's database.

Figures from a machine shared with other work are indicative only. The last line is one JSON object:
{"backend", "persons", "import_s", "decisions_per_s", "decisions_remembered_per_s", "decisions_batched_per_s",
 "decisions_batched_signature_per_s", "decisions_unbatched_gateway_per_s", "open_offered_per_s", "open_p50_us",
 "open_p99_us", "raw_txn_per_s", "p50_us", "p99_us", "raw_p50_us", "raw_p99_us", "statements_per_decision",
 "statements_per_batched_decision", ...}
Targets (issue 17): batched >= 25% of raw_txn_per_s with p99 <= 1 ms; signature checked every scan >= 10,000/s.
--backend postgresql uses a scratch database on the server at PINTU_TEST_POSTGRES (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end.
"""

import argparse
import csv
import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import pintu_protocol as p  # noqa: E402
from pintu import checkin, registry  # noqa: E402
from pintu.data.datadir import DataDir  # noqa: E402
from pintu.gateway.gateway import Gateway  # noqa: E402
from pintu.registry import cards  # noqa: E402

ROLES = ("asn", "staff", "visitor", "visitor")
POSTGRES_ADMIN_URL = os.environ.get("PINTU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def nik_of(i):
    return "3275%012d" % i


def write_persons(path, count, rng):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(registry.IMPORT_COLUMNS)
        for i in range(count):
            doses = rng.choice((0, 1, 2, 2, 2, 3))
            dates = ["2021-06-01", "2021-07-01", "2021-12-01"][:doses] + [""] * (3 - doses)
            status = "positive" if rng.random() < 0.01 else ""
            out.writerow([nik_of(i), "Person %d" % i, ROLES[i % 4], *dates, status, ""])


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def summary(latencies_ns, elapsed_s):
    """-> (rate per second, p50 us, p99 us)."""
    latencies_ns = sorted(latencies_ns)
    return (len(latencies_ns) / elapsed_s, percentile(latencies_ns, 0.5) / 1000,
            percentile(latencies_ns, 0.99) / 1000)


class Forgetful(dict):
    """data.verified that remembers nothing: every scan's signature is checked."""

    def __setitem__(self, key, value):
        pass


def single_decisions(data, codes, count, rng):
    """The library's own path: one transaction per decision. -> (rate, p50, p99)."""
    latencies = []
    t0 = time.perf_counter()
    for _ in range(count):
        code = rng.choice(codes)
        door = "lobby" if rng.random() < 0.7 else "belakang"
        t = time.perf_counter_ns()
        checkin.check(data, door, code)
        latencies.append(time.perf_counter_ns() - t)
    return summary(latencies, time.perf_counter() - t0)


def batched_decisions(data, units, codes, count, rng, batch_max=None):
    """The gateway's group-commit path: every unit keeps one scan in flight; its answer (released after the COMMIT)
    sends its next one. batch_max=1: the same gateway deciding each frame in its own transaction (the baseline).
    -> (rate, p50, p99, mean frames per transaction)."""
    gateway = Gateway(data) if batch_max is None else Gateway(data, batch_max=batch_max)
    plans = {}  # each unit's frames, made before the clock starts (a unit's work, not the host's)
    per_unit = count // len(units)
    for device_id, session in units:
        frames = []
        for _ in range(per_unit):
            session.scan_id += 1
            direction = p.IN if rng.random() < 0.7 else p.OUT
            frames.append(session.send(p.Scan(session.scan_id, "lobby", direction, rng.choice(codes).encode())))
        plans[device_id] = frames
    latencies, done, lock = [], threading.Event(), threading.Lock()
    left = [per_unit * len(units)]
    batches_before = gateway.stats["batches"]

    def send(device_id, i):
        sent = time.perf_counter_ns()

        def reply(frame):
            latencies.append(time.perf_counter_ns() - sent)
            if i + 1 < per_unit:
                send(device_id, i + 1)
            with lock:
                left[0] -= 1
                if not left[0]:
                    done.set()

        gateway.submit(plans[device_id][i], reply, None)

    t0 = time.perf_counter()
    for device_id, _ in units:
        send(device_id, 0)
    if not done.wait(600):
        raise SystemExit("the gateway stopped answering (%d frames left)" % left[0])
    elapsed = time.perf_counter() - t0
    batches = gateway.stats["batches"] - batches_before
    unanswered = sum(v for k, v in gateway.stats.items() if k in ("storage_failed", "crashed"))
    if unanswered:
        raise SystemExit("%d frames failed: %r" % (unanswered, dict(gateway.stats)))
    rate, p50, p99 = summary(latencies, elapsed)
    return rate, p50, p99, len(latencies) / max(1, batches)


def open_loop(data, units, codes, count, rng, rate):
    """Scans arriving at `rate` per second spread over the units whatever the answers do (open loop), through the
    group-commit path. Latency runs from each scan's scheduled time (a late send counts against the host, so a
    stall is not hidden). -> (offered rate, p50, p99, achieved rate)."""
    gateway = Gateway(data)
    frames = []
    for n in range(count):
        _, session = units[n % len(units)]
        session.scan_id += 1
        direction = p.IN if rng.random() < 0.7 else p.OUT
        frames.append(session.send(p.Scan(session.scan_id, "lobby", direction, rng.choice(codes).encode())))
    latencies, done, lock = [], threading.Event(), threading.Lock()
    left = [count]

    def answered(scheduled):
        def reply(frame):
            latencies.append(time.perf_counter_ns() - scheduled)
            with lock:
                left[0] -= 1
                if not left[0]:
                    done.set()
        return reply

    interval_ns = int(1e9 / rate)
    start = time.perf_counter_ns()
    for i, frame in enumerate(frames):
        scheduled = start + i * interval_ns
        wait = scheduled - time.perf_counter_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        gateway.submit(frame, answered(scheduled), None)
    if not done.wait(600):
        raise SystemExit("the gateway stopped answering (%d frames left)" % left[0])
    elapsed = (time.perf_counter_ns() - start) / 1e9
    latencies.sort()
    return rate, percentile(latencies, 0.5) / 1000, percentile(latencies, 0.99) / 1000, count / elapsed


def raw_sqlite_txns(path, count):
    """BEGIN IMMEDIATE; INSERT one row; COMMIT on the database file, with the store's pragmas."""
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "secure_delete=ON"):
        db.execute("PRAGMA " + pragma)
    db.execute("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, v BLOB NOT NULL)")
    latencies = []
    t0 = time.perf_counter()
    for i in range(count):
        t = time.perf_counter_ns()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO bench_raw (at, v) VALUES (?, ?)", (i, b"x" * 32))
        db.execute("COMMIT")
        latencies.append(time.perf_counter_ns() - t)
    elapsed = time.perf_counter() - t0
    db.execute("DROP TABLE bench_raw")
    db.close()
    return summary(latencies, elapsed)


def raw_postgres_txns(url, count):
    """BEGIN; INSERT one row; COMMIT, three round trips as a client sends them, on the bench's database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_raw (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, v BYTEA NOT NULL)")
        latencies = []
        t0 = time.perf_counter()
        for i in range(count):
            t = time.perf_counter_ns()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO bench_raw (at, v) VALUES (%s, %s)", (i, b"x" * 32))
            conn.execute("COMMIT")
            latencies.append(time.perf_counter_ns() - t)
        elapsed = time.perf_counter() - t0
        conn.execute("DROP TABLE bench_raw")
    return summary(latencies, elapsed)


def statements_per_decision(data, units, codes):
    """Statements SQLite runs per authenticated scan through the gateway, BEGIN and COMMIT included: for a lone
    frame, and per frame of a batch of one frame from each unit. -> (lone, batched), or (None, None) on PostgreSQL."""
    if data.store.backend != "sqlite":
        return None, None
    frames = []
    for n, (_, session) in enumerate(units):
        session.scan_id += 1
        frames.append(session.send(p.Scan(session.scan_id, "lobby", p.IN, codes[n % len(codes)].encode())))
    seen = []
    gateway = Gateway(data)
    data.store._db.set_trace_callback(seen.append)
    try:
        gateway.handle(frames[0], lambda f: None)
        lone = len(seen)
        seen.clear()
        with gateway.held():  # held: the decider takes every frame below as one batch
            for frame in frames[1:]:
                gateway.submit(frame, lambda f: None)
        gateway.wait_idle()
    finally:
        data.store._db.set_trace_callback(None)
    return lone, len(seen) / max(1, len(frames) - 1)


def make_postgres_database():
    import psycopg

    name = "pintu_bench_%s" % uuid.uuid4().hex[:12]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute('CREATE DATABASE "%s"' % name)
    return "%s/%s" % (POSTGRES_ADMIN_URL.rpartition("/")[0], name)


def drop_postgres_database(url):
    import psycopg

    from pintu.data import pg_store

    pg_store.discard_pool(url)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % url.rpartition("/")[2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=16, help="simulated door units on the batched path")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--open-rate", type=float, help="scans/s offered in the open-loop run (default: half the"
                        " batched rate measured just before)")
    parser.add_argument("--data", help="data directory to use (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    url = make_postgres_database() if args.backend == "postgresql" else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures = run(args, rng, tmp, url)
    finally:
        if url is not None:
            drop_postgres_database(url)
    print(json.dumps(figures))


def run(args, rng, tmp, url):
    data_dir = args.data or os.path.join(tmp, "pintu-data")
    csv_path = os.path.join(tmp, "persons.csv")
    t0 = time.perf_counter()
    write_persons(csv_path, args.persons, rng)
    print("backend: %s" % args.backend)
    print("wrote %d synthetic persons in %.1f s (not timed)" % (args.persons, time.perf_counter() - t0))
    data, _ = DataDir.init(data_dir, database=url)
    with data:
        t0 = time.perf_counter()
        rows, _total = registry.read_import_file(csv_path)
        report = registry.import_persons(data, rows)
        import_s = time.perf_counter() - t0
        print("import: %d persons in %.2f s (%.0f rows/s)" % (report.imported, import_s, report.imported / import_s))
        registry.add_site(data, "kantor", "Kantor", args.persons, "full", "Puskesmas", "8h")
        registry.add_door(data, "lobby", "kantor", "in")
        registry.add_door(data, "belakang", "kantor", "out")
        holders = rng.sample(range(args.persons), min(args.persons, max(1, args.decisions // 2)))
        t0 = time.perf_counter()
        codes = [cards.issue_card(data, nik_of(i), "kantor")["code"] for i in holders]
        print("issued %d cards in %.2f s" % (len(codes), time.perf_counter() - t0))
        units = []
        for n in range(max(1, args.sessions)):
            device_id = "bench-%03d" % n
            _, key = registry.add_device(data, device_id, "lobby" if n % 10 < 7 else "belakang")
            session = p.Session(device_id, key, p.UNIT)
            session.scan_id = 0
            units.append((device_id, session))

        single_decisions(data, codes, min(500, args.decisions), rng)  # warm the page cache
        remembered = single_decisions(data, codes, args.decisions, rng)
        batched_decisions(data, units, codes, min(500, args.decisions), rng)  # warm the gateway's path
        data.verified = Forgetful()
        signature = single_decisions(data, codes, args.decisions, rng)
        batched_signature = batched_decisions(data, units, codes, args.decisions, rng)
        data.verified = {}
        batched = batched_decisions(data, units, codes, args.decisions, rng)
        unbatched = batched_decisions(data, units, codes, args.decisions, rng, batch_max=1)
        opened = open_loop(data, units, codes, args.decisions, rng, args.open_rate or max(1.0, batched[0] / 2))
        statements, batched_statements = statements_per_decision(data, units, codes)
        if url is None:
            raw = raw_sqlite_txns(os.path.join(data_dir, "pintu.db"), args.decisions)
        else:
            raw = raw_postgres_txns(url, args.decisions)

        def line(name, figures):
            print("%-58s %8.0f/s  p50 %6.0f us  p99 %6.0f us" % (name, *figures[:3]))

        line("single decisions, signature checked every scan", signature)
        line("single decisions, verified cards remembered", remembered)
        line("batched (group commit, %d units), signature every scan" % len(units), batched_signature)
        line("batched (group commit, %d units), cards remembered" % len(units), batched)
        line("gateway, one frame per transaction, cards remembered", unbatched)
        print("%-58s %8.0f/s  p50 %6.0f us  p99 %6.0f us" % ("open loop through group commit, offered %.0f/s"
                                                            % opened[0], opened[3], opened[1], opened[2]))
        line("raw durable transactions (one row each), %s" % args.backend, raw)
        print("batched: %.1f frames per transaction on average" % batched[3])
        print("batched / raw transactions: %.1f%% (target >= 25%%, p99 <= 1000 us); signature every scan, batched:"
              " %.0f/s (target >= 10,000/s)" % (100 * batched[0] / raw[0], batched_signature[0]))
        if statements is not None:
            print("SQLite statements per gateway scan, BEGIN and COMMIT included: %d for a lone frame, %.1f per frame"
                  " in a batch of %d" % (statements, batched_statements, len(units) - 1))
        inside = data.store.count_inside("kantor")
        print("inside at the end: %d; events recorded: %d" % (inside, len(data.store.list_events(limit=None))))
    return {
        "backend": args.backend,
        "persons": args.persons,
        "sessions": len(units),
        "import_s": round(import_s, 2),
        "decisions_per_s": round(signature[0], 1),
        "decisions_remembered_per_s": round(remembered[0], 1),
        "decisions_batched_per_s": round(batched[0], 1),
        "decisions_batched_signature_per_s": round(batched_signature[0], 1),
        "decisions_unbatched_gateway_per_s": round(unbatched[0], 1),
        "open_offered_per_s": round(opened[0], 1),
        "open_p50_us": round(opened[1], 1),
        "open_p99_us": round(opened[2], 1),
        "raw_txn_per_s": round(raw[0], 1),
        "p50_us": round(batched[1], 1),
        "p99_us": round(batched[2], 1),
        "single_p50_us": round(signature[1], 1),
        "single_p99_us": round(signature[2], 1),
        "raw_p50_us": round(raw[1], 1),
        "raw_p99_us": round(raw[2], 1),
        "frames_per_txn": round(batched[3], 1),
        "statements_per_decision": statements,
        "statements_per_batched_decision": batched_statements and round(batched_statements, 1),
    }


if __name__ == "__main__":
    main()
