"""`pintu demo --mqtt mqtts://` and `pintu simulate --mqtt mqtts://` through a real Mosquitto's TLS listener (the one
`pintu broker-config --tls` writes), run as an operator runs them (issue 18)."""

import getpass
import json

import pytest

from pintu.registry import broker as broker_conf
from pintu.registry import tls
from tests.mosquitto import Broker, free_port
from tests.tech.test_simulate_demo import check_demo, run, run_demo

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def tls_broker(tmp_path):
    """An open broker (no logins: the demo's units are made up) with a TLS listener only, for 127.0.0.1."""
    data = tmp_path / "data"
    key_pem, cert_pem = tls.issue_server_cert(str(data), [], ["127.0.0.1"])
    (tmp_path / "server.key").write_bytes(key_pem)
    (tmp_path / "server.crt").write_bytes(cert_pem)
    port = free_port()
    lines = ["user %s" % getpass.getuser(), *broker_conf.tls_listener(tmp_path, port, "127.0.0.1"),
             "allow_anonymous true", "persistence false", ""]
    (tmp_path / "mosquitto.conf").write_text("\n".join(lines))
    broker = Broker(tmp_path / "mosquitto.conf", port, tmp_path / "mosquitto.log").start()
    yield broker, tls.ca_paths(str(data))[1]
    broker.stop()


def test_demo_over_tls(tls_broker):
    broker, ca = tls_broker
    url = "mqtts://127.0.0.1:%d" % broker.port
    check_demo(*run_demo("--mqtt", url, "--ca", ca))
    code, out, err, _ = run_demo("--mqtt", url)  # no CA: one line, nothing started
    assert code != 0 and err.strip() == "pintu: demo: mqtts:// needs the broker's CA file (--ca)"


def test_simulate_over_tls(tls_broker, tmp_path):
    broker, ca = tls_broker
    url = "mqtts://127.0.0.1:%d" % broker.port
    result = run("--data", str(tmp_path / "nowhere"), "simulate", "--mqtt", url, "--ca", ca, "--count", "2",
                 "--rate", "5", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["scans"] == 2 and all(u["link_up"] for u in stats["units"])
    # no host answers here: the unit shows OFFLINE (see_guard) after connecting over TLS
    assert stats["patterns"] and set(stats["patterns"]) <= {"see_guard"}
