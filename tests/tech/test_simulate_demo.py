"""`pintu simulate` (a thin command over simulator.run_simulation) and `pintu demo`, run as an operator runs them."""

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pintu_protocol as p
from pintu.tech.simulator import device_key
from pintu_protocol.verdicts import GREEN
from tests.mosquitto import plain_broker

PINTU = str(Path(sys.executable).parent / "pintu")
VERDICTS = ("GREEN", "HOLD", "RED", "BLACK", "FULL", "INVALID", "EXIT")


def run(*args, timeout=90):
    return subprocess.run([PINTU, *args], capture_output=True, text=True, timeout=timeout)


def fake_host(listener, stop):
    """Answers every SCAN of sim-1 with GREEN, on the far end of its socket:// line."""
    conn, _ = listener.accept()
    conn.settimeout(0.2)
    session = p.Session("sim-1", device_key("sim-1"), p.HOST)
    decoder = p.StreamDecoder()
    with conn:
        while not stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            if not data:
                return
            decoder.feed(data)
            for frame in decoder.frames():
                msg = session.receive(frame)
                if isinstance(msg, p.Scan):
                    answer = p.Verdict(msg.scan, GREEN, 0, 1, 10, "")
                    conn.sendall(p.encode_stream(session.send(answer)))


def test_simulate_over_a_socket_line():
    stop = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        host = threading.Thread(target=fake_host, args=(listener, stop), daemon=True)
        host.start()
        result = run("simulate", "--units", "1", "--serial", "socket://127.0.0.1:%d" % listener.getsockname()[1],
                     "--count", "2", "--rate", "0.4")
        stop.set()
        host.join(timeout=5)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2 scans in ")
    assert "admit 2" in result.stdout


def test_simulate_needs_one_link():
    result = run("simulate", "--units", "2")
    assert result.returncode == 2
    assert result.stderr.strip() == "pintu: give --serial PORT (one per unit) or --mqtt URL"


def run_demo(*args):
    proc = subprocess.Popen([PINTU, "demo", "--pace", "0.1", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    out, err = proc.communicate(timeout=90)
    leftovers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == proc.pid:  # process group: everything the demo started
            leftovers.append(stat.parent.name)
    return proc.returncode, out, err, leftovers


def check_demo(code, out, err, leftovers):
    assert code == 0, err
    assert leftovers == []
    summary = out[out.index("summary of verdicts"):]
    for verdict in VERDICTS:
        match = re.search(r"^%s +(\d+) +(\d+)$" % verdict, summary, re.M)
        assert match and int(match.group(1)) > 0 and match.group(1) == match.group(2), (verdict, summary)
    folder = re.search(r"data in (\S+)", out).group(1)
    assert not os.path.exists(folder)  # the throw-away folder is gone
    assert "\x1b[" not in out  # not a terminal: plain progress lines


def test_demo_over_serial_lines():
    check_demo(*run_demo())


def test_demo_through_mosquitto(tmp_path):
    broker = plain_broker(tmp_path)
    try:
        code, out, err, leftovers = run_demo("--mqtt", broker.url)
    finally:
        broker.stop()
    check_demo(code, out, err, leftovers)
    assert "over MQTT mqtt://127.0.0.1:" in out
