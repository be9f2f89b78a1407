"""The host killed mid-load: simulated door units (the real firmware under CPython) scan cards through a real
Mosquitto while `pintu serve` is killed with SIGKILL several times and restarted. Afterwards every scan a unit
showed is checked against the event log (tests/reliability/harness.py: audit).

Usage: python bench/faults.py [--scans 400] [--kills 4] [--units 8] [--long]
                             [--backend sqlite|postgresql] [--workers 1] [--broker-restarts 0] [--db-restarts 0]
--long: 2,000 scans and 10 kills. --workers N: N `pintu serve` workers (own broker logins), a random one killed each
time. --broker-restarts: Mosquitto restarted that often during the load. --db-restarts (postgresql): the database
runs on a private PostgreSQL server this bench starts (tests/postgres_server.py), restarted that often.
Prints a table; the last line is one JSON object with backend, workers, kills, broker_restarts, db_restarts,
scans_sent, admitted_twice, admissions_lost, authentic_refused, discrepancies (the last four must be 0), and more."""

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pintu.registry.broker import HOST_WORKERS, host_users  # noqa: E402
from tests.reliability.harness import (  # noqa: E402
    Driver,
    Office,
    audit,
    mqtt_serve,
    mqtt_units,
    settle,
    wait_for,
)


def _refused(text):
    """Frames the workers refused, from their throttled log lines ("refused from DEV: N kind, M kind")."""
    return sum(int(n) for line in text.splitlines() if "refused from" in line
               for n in re.findall(r"(\d+) [a-z_]+", line.split("refused from", 1)[1].split("(last:")[0]))


def run(workdir, scans=400, kills=4, units=8, persons=60, seed=1, say=print, database=None, workers=1,
        broker_restarts=0, db_restarts=0, db_server=None, network=None, cuts=0):
    """The scenario; -> (figures, audit details). Units: three quarters at the entry door, the rest at the exit.
    Faults (kills, broker and database restarts, network cuts) are spread over the load in a random order.
    network: a tests/netns.py Network with hosts "mqtt" and w1..wN (and "db" for the database): the broker and each
    worker run on their own host; the units and this process on the network's first address."""
    workdir = Path(workdir)
    units_out = max(1, units // 4)
    broker_host = network.hosts["mqtt"][1] if network else "127.0.0.1"
    office = Office(workdir / "data", persons=persons, units_in=units - units_out, units_out=units_out,
                    database=database, broker_host=broker_host)
    broker = office.broker(prefix=network.exec_prefix("mqtt") if network else ()).start()
    serves = [mqtt_serve(office, workdir / ("serve%d.log" % i), "host-%d" % i, user,
                         prefix=network.exec_prefix("w%d" % (i + 1)) if network else ()).start()
              for i, user in enumerate(host_users(workers))]
    sims = mqtt_units(office, office.port, host=broker_host)
    rng = random.Random(seed)
    faults = ["kill"] * kills + ["broker"] * broker_restarts + ["db"] * db_restarts + ["cut"] * cuts
    rng.shuffle(faults)
    done = {"kill": 0, "broker": 0, "db": 0, "cut": 0}
    done_kills = 0
    try:
        for unit in sims:
            unit.start()
        if not wait_for(lambda: all(u.app.link.connected for u in sims), 20):
            raise RuntimeError("units did not connect to the broker")
        driver = Driver(sims, office.codes, scans, seed=seed).start()
        # Faults spread over the run: wait for a share of the scans, then the fault, down a moment, back.
        for k, fault in enumerate(faults):
            target = scans * (k + 1) // (len(faults) + 1)
            wait_for(lambda target=target: driver.sent >= target or driver.done(), 600, 0.05)
            if driver.done():
                break
            time.sleep(rng.uniform(0.0, 1.0))  # somewhere inside a decision, a commit or a reply
            done[fault] += 1
            say("%s %d after %d scans" % (fault, done[fault], driver.sent))
            if fault == "kill":
                serve = rng.choice(serves)
                serve.kill()
                time.sleep(rng.uniform(0.3, 2.5))
                serve.start()
            elif fault == "broker":
                broker.restart()
            elif fault == "cut":  # a worker's machine unreachable for a while, its processes unaware
                host = "w%d" % rng.randrange(1, workers + 1)
                network.cut(host)
                time.sleep(rng.uniform(2.0, 6.0))
                network.join(host)
            else:
                db_server.restart()
        done_kills = done["kill"]
        if not driver.join(timeout=max(120, scans)):
            raise RuntimeError("the load did not finish")
        if not settle(sims, timeout=120):
            raise RuntimeError("offline queues did not drain: %s" % [u.status() for u in sims])
    finally:
        for unit in sims:
            unit.stop()
        codes = [serve.stop() for serve in serves]
        broker.stop()
    details = audit(office.path, sims)
    details["unanswered"] = driver.unanswered
    details["dropped_from_queues"] = sum(u.app.queue.dropped for u in sims)
    details["unit_errors"] = sum(u.app.errors for u in sims)
    details["serve_exit"] = max(abs(c or 0) for c in codes)
    details["serve_starts"] = sum(serve.starts for serve in serves)
    discrepancies = details["discrepancies"] + driver.unanswered + details["dropped_from_queues"]
    figures = {
        "backend": "postgresql" if database else "sqlite",
        "workers": workers,
        "kills": done_kills,
        "broker_restarts": done["broker"],
        "db_restarts": done["db"],
        "network_cuts": done["cut"],
        "separate_hosts": bool(network),
        "scans_sent": driver.sent,
        "verdicts_shown": details["verdicts_shown"],
        "events_stored": details["events_stored"],
        "admitted_twice": details["doubled"],
        "admissions_lost": details["lost"],
        # every unit here is authentic: any frame a worker refused (replay, bad tag) is one too many
        "authentic_refused": sum(_refused(serve.log()) for serve in serves),
        "discrepancies": discrepancies,
    }
    figures["discrepancies"] += figures["authentic_refused"]
    return figures, details


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=400)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--persons", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--long", action="store_true", help="a deeper run: 2,000 scans, 10 kills")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (data, logs) and print it")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, choices=range(1, HOST_WORKERS + 1), metavar="N")
    parser.add_argument("--broker-restarts", type=int, default=0)
    parser.add_argument("--db-restarts", type=int, default=0)
    parser.add_argument("--netns", action="store_true",
                        help="workers, broker and database each on their own host: network namespaces (root)")
    parser.add_argument("--cuts", type=int, default=0, help="with --netns: cut a worker off the network this often")
    args = parser.parse_args()
    if args.long:
        args.scans, args.kills = max(args.scans, 2000), max(args.kills, 10)
    if args.db_restarts and args.backend != "postgresql":
        parser.error("--db-restarts needs --backend postgresql")
    if args.cuts and not args.netns:
        parser.error("--cuts needs --netns")
    workdir = tempfile.mkdtemp(prefix="pintu-faults-")
    database = db_server = network = None
    if args.netns:
        from tests import netns

        why = netns.available()
        if why:
            parser.error(why)
        network = netns.Network()
        for name in ["mqtt", "db"] + ["w%d" % (i + 1) for i in range(args.workers)]:
            network.add(name)
    if args.db_restarts or (network and args.backend == "postgresql"):  # a server of our own, not the machine's
        from tests.postgres_server import PostgresServer

        if network:
            db_server = PostgresServer(network.hosts["db"][1], network.exec_prefix("db")).start()
        else:
            db_server = PostgresServer().start()
        database = db_server.create_database()
    elif args.backend == "postgresql":
        from tests.conftest import create_postgres_database

        database = create_postgres_database()
    try:
        figures, details = run(workdir, args.scans, args.kills, args.units, args.persons, args.seed,
                               say=lambda s: print(s, file=sys.stderr), database=database, workers=args.workers,
                               broker_restarts=args.broker_restarts, db_restarts=args.db_restarts,
                               db_server=db_server, network=network, cuts=args.cuts)
    finally:
        if args.keep:
            print("work folder: %s" % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        if db_server:
            db_server.stop()
        if network:
            network.close()
        elif database:
            from tests.conftest import drop_postgres_database

            drop_postgres_database(database)
    print("faults under load (%d units, %d worker(s) on %s, real Mosquitto, `pintu serve` killed with SIGKILL%s)"
          % (args.units, args.workers, args.backend, "; each on its own host (netns)" if network else ""))
    print("%-28s %10s" % ("figure", "value"))
    for key, value in list(figures.items()) + [(k, v) for k, v in details.items() if k not in figures]:
        print("%-28s %10s" % (key, value))
    print(json.dumps(figures))
    return 0 if figures["discrepancies"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
