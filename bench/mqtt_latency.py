"""Scan -> verdict latency through a real Mosquitto on loopback, with and without TCP_NODELAY, measured in one run.

The unit side is the door unit's real MQTT client (the vendored umqtt.simple, on CPython sockets as in the simulator):
it publishes a SCAN-sized frame at QoS 1 (waiting for its PUBACK, as the unit does) and polls until the answer comes.
The host side is the host's real MQTT link (pintu.gateway.mqtt_link.MqttLink, paho) answering each frame at once with
a VERDICT-sized frame. Four configurations, each with its own broker: nothing set (the baseline, what units had
before issue 14), the broker only (`set_tcp_nodelay true`), the unit and the host only, and all three (what
`pintu broker-config`, the firmware and `pintu serve` now do). Loopback RTT is microseconds, so what remains above
it is Nagle's algorithm waiting for the peer's delayed ACK.
Last line: {"baseline_ms": median, "nodelay_ms": median, "broker_only_ms": ..., "clients_only_ms": ..., "samples": N}.

Usage: python bench/mqtt_latency.py [--samples N]"""

import argparse
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCAN = bytes(range(256))[:120]  # a SCAN frame with a short code is ~100 bytes
VERDICT = bytes(range(64))


def start_broker(binary, folder, nodelay):
    from tests.mosquitto import free_port, wait_port

    port = free_port()
    conf = Path(folder) / ("mosquitto-%d.conf" % port)
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay %s\n"
                    % (port, "true" if nodelay else "false"))
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def measure(binary, folder, broker_nodelay, clients_nodelay, samples):
    from pintu.gateway.mqtt_link import MqttLink
    from pintu.tech.sim_hardware import SimHardware

    proc, port = start_broker(binary, folder, broker_nodelay)
    link = MqttLink("mqtt://127.0.0.1:%d" % port, lambda frame, reply, origin: reply(VERDICT),
                    client_id="bench-host-%d" % port)
    if not clients_nodelay:
        link.client.on_socket_open = None  # the host as it was: Nagle on
    link.start()
    client = SimHardware(None, None, None).mqtt_client("door-1", "127.0.0.1", port, None, None, 60)
    client.timeout = 5
    client.nodelay = clients_nodelay
    got = []
    client.set_callback(lambda topic, msg: got.append(msg))
    try:
        client.connect()
        client.subscribe(b"pintu/hq/door-1/down", qos=1)
        times = []
        for i in range(samples + 5):
            got.clear()
            start = time.perf_counter()
            client.publish(b"pintu/hq/door-1/up", SCAN, qos=1)
            while not got:
                client.check_msg()
            if i >= 5:  # the first few warm the connections up
                times.append((time.perf_counter() - start) * 1000)
        client.disconnect()
    finally:
        link.close()
        proc.terminate()
        proc.wait(timeout=10)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args(argv)
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if not binary:
        sys.exit("mosquitto not found: apt-get install mosquitto")
    from pintu.tech import unit_files

    unit_files.locate().put_on_sys_path()
    logging.getLogger("pintu.mqtt").setLevel(logging.ERROR)  # each run's closing disconnect is not news
    out = {}
    print("scan -> verdict through Mosquitto on loopback, %d samples each (ms)" % args.samples)
    print("%-34s %8s %8s %8s" % ("TCP_NODELAY on", "median", "p90", "max"))
    with tempfile.TemporaryDirectory(prefix="pintu-latency-") as folder:
        for key, label, broker, clients in (
            ("baseline_ms", "nothing (baseline, before)", False, False),
            ("broker_only_ms", "the broker only", True, False),
            ("clients_only_ms", "the unit and the host only", False, True),
            ("nodelay_ms", "broker, unit and host (now)", True, True),
        ):
            times = sorted(measure(binary, folder, broker, clients, args.samples))
            p90 = times[int(len(times) * 0.9) - 1]
            out[key] = round(statistics.median(times), 2)
            print("%-34s %8.2f %8.2f %8.2f" % (label, out[key], p90, times[-1]))
    out["samples"] = args.samples
    print(json.dumps(out))


if __name__ == "__main__":
    main()
