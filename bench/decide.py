"""Import N synthetic persons, then time `check` decisions through the library API next to raw SQLite lookups.

Prints its figures; the last line is one JSON object:
{"persons": N, "import_s": X, "decisions_per_s": X, "p50_us": X, "p99_us": X, "sqlite_lookups_per_s": X}

decisions_per_s is the honest figure: every scan verifies the card's Ed25519 signature and commits its event and
visit (WAL, synchronous=NORMAL). The figure with verified cards remembered (a regular's second scan of the day) is
printed above it. The baseline is a primary-key SELECT of a person row on the same database in the same run.
Targets (issue 3): import <= 60 s for 1,000,000 persons; decisions >= 30% of the raw lookup rate.
"""

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

from pintu import (
    checkin,
    registry,  # noqa: E402
)
from pintu.data.datadir import DataDir  # noqa: E402
from pintu.registry import cards

ROLES = ("asn", "staff", "visitor", "visitor")


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--data", help="data directory to use (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data or os.path.join(tmp, "pintu-data")
        csv_path = os.path.join(tmp, "persons.csv")
        t0 = time.perf_counter()
        write_persons(csv_path, args.persons, rng)
        print("wrote %d synthetic persons in %.1f s (not timed)" % (args.persons, time.perf_counter() - t0))

        data, _ = DataDir.init(data_dir)
        with data:
            t0 = time.perf_counter()
            rows, _total = registry.read_import_file(csv_path)
            report = registry.import_persons(data, rows)
            import_s = time.perf_counter() - t0
            print(
                "import: %d persons in %.2f s (%.0f rows/s; target <= 60 s for 1,000,000)"
                % (report.imported, import_s, report.imported / import_s)
            )

            registry.add_site(data, "kantor", "Kantor", args.persons, "full", "Puskesmas", "8h")
            registry.add_door(data, "lobby", "kantor", "in")
            registry.add_door(data, "belakang", "kantor", "out")
            holders = rng.sample(range(args.persons), min(args.persons, max(1, args.decisions // 2)))
            t0 = time.perf_counter()
            codes = [cards.issue_card(data, nik_of(i), "kantor")["code"] for i in holders]
            print("issued %d cards in %.2f s" % (len(codes), time.perf_counter() - t0))

            def run(count, cached):
                latencies = []
                for _ in range(count):
                    code = rng.choice(codes)
                    door = "lobby" if rng.random() < 0.7 else "belakang"
                    if not cached:
                        data.verified.clear()
                    t = time.perf_counter_ns()
                    checkin.check(data, door, code)
                    latencies.append(time.perf_counter_ns() - t)
                latencies.sort()
                return len(latencies) / (sum(latencies) / 1e9), latencies

            run(min(500, args.decisions), True)  # warm the page cache
            cached_rate, cached_lat = run(args.decisions, True)
            rate, latencies = run(args.decisions, False)
            p50, p99 = percentile(latencies, 0.50) / 1000, percentile(latencies, 0.99) / 1000
            print(
                "decisions, verified cards remembered: %.0f/s, p50 %.0f us, p99 %.0f us"
                % (cached_rate, percentile(cached_lat, 0.5) / 1000, percentile(cached_lat, 0.99) / 1000)
            )
            print("decisions, signature checked every scan: %.0f/s, p50 %.0f us, p99 %.0f us" % (rate, p50, p99))

            store = data.store
            lookups = args.decisions * 5
            ids = [rng.randint(1, args.persons) for _ in range(lookups)]
            t0 = time.perf_counter()
            for person_id in ids:
                store.raw_person_lookup(person_id)
            lookup_rate = lookups / (time.perf_counter() - t0)
            print("raw SQLite primary-key lookups: %.0f/s" % lookup_rate)
            print(
                "decisions / raw lookups: %.1f%% (target >= 30%%); remembered cards: %.1f%%"
                % (100 * rate / lookup_rate, 100 * cached_rate / lookup_rate)
            )
            inside = store.count_inside("kantor")
            print("inside at the end: %d; events recorded: %d" % (inside, len(store.list_events(limit=None))))

    print(
        json.dumps(
            {
                "persons": args.persons,
                "import_s": round(import_s, 2),
                "decisions_per_s": round(rate, 1),
                "p50_us": round(p50, 1),
                "p99_us": round(p99, 1),
                "sqlite_lookups_per_s": round(lookup_rate, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
