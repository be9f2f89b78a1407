"""How long a scan takes to reach the console's door view: a unit's authenticated SCAN decided by the gateway (in
this process), then seen by `pintu web` (its own process, polling the database every 250 ms) and sent over its
Server-Sent Events stream to a logged-in client. Issue 19 asks for "within one second".

Prints its figures; the last line is one JSON object:
{"samples": N, "p50_ms": X, "p95_ms": X, "max_ms": X, "decide_p50_ms": X, "poll_query_p50_ms": X}

p50/p95/max: from the gateway's answer (the decision committed) to the event's arrival on the stream. The baselines,
measured in the same run on the same database: the gateway's decision itself, and the one query each look of the
stream makes (events newer than an id, at one site). SQLite in a temporary folder; nothing is written elsewhere.
"""

import argparse
import http.client
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import pintu_protocol as p  # noqa: E402
from pintu import registry  # noqa: E402
from pintu.data.datadir import DataDir  # noqa: E402
from pintu.gateway.gateway import Gateway  # noqa: E402
from pintu.registry import cards, provision, users  # noqa: E402

PASSWORD = "bench-password-1"
NIK = "3275010101800001"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(path):
    data, _ = DataDir.init(path)
    registry.add_site(data, "kantor", "Kantor", 100000, "dose1", "", "8h")
    registry.add_door(data, "lobby", "kantor", "both")
    _, config_path = provision.add_unit(data, "door-1", "lobby", "serial")
    config = json.loads(Path(config_path).read_text())
    registry.add_person(data, NIK, "Budi")
    registry.add_dose(data, NIK, "2021-03-01")
    code = cards.issue_card(data, NIK, "kantor")["code"].encode()
    users.add_user(data, "satpam", users.GUARD, PASSWORD, ["kantor"])
    return data, config, code


def login(base):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = re.search(r'name="csrf" value="([^"]+)"', opener.open(base + "/login").read().decode()).group(1)
    form = urllib.parse.urlencode({"csrf": token, "name": "satpam", "password": PASSWORD}).encode()
    opener.open(base + "/login", form).read()
    return "; ".join("%s=%s" % (c.name, c.value) for c in jar)


def stream_reader(port, cookie, after, arrivals, ready):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/door/kantor/stream?after=%d" % after, headers={"Cookie": cookie})
    response = conn.getresponse()
    assert response.status == 200, response.status
    ready.set()
    while True:
        line = response.fp.readline()
        if not line:
            return
        if line.startswith(b"id: "):
            arrivals[int(line[4:])] = time.perf_counter()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, config, code = setup(os.path.join(tmp, "data"))
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "pintu.cli", "--data", data.path, "web", "--bind",
                                   "127.0.0.1:%d" % port], stderr=subprocess.DEVNULL,
                                  env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path[:2])))
        try:
            base = "http://127.0.0.1:%d" % port
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            arrivals, ready = {}, threading.Event()
            reader = threading.Thread(target=stream_reader, args=(port, login(base), data.store.last_event_id(),
                                                                  arrivals, ready), daemon=True)
            reader.start()
            ready.wait(30)
            gateway, unit = Gateway(data), p.Session("door-1", bytes.fromhex(config["key"]), p.UNIT)
            delays, decide, queries = [], [], []
            for i in range(args.samples):
                direction = p.IN if i % 2 == 0 else p.OUT
                frame = unit.send(p.Scan(i + 1, "lobby", direction, code))
                started = time.perf_counter()
                gateway.handle(frame, lambda f: None)
                decided = time.perf_counter()
                decide.append(decided - started)
                event_id = data.store.last_event_id()
                while event_id not in arrivals and time.perf_counter() - decided < 10:
                    time.sleep(0.001)
                delays.append(arrivals.get(event_id, decided + 10) - decided)
                t = time.perf_counter()
                data.store.events_after(event_id - 1, ["kantor"], 200)
                queries.append(time.perf_counter() - t)
                time.sleep(0.05 + (i % 7) * 0.037)  # scans arrive at no fixed phase of the stream's polling
        finally:
            server.terminate()
            server.wait(timeout=30)
            data.close()
    ms = sorted(d * 1000 for d in delays)
    figures = {
        "samples": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1),
        "max_ms": round(ms[-1], 1),
        "decide_p50_ms": round(statistics.median(decide) * 1000, 2),
        "poll_query_p50_ms": round(statistics.median(queries) * 1000, 3),
    }
    print("scan -> door view (SSE), %d scans: p50 %.1f ms, p95 %.1f ms, max %.1f ms" % (
        figures["samples"], figures["p50_ms"], figures["p95_ms"], figures["max_ms"]))
    print("baseline, same run: the gateway's decision p50 %.2f ms; the stream's poll query p50 %.3f ms" % (
        figures["decide_p50_ms"], figures["poll_query_p50_ms"]))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
