"""The hostile-input campaign: frames, serial streams, codes, CSV rows and MQTT clients an attacker controls, against
the real host parts (tests/reliability/hostile.py). Counts what was tried, what was wrongly accepted and what crashed
the host; the last two must be 0.

Usage: python bench/hostile.py [--rounds 200] [--decoders 20000] [--seed 1] [--long] [--no-mqtt]
--long: 2,000 rounds. Each round tries every kind of hostile frame and serial stream once; codes and CSV rows get a
quarter as many rounds. MQTT attempts need mosquitto (skipped with a note when it is missing).
--decoders N: N more inputs straight to the frame, stream, card, HC1 and CSV-row decoders
(tests/reliability/hostile_decoders.py). The campaign at scale (issue 15), a few minutes on 2 cores:

    .venv/bin/python bench/hostile.py --decoders 1000000 --no-mqtt
Prints a table; the last line is one JSON object: {"tried", "wrongly_accepted", "crashes"}."""

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.hostile import mqtt_campaign, run_campaign  # noqa: E402
from tests.reliability.hostile_decoders import run_decoders  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--decoders", type=int, default=20_000, help="inputs straight to the decoders")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--long", action="store_true", help="a deeper run: 2,000 rounds")
    parser.add_argument("--no-mqtt", action="store_true", help="skip the attempts that need a Mosquitto")
    args = parser.parse_args()
    rounds = max(args.rounds, 2000) if args.long else args.rounds
    # Every refusal is logged as a security event; thousands of them would bury the table.
    logging.basicConfig(level=logging.CRITICAL)
    tmp = tempfile.mkdtemp(prefix="pintu-hostile-")
    try:
        tally = run_campaign(Path(tmp) / "data", rounds, args.seed)
        run_decoders(tally, args.decoders, args.seed)
        if not args.no_mqtt:
            if shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin"):
                mqtt_campaign(tmp, tally, rounds=max(1, min(10, rounds // 50)))
            else:
                print("note: mosquitto not found, MQTT attempts skipped", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("hostile input (%d rounds, %d decoder inputs, seed %d)" % (rounds, args.decoders, args.seed))
    print("%-48s %7s %7s %7s" % ("attempt", "tried", "wrong", "crash"))
    for kind, tried in tally.tried.items():
        print("%-48s %7d %7d %7d" % (kind, tried, tally.wrong.get(kind, 0), tally.crashes.get(kind, 0)))
    for kind, example in tally.examples:
        print("FAILED %s: %r" % (kind, example))
    totals = tally.totals()
    print(json.dumps(totals))
    return 0 if totals["wrongly_accepted"] == 0 and totals["crashes"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
