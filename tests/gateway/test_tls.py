"""MQTT over TLS (issue 18) with a real Mosquitto started on the config `pintu broker-config --tls` writes: a unit
(the real firmware under CPython, simulated) and the host connect and decide scans; clients that do not trust the
site's CA, or speak plain MQTT to the TLS port, are refused; and a recording relay between a unit and the broker
sees the card's text on the plain listener but not on the TLS one."""

import base64
import json
import socket
import ssl
import threading
import time

import pytest

from pintu.registry import provision
from pintu.registry import tls as tls_mod
from pintu.tech.sim_hardware import SimHardware
from pintu.tech.simulator import Simulator
from pintu_protocol.verdicts import BLACK, GREEN
from tests.gateway.conftest import make_office
from tests.mosquitto import Broker, free_port

pytestmark = pytest.mark.mosquitto


class RecordingRelay:
    """127.0.0.1:port -> 127.0.0.1:target, keeping every byte that passes in either direction: what someone on the
    Wi-Fi between a unit and the broker would capture."""

    def __init__(self, target):
        self.target = target
        self.captured = bytearray()
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self.connections += 1
            self._socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._copy, args=(a, b), daemon=True).start()

    def _copy(self, src, dst):
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    self.captured += data
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self._listener.close()
        for s in self._socks:
            s.close()


@pytest.fixture
def site(tmp_path):
    """An office, the broker's files with TLS for 127.0.0.1, a TLS unit and a plain one, Mosquitto running."""
    office = make_office(tmp_path / "data")
    plain_port, tls_port = free_port(), free_port()
    out = tmp_path / "broker"

    def configure(**kw):
        return provision.broker_config(office.data, out, plain_port, "127.0.0.1", tls=True, tls_port=tls_port,
                                       addresses=["127.0.0.1"], **kw)

    configure()  # makes the CA, which `device add --tls` puts in the unit's config
    units = {}
    for device, broker, tls in (("door-t", "127.0.0.1:%d" % tls_port, True),
                                ("door-p", "mqtt://127.0.0.1:%d" % plain_port, False)):
        _, path = provision.add_unit(office.data, device, "lobby", "mqtt", "office", "pw", broker, tls=tls)
        units[device] = json.loads(open(path).read())
    configure()  # the new units' logins
    broker = Broker(out / "mosquitto.conf", tls_port, tmp_path / "mosquitto.log").start()
    yield office, broker, plain_port, units, configure
    broker.stop()
    office.data.close()


def serve(office, url):
    from pintu.gateway.server import Server

    srv = Server(office.path, (), url, provision.HOST_USER, provision.host_password(office.data))
    srv.start()
    assert srv.links[0].connected.wait(10), "the host did not connect to %s" % url
    return srv


def scan(unit, code):
    assert unit.wait_idle(10)
    mark = len(unit.played)
    unit.scan(code)
    assert unit.wait_for_pattern(timeout=10, after=mark) is not None
    return unit.app.last_verdict.verdict if unit.app.last_verdict else None


def wait_connected(unit, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not unit.app.link.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    return unit.app.link.connected


def test_a_unit_and_the_host_decide_scans_over_tls(site):
    office, broker, _plain, units, _ = site
    cfg = units["door-t"]
    assert cfg["link"]["port"] == broker.port and "tls" in cfg["link"]
    srv = serve(office, "mqtts://127.0.0.1:%d" % broker.port)  # the host verifies the broker with DATA/tls/ca.pem
    try:
        with Simulator([cfg], mqtt="mqtts://127.0.0.1:%d" % broker.port) as sim:
            unit = sim.units[0]
            assert wait_connected(unit)
            assert scan(unit, office.codes["budi"]) == GREEN
            assert scan(unit, office.codes["andi"]) == BLACK
    finally:
        srv.stop()


def test_the_card_text_is_in_clear_on_the_plain_listener_and_not_with_tls(site):
    """The same scan through a recording relay: the detector (the card's text in the captured bytes) finds it on
    the plain listener, so its silence on the TLS one means something."""
    office, broker, plain_port, units, _ = site
    srv = serve(office, "mqtt://127.0.0.1:%d" % plain_port)  # the host beside the broker: loopback, plain
    found = {}
    try:
        # Two people (one scan each): a second entry by someone inside is refused by anti-passback (issue 13).
        for device, target, scheme, who in (("door-p", plain_port, "mqtt", "dewi"),
                                            ("door-t", broker.port, "mqtts", "budi")):
            code = office.codes[who]
            relay = RecordingRelay(target)
            try:
                with Simulator([units[device]], mqtt="%s://127.0.0.1:%d" % (scheme, relay.port)) as sim:
                    assert wait_connected(sim.units[0])
                    assert scan(sim.units[0], code) == GREEN
            finally:
                relay.close()
            assert relay.connections >= 1 and len(relay.captured) > 200
            found[scheme] = (code in relay.captured, b"MQTT" in relay.captured, units[device]["link"]["password"]
                             .encode() in relay.captured)
    finally:
        srv.stop()
    assert found["mqtt"] == (True, True, True)  # card text, the MQTT CONNECT and the unit's password, all in clear
    assert found["mqtts"] == (False, False, False)


def test_clients_that_do_not_trust_the_ca_are_refused(site, tmp_path):
    office, broker, _plain, units, _ = site
    other = tmp_path / "other"
    other.mkdir()
    tls_mod.ensure_ca(str(other))  # another site's CA: its units must not talk to this broker
    other_ca = tls_mod.ca_paths(str(other))[1]
    ours = tls_mod.ca_paths(office.path)[1]

    def handshake(cafile, host="127.0.0.1"):
        context = ssl.create_default_context(cafile=cafile)
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=host) as s:
                return s.version()

    assert handshake(ours) in ("TLSv1.2", "TLSv1.3")  # the check itself works
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(other_ca)
    with pytest.raises(ssl.SSLCertVerificationError):  # our CA, but a name the certificate is not for
        handshake(ours, host="localhost")

    # A unit whose config carries another CA never connects, and a scan shows OFFLINE (never admits).
    cfg = dict(units["door-t"])
    cfg["link"] = dict(cfg["link"], tls={"ca": base64.b64encode(tls_mod.read_ca_file(other_ca)).decode()})
    with Simulator([cfg], mqtt="mqtts://127.0.0.1:%d" % broker.port) as sim:
        unit = sim.units[0]
        assert not wait_connected(unit, timeout=3)
        assert "certificate verify failed" in unit.app.link.last_error
        assert scan(unit, office.codes["budi"]) is None  # OFFLINE: no verdict at all


def test_plain_mqtt_to_the_tls_port_fails_and_a_tls_unit_never_speaks_plain(site):
    office, broker, plain_port, units, _ = site
    client = SimHardware(None, None, None).mqtt_client("door-p", "127.0.0.1", broker.port, "door-p",
                                                       units["door-p"]["link"]["password"], 30)
    client.timeout = 3
    with pytest.raises(Exception):  # noqa: B017 - a closed connection, a timeout or a garbled CONNACK
        client.connect()
    client.sock.close()

    # A TLS unit pointed at the plain listener: the handshake fails, and not one MQTT byte goes out in clear.
    relay = RecordingRelay(plain_port)
    try:
        with Simulator([units["door-t"]], mqtt="mqtts://127.0.0.1:%d" % relay.port) as sim:
            assert not wait_connected(sim.units[0], timeout=3)
            assert relay.connections >= 1
    finally:
        relay.close()
    assert b"MQTT" not in relay.captured and b"door-t" not in relay.captured


def test_rotating_the_server_certificate_keeps_the_units(site, tmp_path):
    office, broker, _plain, units, configure = site
    out = tmp_path / "broker"
    before = (out / "server.crt").read_bytes()
    configure()  # again (after a revocation, say): the certificate stays
    assert (out / "server.crt").read_bytes() == before
    configure(new_cert=True)  # rotation: one command, then restart mosquitto
    after = (out / "server.crt").read_bytes()
    assert after != before
    broker.restart()
    served = ssl.get_server_certificate(("127.0.0.1", broker.port))
    assert served.strip() == after.decode().strip()
    with Simulator([units["door-t"]], mqtt="mqtts://127.0.0.1:%d" % broker.port) as sim:
        assert wait_connected(sim.units[0])  # the unit trusts the CA, not one certificate
