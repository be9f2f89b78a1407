"""What TLS costs a door unit's MQTT link on loopback: connect time and scan -> verdict latency, plain and TLS, one run.

One Mosquitto with the listeners `pintu broker-config --tls` writes (plain on loopback, TLS 1.2+ with a server
certificate from a throw-away site CA). The unit side is the door unit's real MQTT client (the vendored
umqtt.simple on the simulator's CPython sockets) with the firmware's own SSLContext (firmware/link_mqtt.py:
tls_context); the host side is pintu serve's MQTT link (paho), over the same kind of listener as the unit, answering
each frame at once with a VERDICT-sized frame. "connect" is TCP connect + TLS handshake (ECDHE, P-256 certificates)
+ MQTT CONNECT/CONNACK; "scan" is publish at QoS 1 (PUBACK awaited, as the unit does) until the answer arrives.
CPython on a PC: the handshake's arithmetic on an ESP32 is far slower, so the connect figures are a lower bound.
Last line: {"connect_plain_ms", "connect_tls_ms", "scan_plain_ms", "scan_tls_ms", "samples"} (medians).

Usage: python bench/tls_latency.py [--samples N]"""

import argparse
import getpass
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


def start_broker(binary, folder):
    from pintu.registry import broker as broker_conf
    from pintu.registry import tls
    from tests.mosquitto import free_port, wait_port

    plain, secure = free_port(), free_port()
    key_pem, cert_pem = tls.issue_server_cert(str(folder), [], ["127.0.0.1"])
    (folder / "server.key").write_bytes(key_pem)
    (folder / "server.crt").write_bytes(cert_pem)
    lines = ["user %s" % getpass.getuser(), "listener %d 127.0.0.1" % plain]
    lines += broker_conf.tls_listener(folder, secure, "127.0.0.1")
    lines += ["allow_anonymous true", "set_tcp_nodelay true", ""]
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join(lines))
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(plain)
    wait_port(secure)
    return proc, plain, secure


def measure(folder, port, secure, samples):
    from firmware.link_mqtt import tls_context
    from pintu.gateway.mqtt_link import MqttLink
    from pintu.registry import tls
    from pintu.tech.sim_hardware import SimHardware

    ca_pem = tls.ca_paths(str(folder))[1]
    context = tls_context(tls.ca_der(str(folder))) if secure else None
    link = MqttLink("%s://127.0.0.1:%d" % ("mqtts" if secure else "mqtt", port),
                    lambda frame, reply, origin: reply(VERDICT), client_id="bench-host-%d" % port, ca=ca_pem)
    link.start()
    connects, scans = [], []
    try:
        for i in range(samples + 2):
            client = SimHardware(None, None, None).mqtt_client("door-1", "127.0.0.1", port, None, None, 60,
                                                               ssl=context)
            client.timeout = 5
            client.nodelay = True
            got = []
            client.set_callback(lambda topic, msg, got=got: got.append(msg))
            start = time.perf_counter()
            client.connect()
            took = (time.perf_counter() - start) * 1000
            client.subscribe(b"pintu/hq/door-1/down", qos=1)
            for _ in range(3):  # a few scans per connection, as a unit makes many per connect
                got.clear()
                start = time.perf_counter()
                client.publish(b"pintu/hq/door-1/up", SCAN, qos=1)
                while not got:
                    client.check_msg()
                if i >= 2:
                    scans.append((time.perf_counter() - start) * 1000)
            if i >= 2:  # the first connections warm the broker and the host up
                connects.append(took)
            client.disconnect()
    finally:
        link.close()
    return connects, scans


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50, help="connections per configuration (3 scans each)")
    args = parser.parse_args(argv)
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if not binary:
        sys.exit("mosquitto not found: apt-get install mosquitto")
    from pintu.tech import unit_files

    unit_files.locate().put_on_sys_path()
    logging.getLogger("pintu.mqtt").setLevel(logging.ERROR)  # each run's closing disconnect is not news
    out = {}
    print("a unit's MQTT link through Mosquitto on loopback, %d connections x 3 scans each (ms)" % args.samples)
    print("%-6s %-18s %8s %8s %8s" % ("link", "what", "median", "p90", "max"))
    with tempfile.TemporaryDirectory(prefix="pintu-tls-") as tmp:
        folder = Path(tmp)
        for name, tls_on in (("plain", False), ("tls", True)):
            # A broker each: the host's persistent session of one run would otherwise share the next run's scans.
            proc, plain, secure = start_broker(binary, folder)
            try:
                connects, scans = measure(folder, secure if tls_on else plain, tls_on, args.samples)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
            for what, values in (("connect", connects), ("scan", scans)):
                values.sort()
                key = "%s_%s_ms" % (what, name)
                out[key] = round(statistics.median(values), 2)
                p90 = values[int(len(values) * 0.9) - 1]
                label = what + (" -> CONNACK" if what == "connect" else " -> VERDICT")
                print("%-6s %-18s %8.2f %8.2f %8.2f" % (name, label, out[key], p90, values[-1]))
    out = {k: out[k] for k in ("connect_plain_ms", "connect_tls_ms", "scan_plain_ms", "scan_tls_ms")}
    out["samples"] = args.samples
    print(json.dumps(out))


if __name__ == "__main__":
    main()
