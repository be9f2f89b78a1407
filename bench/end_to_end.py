"""End to end through a real Mosquitto: N simulated door units scan cards, `pintu serve` decides and answers.

Closed loop (the default): every unit keeps one scan in flight and sends the next when the last is answered, as
the firmware does; the figure is how many scans the host finishes per second, and latency is queueing once the
host is the bottleneck. Open loop (--rate R): scans arrive R per second spread over the units on a fixed schedule,
whatever the answers do, and each latency runs from the moment the scan was due to its verdict, so every wait
counts (the broker's, the host's, and a generator that fell behind: its lag is printed too).

The generator (bench/load_gen.py) runs in --generators processes, each owning a slice of the units and one MQTT
connection of its own (with --unit-logins, one connection per unit under the unit's own login, as in the field);
every unit is a protocol session under its own key sending authenticated SCAN frames on its
own topic and authenticating its VERDICT. The baseline, in the same run with the same generator, units, mode and
broker: an echo responder per worker sending every frame straight back on its unit's down topic (no decision, no
database) — broker_roundtrips_per_s, what this machine's broker and generator give without the host.

The record is counted at the end: events recorded == verdicts received, each scan answered at most once and never
refused, else the bench exits 1 (a decision without its answer, a scan decided twice). Scans sent and never answered
are printed as shed: an overloaded gateway drops a frame undecided once it waited longer than a unit waits for its
verdict (gateway/group_commit.py); a real unit shows OFFLINE and replays it QUEUED, these simulated ones do not.

Usage: python bench/end_to_end.py [--units 100,1000] [--seconds 10] [--rate R] [--backend sqlite|postgresql]
                                  [--workers 1,2] [--generators 2] [--unit-logins] [--keep]
--backend postgresql makes a scratch database on PINTU_TEST_POSTGRES (default postgres@127.0.0.1:5432) and drops it;
--workers runs that many `pintu serve` processes sharing the database and the load (each its own broker login).
Prints a table; the last line is one JSON object with the figures of the largest run (most units, then workers).

What bounds the figures on a 2-core machine (the CPU each part used in the window is printed): the echo baseline
is CPU-bound, the broker taking most (0.6-0.9 core), the generator about 0.5 and the echo 0.3. With the host in
place one `pintu serve` is the bottleneck: on SQLite it uses about one core (Python, one GIL: MQTT parsing, frame
authentication, the decisions on the decider thread); on PostgreSQL about half a core and PostgreSQL the other half,
a dozen round trips per decision under the one write lock (an advisory lock), so a second worker adds parsing and
signature checks but no decisions."""

import argparse
import json
import multiprocessing
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import load_gen  # noqa: E402

from pintu import registry  # noqa: E402
from pintu.data.datadir import DataDir  # noqa: E402
from pintu.registry import cards, provision  # noqa: E402
from pintu.registry.broker import HOST_WORKERS, host_users, passwd_line  # noqa: E402
from pintu_protocol.topics import DOWN, UP, every  # noqa: E402
from tests.mosquitto import Broker, free_port  # noqa: E402

READY_S = 60  # a generator or echo process that is not subscribed by then has failed
# After the window, scans in flight are waited for until this long passes without any answer (or DRAIN_S in all).
# Long, because an overloaded host decides on but holds its verdicts back until the frames queued for it are done
# (paho writes only between batches of reads), so a healthy backlog can be silent for tens of seconds; a run that
# answers everything ends as soon as it has.
QUIET_S = 60
DRAIN_S = 600


def build_office(path, units, port, generators, database=None):
    data, _ = DataDir.init(path, database=database)
    registry.add_site(data, "kantor", "Kantor Walikota", 100000, "dose1", "Puskesmas Karang Kitri", "8h")
    registry.add_door(data, "lobby", "kantor", "both")
    configs = []
    for i in range(units):
        _, cfg_path = provision.add_unit(data, "u%04d" % i, "lobby", "mqtt", "office", "pw", "127.0.0.1:%d" % port)
        configs.append(json.loads(Path(cfg_path).read_text()))
    codes = []
    for i in range(units):  # one person per unit
        nik = "3275%012d" % (i + 1)
        registry.add_person(data, nik, "Person %d" % i)
        registry.add_dose(data, nik, "2021-03-01")
        codes.append(cards.issue_card(data, nik, "kantor")["code"].encode())
    conf_dir = Path(path).parent / "broker"
    provision.broker_config(data, conf_dir, port=port, bind="127.0.0.1")
    # One login per generator process (it speaks for its slice of the units; the broker makes a login the client id).
    with open(conf_dir / "passwd", "a") as f:
        f.writelines(passwd_line(login, "bench") + "\n" for login in generator_logins(generators))
    with open(conf_dir / "acl", "a") as f:
        f.writelines("\nuser %s\ntopic write %s\ntopic read %s\n" % (login, every(UP), every(DOWN))
                     for login in generator_logins(generators))
    host_password = provision.host_password(data)
    data.close()
    return configs, codes, conf_dir, host_password


def generator_logins(generators):
    return ["bench-%d" % g for g in range(generators)]


def _collect(procs, results, wanted, timeout):
    """Results from the generator processes; a process that died first ends the bench with its exit code."""
    out, deadline = [], time.monotonic() + timeout
    while len(out) < wanted:
        try:
            out.append(results.get(timeout=1.0))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise SystemExit("a load generator failed (exit %s)" % (dead or "timeout")) from None
    return out


def cpu_seconds(pid):
    """CPU time (user + system) a process has used so far, from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


def cpu_use(watch, seconds):
    """watch: {part: [pid]} -> a function that, called again after `seconds`, gives {part: cores used meanwhile}."""
    before = {part: [cpu_seconds(pid) for pid in pids] for part, pids in watch.items()}

    def after():
        out = {}
        for part, pids in watch.items():
            now = [cpu_seconds(pid) for pid in pids]  # None: gone meanwhile (a database connection closed)
            spent = [a - b for a, b in zip(now, before[part], strict=True) if a is not None and b is not None]
            out[part] = round(sum(spent) / seconds, 2) if spent else None
        return out

    return after


def postgres_pids():
    """The PostgreSQL server's processes on this machine (every database's: the server may be shared)."""
    pids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        try:
            with open("/proc/%s/comm" % entry) as f:
                if f.read().strip() == "postgres":
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


def load(port, configs, codes, plan, generators, watch):
    """One measurement with the generator processes: -> the figures of the phase. watch: {part: [pid]} of the
    other processes whose CPU use in the window is reported beside the generator's."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, go, start_at = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
    slices = [[] for _ in range(generators)]
    for i, cfg in enumerate(configs):
        login = (cfg["link"]["user"], cfg["link"]["password"])
        slices[i % generators].append((i, cfg["device_id"], cfg["key"], cfg["site"], codes[i], login))
    procs = [ctx.Process(target=load_gen.run_units, args=(port, login, part, plan, ready, go, start_at, results))
             for login, part in zip(generator_logins(generators), slices, strict=True) if part]
    for proc in procs:
        proc.start()
    _collect(procs, ready, len(procs), READY_S)
    start_at.value = time.monotonic() + 0.2
    go.set()
    time.sleep(max(0.0, start_at.value - time.monotonic()))
    cpu = cpu_use(dict(watch, generator=[proc.pid for proc in procs]), plan["seconds"])
    time.sleep(max(0.0, start_at.value + plan["seconds"] - time.monotonic()))
    cpu = cpu()
    outs = _collect(procs, results, len(procs), READY_S + plan["seconds"] + plan["drain_s"])
    for proc in procs:
        proc.join()
    return dict(summarise(outs, plan), cpu=cpu)


def pct(values, q):
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 2) if values else None


def summarise(outs, plan):
    end = outs[0]["end"]
    done = [d for o in outs for d in o["done"]]
    in_window = [lat for at, lat in done if at <= end]
    # Closed loop: the scans answered within the window. Open loop: every scheduled scan, drained ones included.
    lat = sorted(in_window if plan["mode"] == "closed" else [lat for _, lat in done])
    lag = sorted(x for o in outs for x in o["lag"])
    verdicts = {}
    for o in outs:
        for name, n in o["verdicts"].items():
            verdicts[name] = verdicts.get(name, 0) + n
    last = max((at for at, _ in done), default=end)
    return {"rate": len(in_window) / plan["seconds"], "p50_ms": pct(lat, 0.50), "p99_ms": pct(lat, 0.99),
            "late": len(done) - len(in_window), "drained_s": round(max(0.0, last - end), 2),
            "lag_p99_ms": pct(lag, 0.99), "sent": sum(o["sent"] for o in outs),
            "answered": sum(o["answered"] for o in outs), "unanswered": sum(o["unanswered"] for o in outs),
            "refused": sum(o["refused"] for o in outs), "strays": sum(o["strays"] for o in outs),
            "verdicts": verdicts}


def echo_baseline(port, configs, codes, plan, generators, workers, password, broker_pid):
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    echoes = [ctx.Process(target=load_gen.echo, args=(port, user, password, ready, stop))
              for user in host_users(workers)]
    for proc in echoes:
        proc.start()
    _collect(echoes, ready, len(echoes), READY_S)
    try:
        return load(port, configs, codes, dict(plan, echo=True), generators,
                    {"broker": [broker_pid], "echo": [proc.pid for proc in echoes]})
    finally:
        stop.set()
        for proc in echoes:
            proc.join(timeout=10)


def start_serves(port, workdir, workers):
    """`pintu serve` workers, each its own host login; -> the processes once each is connected to the broker."""
    env = dict(os.environ, PINTU_DATA=str(workdir / "data"))
    serves, logs = [], []
    for user in host_users(workers):
        logs.append(workdir / ("serve-%s.log" % user))
        with open(logs[-1], "wb") as log:
            serves.append(subprocess.Popen([str(Path(sys.executable).parent / "pintu"), "serve", "--mqtt",
                                            "mqtt://127.0.0.1:%d" % port, "--user", user], env=env,
                                           stdout=subprocess.DEVNULL, stderr=log))
    deadline = time.monotonic() + READY_S
    while not all("connected to" in path.read_text(errors="replace") for path in logs):
        if time.monotonic() > deadline or any(s.poll() is not None for s in serves):
            stop_serves(serves)
            raise SystemExit("pintu serve did not connect to the broker; see %s" % logs[0])
        time.sleep(0.1)
    time.sleep(0.3)  # its SUBSCRIBE went out before that line; give the broker a moment to file it
    return serves


def stop_serves(serves):
    for serve in serves:
        if serve.poll() is None:
            serve.terminate()
    for serve in serves:
        serve.wait(timeout=60)


def recorded_events(workdir):
    with DataDir(workdir / "data") as data:
        return sum(row["n"] for row in data.store.event_counts(0, 1 << 40))


def run(units, plan, workdir, workers, generators, database=None):
    port = free_port()
    configs, codes, conf_dir, host_password = build_office(workdir / "data", units, port, generators, database)
    broker = Broker(conf_dir / "mosquitto.conf", port, workdir / "mosquitto.log").start()
    try:
        base = echo_baseline(port, configs, codes, plan, generators, workers, host_password, broker.proc.pid)
        serves = start_serves(port, workdir, workers)
        try:
            host = load(port, configs, codes, dict(plan, echo=False), generators,
                        dict({"broker": [broker.proc.pid], "pintu serve": [serve.pid for serve in serves]},
                             **({"postgres": postgres_pids()} if database else {})))
        finally:
            stop_serves(serves)
    finally:
        broker.stop()
    events = recorded_events(workdir)
    return {"units": units, "workers": workers, "host": host, "base": base, "events": events,
            # Each scan sent answered once (no stray second answer, none refused) and recorded once.
            "counts_ok": events == host["answered"] <= host["sent"] and not host["refused"] and not host["strays"]
            and base["answered"] == base["sent"]}


def report(results, args):
    mode = "open loop, %g scans/s offered" % args.rate if args.rate else "closed loop, one scan in flight per unit"
    links = "each unit on its own broker login" if args.unit_logins else "one broker login per process"
    print("backend %s, %s, %g s, %d generator processes, %s" % (args.backend, mode, args.seconds, args.generators,
                                                                links))
    print("%6s %7s  %-14s %10s %9s %9s %14s" % ("units", "workers", "", "scans/s", "p50 ms", "p99 ms", "gen lag p99"))
    for r in results:
        for name, f in (("pintu serve", r["host"]), ("echo baseline", r["base"])):
            print("%6d %7d  %-14s %10.1f %9s %9s %11s ms" % (r["units"], r["workers"], name, f["rate"], f["p50_ms"],
                                                            f["p99_ms"], f["lag_p99_ms"]))
        host, base = r["host"], r["base"]
        for name, f in (("pintu serve", host), ("echo baseline", base)):
            print("%15s CPU in the window, %s run (cores of %d): %s" % (
                "", name, os.cpu_count(), ", ".join("%s %s" % kv for kv in f["cpu"].items())))
        verdicts = ", ".join("%s %d" % kv for kv in sorted(host["verdicts"].items()))
        print("%15s host/baseline %.0f%%; verdicts %s" % ("", 100 * host["rate"] / max(base["rate"], 1e-9), verdicts))
        print("%15s count check: %d scans sent, %d verdicts received (%d after the window, the last %.1f s after it),"
              " %d events recorded, %d shed (undecided, unrecorded), %d refused and %d stray answers; baseline %d"
              " sent, %d echoed: %s"
              % ("", host["sent"], host["answered"], host["late"], host["drained_s"], r["events"], host["unanswered"],
                 host["refused"], host["strays"], base["sent"], base["answered"],
                 "OK" if r["counts_ok"] else "MISMATCH"))
    largest = max(results, key=lambda r: (r["units"], r["workers"]))
    host = largest["host"]
    print(json.dumps({
        "units": largest["units"], "backend": args.backend, "workers": largest["workers"],
        "mode": "open" if args.rate else "closed", "offered_per_s": args.rate or None,
        "scans_per_s": round(host["rate"], 1), "p50_ms": host["p50_ms"], "p99_ms": host["p99_ms"],
        "broker_roundtrips_per_s": round(largest["base"]["rate"], 1), "broker_p99_ms": largest["base"]["p99_ms"],
        "generator_lag_p99_ms": host["lag_p99_ms"], "sent": host["sent"], "verdicts": host["answered"],
        "shed": host["sent"] - host["answered"],
        "events": largest["events"], "counts_ok": all(r["counts_ok"] for r in results), "cpu_cores": host["cpu"],
        "generators": args.generators, "unit_logins": args.unit_logins,
    }))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", default="100,1000", help="comma-separated unit counts (default 100,1000)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of load per measurement (default 10)")
    ap.add_argument("--rate", type=float, help="open loop: scans offered per second over all units (default: closed)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--workers", default="1", help="comma-separated worker counts (default 1)")
    ap.add_argument("--generators", type=int, default=2, help="load generator processes (default 2)")
    ap.add_argument("--unit-logins", action="store_true",
                    help="each unit on a connection of its own under its own broker login, as real units are (default: "
                         "one connection per generator process)")
    ap.add_argument("--keep", action="store_true", help="keep each run's folder (data, broker and serve logs)")
    args = ap.parse_args()
    counts = [int(n) for n in args.units.split(",")]
    worker_counts = [int(n) for n in args.workers.split(",")]
    if max(worker_counts) > HOST_WORKERS:
        ap.error("at most %d workers (the host logins broker-config writes)" % HOST_WORKERS)
    if args.rate is not None and args.rate <= 0 or args.generators < 1 or args.seconds <= 0 or min(counts) < 1:
        ap.error("--rate, --generators, --seconds and --units must be positive")
    plan = {"mode": "open" if args.rate else "closed", "rate": args.rate, "seconds": args.seconds,
            "quiet_s": QUIET_S, "drain_s": DRAIN_S, "unit_logins": args.unit_logins}
    results = []
    for n in counts:
        for workers in worker_counts:
            workdir = Path(tempfile.mkdtemp(prefix="pintu-e2e-"))
            database = scratch_database() if args.backend == "postgresql" else None
            try:
                results.append(run(n, dict(plan, total_units=n), workdir, workers, args.generators, database))
            finally:
                if args.keep:
                    print("kept %s" % workdir)
                else:
                    shutil.rmtree(workdir, ignore_errors=True)
                if database:
                    drop_scratch_database(database)
    report(results, args)
    if not all(r["counts_ok"] for r in results):
        sys.exit(1)


def scratch_database():
    from tests.conftest import create_postgres_database

    return create_postgres_database()


def drop_scratch_database(url):
    from tests.conftest import drop_postgres_database

    drop_postgres_database(url)


if __name__ == "__main__":
    main()
