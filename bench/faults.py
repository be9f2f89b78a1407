"""The host killed mid-load: simulated door units (the real firmware under CPython) scan cards through a real
Mosquitto while `pintu serve` is killed with SIGKILL several times and restarted. Afterwards every scan a unit
showed is checked against the event log (tests/reliability/harness.py: audit).

Usage: python bench/faults.py [--scans 400] [--kills 4] [--units 8] [--long]
--long: 2,000 scans and 10 kills. Prints a table; the last line is one JSON object:
{"scans_sent", "verdicts_shown", "events_stored", "kills", "discrepancies"} (discrepancies must be 0)."""

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.harness import (  # noqa: E402
    Driver,
    Office,
    audit,
    mqtt_serve,
    mqtt_units,
    settle,
    wait_for,
)


def run(workdir, scans=400, kills=4, units=8, persons=60, seed=1, say=print):
    """The scenario; -> (figures, audit details). Units: three quarters at the entry door, the rest at the exit."""
    workdir = Path(workdir)
    units_out = max(1, units // 4)
    office = Office(workdir / "data", persons=persons, units_in=units - units_out, units_out=units_out)
    broker = office.broker().start()
    serve = mqtt_serve(office, workdir / "serve.log").start()
    sims = mqtt_units(office, office.port)
    rng = random.Random(seed)
    done_kills = 0
    try:
        for unit in sims:
            unit.start()
        if not wait_for(lambda: all(u.app.link.connected for u in sims), 20):
            raise RuntimeError("units did not connect to the broker")
        driver = Driver(sims, office.codes, scans, seed=seed).start()
        # Kills spread over the run: wait for a share of the scans, then SIGKILL, stay down a moment, restart.
        for k in range(kills):
            target = scans * (k + 1) // (kills + 1)
            wait_for(lambda target=target: driver.sent >= target or driver.done(), 600, 0.05)
            if driver.done():
                break
            time.sleep(rng.uniform(0.0, 1.0))  # somewhere inside a decision, a commit or a reply
            serve.kill()
            done_kills += 1
            say("kill %d after %d scans" % (done_kills, driver.sent))
            time.sleep(rng.uniform(0.3, 2.5))
            serve.start()
        if not driver.join(timeout=max(120, scans)):
            raise RuntimeError("the load did not finish")
        if not settle(sims, timeout=120):
            raise RuntimeError("offline queues did not drain: %s" % [u.status() for u in sims])
    finally:
        for unit in sims:
            unit.stop()
        code = serve.stop()
        broker.stop()
    details = audit(office.path, sims)
    details["unanswered"] = driver.unanswered
    details["dropped_from_queues"] = sum(u.app.queue.dropped for u in sims)
    details["unit_errors"] = sum(u.app.errors for u in sims)
    details["serve_exit"] = code
    details["serve_starts"] = serve.starts
    discrepancies = details["discrepancies"] + driver.unanswered + details["dropped_from_queues"]
    figures = {
        "scans_sent": driver.sent,
        "verdicts_shown": details["verdicts_shown"],
        "events_stored": details["events_stored"],
        "kills": done_kills,
        "discrepancies": discrepancies,
    }
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
    args = parser.parse_args()
    if args.long:
        args.scans, args.kills = max(args.scans, 2000), max(args.kills, 10)
    workdir = tempfile.mkdtemp(prefix="pintu-faults-")
    try:
        figures, details = run(workdir, args.scans, args.kills, args.units, args.persons, args.seed,
                               say=lambda s: print(s, file=sys.stderr))
    finally:
        if args.keep:
            print("work folder: %s" % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("host killed mid-load (%d units, real Mosquitto, `pintu serve` killed with SIGKILL)" % args.units)
    print("%-28s %10s" % ("figure", "value"))
    for key, value in list(figures.items()) + [(k, v) for k, v in details.items() if k not in figures]:
        print("%-28s %10s" % (key, value))
    print(json.dumps(figures))
    return 0 if figures["discrepancies"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
