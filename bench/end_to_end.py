"""End to end through a real Mosquitto: N simulated units scan cards, `pintu serve` decides and answers.

Each unit is a protocol session with its own key, sending its next scan as soon as the last one is answered (one
scan at a time, as the firmware does). The units share a small pool of MQTT connections so a 2-core machine can
drive a thousand of them. The baseline, measured in the same run with the same units, payloads and broker: an echo
subscriber that sends each frame straight back (publish -> echo -> reply), i.e. the broker round trip alone.

Usage: python bench/end_to_end.py [--units 100,1000] [--seconds 10] [--backend sqlite|postgresql] [--workers 1,2,4]
--backend postgresql makes a scratch database on PINTU_TEST_POSTGRES (default postgres@127.0.0.1:5432) and drops it;
--workers runs that many `pintu serve` processes sharing the load (each its own broker login).
Prints a table; the last line is one JSON object with the figures of the largest run (most units, then workers).

What limits scaling on a 2-core machine: the broker, the load generator and every worker share two cores, and every
decision takes the one write lock (SQLite's writer, PostgreSQL's advisory lock), so more workers add parallel frame
parsing and signature checks but not parallel decisions; past 2 workers they mostly add context switches."""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pintu_protocol as p  # noqa: E402
from pintu import registry  # noqa: E402
from pintu.data.datadir import DataDir  # noqa: E402
from pintu.registry import cards, provision  # noqa: E402
from pintu.registry.broker import HOST_USER, HOST_WORKERS, host_users, passwd_line  # noqa: E402
from pintu_protocol.topics import DOWN, UP, down_topic, every, parse_topic, shared, up_topic  # noqa: E402
from tests.mosquitto import Broker, free_port  # noqa: E402

POOL = 8  # MQTT connections shared by the simulated units
PERSONS = 64


def build_office(path, units, port, database=None):
    data, _ = DataDir.init(path, database=database)
    registry.add_site(data, "kantor", "Kantor Walikota", 100000, "dose1", "Puskesmas Karang Kitri", "8h")
    registry.add_door(data, "lobby", "kantor", "both")
    configs = []
    for i in range(units):
        _, cfg_path = provision.add_unit(data, "u%04d" % i, "lobby", "mqtt", "office", "pw", "127.0.0.1:%d" % port)
        configs.append(json.loads(Path(cfg_path).read_text()))
    codes = []
    for i in range(PERSONS):
        nik = "3275%012d" % (i + 1)
        registry.add_person(data, nik, "Person %d" % i)
        registry.add_dose(data, nik, "2021-03-01")
        codes.append(cards.issue_card(data, nik, "kantor")["code"].encode())
    conf_dir = Path(path).parent / "broker"
    provision.broker_config(data, conf_dir, port=port, bind="127.0.0.1")
    # Extra logins for the load generator's connection pool (it speaks for every simulated unit); one per
    # connection, since the broker makes each login its client id.
    with open(conf_dir / "passwd", "a") as f:
        f.writelines(passwd_line("bench-%d" % k, "bench") + "\n" for k in range(POOL))
    with open(conf_dir / "acl", "a") as f:
        f.writelines("\nuser bench-%d\ntopic write %s\ntopic read %s\n" % (k, every(UP), every(DOWN))
                     for k in range(POOL))
    host_password = provision.host_password(data)
    data.close()
    return configs, codes, conf_dir, host_password


class Load:
    """Closed-loop load: every unit keeps exactly one scan in flight."""

    def __init__(self, port, configs, codes, echo):
        self.units = {}
        self.latencies = []
        self.lock = threading.Lock()
        self.running = False
        self.echo = echo
        for i, cfg in enumerate(configs):
            session = p.Session(cfg["device_id"], bytes.fromhex(cfg["key"]), p.UNIT)
            self.units[cfg["device_id"]] = {"session": session, "scan": 0, "t0": 0.0, "code": codes[i % len(codes)],
                                            "site": cfg["site"], "client": None}
        self.clients = []
        ids = sorted(self.units)
        pool = min(POOL, len(ids))
        for k in range(pool):
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-%d-%d" % (k, echo))
            c.username_pw_set("bench-%d" % k, "bench")
            c.max_inflight_messages_set(1000)
            c.max_queued_messages_set(0)
            c.on_message = self._on_message
            c.connect("127.0.0.1", port, keepalive=60)
            mine = ids[k::pool]
            c.subscribe([(down_topic("kantor", d), 1) for d in mine])
            for d in mine:
                self.units[d]["client"] = c
            c.loop_start()
            self.clients.append(c)
        time.sleep(1.0)

    def _send(self, unit_id):
        u = self.units[unit_id]
        u["scan"] += 1
        u["t0"] = time.perf_counter()
        frame = u["session"].send(p.Scan(u["scan"], "lobby", p.IN, u["code"]))
        u["client"].publish(up_topic(u["site"], unit_id), frame, qos=1)

    def _on_message(self, client, userdata, message):
        unit_id = parse_topic(message.topic)[1]
        u = self.units.get(unit_id)
        if u is None:
            return
        if not self.echo:
            msg = u["session"].receive(message.payload)
            if msg.scan != u["scan"]:
                return
        with self.lock:
            if self.running:
                self.latencies.append(time.perf_counter() - u["t0"])
        if self.running:
            self._send(unit_id)

    def run(self, seconds):
        self.running = True
        start = time.perf_counter()
        for unit_id in self.units:
            self._send(unit_id)
        time.sleep(seconds)
        self.running = False
        elapsed = time.perf_counter() - start
        time.sleep(1.0)
        with self.lock:
            lat = sorted(self.latencies)
        return len(lat) / elapsed, lat

    def close(self):
        for c in self.clients:
            c.disconnect()
            c.loop_stop()


def echo_server(port, password):
    """The baseline's other end: take every up frame from the shared subscription and send it straight back."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="echo")
    c.username_pw_set(HOST_USER, password)

    def on_message(client, userdata, m):
        site, device, _ = parse_topic(m.topic)
        client.publish(down_topic(site, device), m.payload, qos=1)

    c.on_message = on_message
    c.on_connect = lambda cl, u, f, rc, pr: cl.subscribe(shared(every(UP)), 1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    time.sleep(0.5)
    return c


def pct(values, q):
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def run(units, seconds, workdir, workers=1, database=None):
    port = free_port()
    configs, codes, conf_dir, host_password = build_office(workdir / "data", units, port, database)
    broker = Broker(conf_dir / "mosquitto.conf", port, workdir / "mosquitto.log").start()
    try:
        echo = echo_server(port, host_password)
        load = Load(port, configs, codes, echo=True)
        raw_rate, _ = load.run(seconds)
        load.close()
        echo.disconnect()
        echo.loop_stop()

        env = dict(os.environ, PINTU_DATA=str(workdir / "data"))
        serves = [subprocess.Popen([str(Path(sys.executable).parent / "pintu"), "serve", "--mqtt",
                                    "mqtt://127.0.0.1:%d" % port, "--user", user], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for user in host_users(workers)]
        time.sleep(1.5)
        load = Load(port, configs, codes, echo=False)
        rate, lat = load.run(seconds)
        load.close()
        for serve in serves:
            serve.terminate()
        for serve in serves:
            serve.wait(timeout=30)
    finally:
        broker.stop()
    return {"units": units, "workers": workers, "scans_per_s": round(rate, 1), "p50_ms": round(pct(lat, 0.50), 2),
            "p99_ms": round(pct(lat, 0.99), 2), "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
            "broker_roundtrips_per_s": round(raw_rate, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", default="100,1000", help="comma-separated unit counts (default 100,1000)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of load per measurement (default 10)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--workers", default="1", help="comma-separated worker counts (default 1)")
    args = ap.parse_args()
    counts = [int(n) for n in args.units.split(",")]
    worker_counts = [int(n) for n in args.workers.split(",")]
    if max(worker_counts) > HOST_WORKERS:
        ap.error("at most %d workers (the host logins broker-config writes)" % HOST_WORKERS)
    results = []
    for n in counts:
        for workers in worker_counts:
            workdir = Path(tempfile.mkdtemp(prefix="pintu-e2e-"))
            database = scratch_database() if args.backend == "postgresql" else None
            try:
                results.append(run(n, args.seconds, workdir, workers, database))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
                if database:
                    drop_scratch_database(database)
    print("backend: %s" % args.backend)
    print("%6s %8s %12s %9s %9s %22s %8s" % ("units", "workers", "scans/s", "p50 ms", "p99 ms",
                                            "broker round trips/s", "ratio"))
    for r in results:
        print("%6d %8d %12.1f %9.2f %9.2f %22.1f %7.0f%%" % (
            r["units"], r["workers"], r["scans_per_s"], r["p50_ms"], r["p99_ms"], r["broker_roundtrips_per_s"],
            100 * r["scans_per_s"] / r["broker_roundtrips_per_s"]))
    largest = max(results, key=lambda r: (r["units"], r["workers"]))
    print(json.dumps({k: largest[k] for k in ("units", "scans_per_s", "p50_ms", "p99_ms", "broker_roundtrips_per_s")}))


def scratch_database():
    from tests.conftest import create_postgres_database

    return create_postgres_database()


def drop_scratch_database(url):
    from tests.conftest import drop_postgres_database

    drop_postgres_database(url)


if __name__ == "__main__":
    main()
