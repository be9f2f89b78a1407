"""The host's simulator: units running the real firmware under CPython, over real pty pairs (pyserial on the unit
side) and a real Mosquitto, against a small protocol peer playing the host (the gateway is not needed)."""

import os
import select
import threading
import time
import tty

import pytest

import pintu_protocol as p
from pintu.errors import PintuError
from pintu.tech.simulator import Simulator, SimulatorError, device_key, make_configs, run_simulation
from pintu_protocol import verdicts
from pintu_protocol.topics import STATUS, UP, down_topic, every, parse_topic
from tests.conftest import require_program

VERDICT_FOR = {b"PINTU1:green": verdicts.GREEN, b"PINTU1:red": verdicts.RED, b"PINTU1:black": verdicts.BLACK,
               b"PINTU1:full": verdicts.FULL}


class Peer:
    """HOST-role sessions answering SCAN with the verdict VERDICT_FOR names (INVALID otherwise) and QUEUED with an
    ACK. paused=True: reads and drops everything (a host that is down)."""

    def __init__(self):
        self.sessions = {}
        self.received = []
        self.paused = False
        self.lock = threading.Lock()

    def handle(self, frame):
        """One frame from a unit -> the answer frame, or None."""
        header = p.read_header(frame)
        session = self.sessions.get(header.device_id)
        if session is None:
            session = self.sessions[header.device_id] = p.Session(
                header.device_id, device_key(header.device_id), p.HOST)
        msg = session.receive(frame, header)
        with self.lock:
            self.received.append((header.device_id, msg))
        if self.paused:
            return None
        if type(msg) is p.Scan:
            return session.send(p.Verdict(msg.scan, VERDICT_FOR.get(msg.code, verdicts.INVALID), 0, 1, 50, ""))
        if type(msg) is p.Queued:
            return session.send(p.Ack(p.QUEUED, msg.scan))
        return None

    def of(self, kind, device_id=None):
        with self.lock:
            return [m for (d, m) in self.received if type(m) is kind and device_id in (None, d)]


class PtyPeer(Peer):
    """The peer on the master side of one pty per unit."""

    def __init__(self, count):
        super().__init__()
        self.masters = []
        self.slaves = []
        self.ports = []
        for _ in range(count):
            master, slave = os.openpty()
            tty.setraw(slave)
            self.masters.append(master)
            self.slaves.append(slave)
            self.ports.append(os.ttyname(slave))
        self.decoders = {fd: p.StreamDecoder() for fd in self.masters}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            ready, _, _ = select.select(self.masters, [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                decoder = self.decoders[fd]
                decoder.feed(data)
                for frame in decoder.frames():
                    answer = self.handle(frame)
                    if answer is not None:
                        os.write(fd, p.encode_stream(answer))

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in self.masters + self.slaves:
            os.close(fd)


def fast_configs(n, **changes):
    configs = make_configs(n, site="test")
    for cfg in configs:
        cfg.update({"verdict_timeout_ms": 800, "feedback_ms": 300, "relay_ms": 200})
        cfg.update(changes)
    return configs


@pytest.fixture
def pty_peer():
    peer = PtyPeer(2)
    yield peer
    peer.close()


def test_units_over_ptys_show_each_verdict(pty_peer):
    with Simulator(fast_configs(2), serial=pty_peer.ports) as sim:
        first, second = sim.units
        deadline = time.monotonic() + 5
        while len(pty_peer.of(p.Hello)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(m.board for m in pty_peer.of(p.Hello)) == ["esp32-devkitc-gm65"] * 2
        first.scan(b"PINTU1:green")
        second.scan(b"PINTU1:black")
        assert first.wait_for_pattern(after=0) == "admit"
        assert second.wait_for_pattern(after=0) == "alarm"
        assert first.wait_idle()
        first.scan(b"PINTU1:unknown")
        assert first.wait_for_pattern(after=1) == "invalid"
        time.sleep(0.4)
        assert ("relay", 1) in first.recorder.values() and ("relay", 1) not in second.recorder.values()
        scans = pty_peer.of(p.Scan, "sim-1")
        assert [s.code for s in scans] == [b"PINTU1:green", b"PINTU1:unknown"]
        assert sim.status()[0]["errors"] == 0


def test_host_outage_over_a_pty_queues_and_replays(pty_peer):
    with Simulator(fast_configs(1), serial=pty_peer.ports[:1]) as sim:
        unit = sim.units[0]
        pty_peer.paused = True
        unit.scan(b"PINTU1:green")
        assert unit.wait_for_pattern(after=0, timeout=5) == "see_guard"
        assert len(unit.app.queue) == 1
        pty_peer.paused = False
        deadline = time.monotonic() + 10
        while len(unit.app.queue) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(unit.app.queue) == 0
        queued = pty_peer.of(p.Queued)
        assert queued and queued[-1].code == b"PINTU1:green"
        assert [name for (_t, name) in unit.played] == ["see_guard"]  # the replay showed nothing


def test_simulator_run_spreads_codes_over_units_at_a_rate(pty_peer):
    with Simulator(fast_configs(2, repeat_ms=0), serial=pty_peer.ports) as sim:
        # 1.6 scans/s over two units: each sees one every 1.25 s, longer than the longest pattern here (0.9 s).
        stats = sim.run([b"PINTU1:green", b"PINTU1:red"], rate=1.6, count=6)
    assert stats["scans"] == 6 and stats["errors"] == 0
    assert stats["patterns"] == {"admit": 3, "refuse": 3}, stats
    assert 3 <= stats["seconds"] <= 10


def test_run_simulation_is_what_the_cli_calls(tmp_path, pty_peer):
    codes = tmp_path / "codes.txt"
    codes.write_bytes(b"PINTU1:green\n\nPINTU1:red\n")
    stats = run_simulation(units=2, serial=pty_peer.ports, codes_file=codes, rate=4.0, count=2)
    assert stats["scans"] == 2 and stats["patterns"] == {"admit": 1, "refuse": 1}, stats
    assert [u["device_id"] for u in stats["units"]] == ["sim-1", "sim-2"]


def test_simulator_refuses_bad_setups(tmp_path):
    configs = make_configs(2)
    with pytest.raises(SimulatorError):
        Simulator(configs, serial=["/dev/null-does-not-exist"] * 2)
    with pytest.raises(SimulatorError):
        Simulator(configs, serial=["loop://"])  # two units, one port
    with pytest.raises(SimulatorError):
        Simulator(configs)
    with pytest.raises(PintuError):  # broker addresses: tests/host/test_addresses.py
        Simulator(configs, mqtt="tcp://x")
    bad = make_configs(1)
    bad[0]["key"] = "00"
    with pytest.raises(SimulatorError):
        Simulator(bad, serial=["loop://"])


def test_units_keep_their_queue_and_counter_in_a_workdir(tmp_path, pty_peer):
    configs = fast_configs(1)
    with Simulator(configs, serial=pty_peer.ports[:1], workdir=tmp_path) as sim:
        pty_peer.paused = True
        sim.units[0].scan(b"PINTU1:red")
        assert sim.units[0].wait_for_pattern(after=0) == "see_guard"
        used = sim.units[0].app.counters.tx
    assert (tmp_path / "sim-1" / "counter").exists() and (tmp_path / "sim-1" / "queue").exists()
    pty_peer.paused = False
    with Simulator(configs, serial=pty_peer.ports[:1], workdir=tmp_path) as sim:
        assert sim.units[0].app.counters.tx > used  # continues above the counters the last run used
        deadline = time.monotonic() + 10
        while len(sim.units[0].app.queue) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sim.units[0].app.queue) == 0


# -- MQTT, through a real Mosquitto ------------------------------------------------------------------------------------


@pytest.fixture
def mosquitto(tmp_path):
    import shutil
    import socket
    import subprocess

    # Debian installs it in /usr/sbin, which a normal user's PATH lacks.
    binary = shutil.which("mosquitto", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")
    binary = binary or require_program("mosquitto", "apt-get install mosquitto (make test does it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("mosquitto did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=5)


class MqttPeer(Peer):
    def __init__(self, port):
        import paho.mqtt.client as mqtt

        super().__init__()
        self.status = {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-host")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe([(every(UP), 1), (every(STATUS), 1)])
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        site, device, kind = parse_topic(message.topic)
        if kind == STATUS:
            self.status[device] = message.payload
            return
        answer = self.handle(message.payload)
        if answer is not None:
            client.publish(down_topic(site, device), answer, qos=1)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.mark.mosquitto
def test_units_over_a_real_mosquitto(mosquitto):
    peer = MqttPeer(mosquitto)
    try:
        time.sleep(0.2)
        configs = make_configs(2, site="hq", link="mqtt")
        with Simulator(configs, mqtt="mqtt://127.0.0.1:%d" % mosquitto) as sim:
            deadline = time.monotonic() + 10
            while len(peer.of(p.Hello)) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert peer.status == {"sim-1": b"online", "sim-2": b"online"}
            sim.units[0].scan(b"PINTU1:green")
            sim.units[1].scan(b"PINTU1:red")
            assert sim.units[0].wait_for_pattern(after=0) == "admit"
            assert sim.units[1].wait_for_pattern(after=0) == "refuse"
            assert sim.units[0].app.link.connects == 1
        deadline = time.monotonic() + 5
        while peer.status.get("sim-1") != b"offline" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert peer.status["sim-1"] == b"offline"
    finally:
        peer.close()
