"""The site's CA, `broker-config --tls` files and `device add/set --tls` (issue 18); the TLS part of a unit's config
as the firmware validates it. The broker and units over TLS: tests/gateway/test_tls.py."""

import json
import stat

import pytest

from pintu.errors import PintuError
from pintu.registry import provision
from pintu.registry import tls as tls_mod
from pintu.tech import unit_files
from tests.gateway.conftest import make_office

unit_files.locate().put_on_sys_path()
from firmware import config as unit_config  # noqa: E402
from firmware import link_mqtt  # noqa: E402


@pytest.fixture
def office(tmp_path):
    office = make_office(tmp_path / "data")
    yield office
    office.data.close()


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_broker_config_tls_files_listeners_and_errors(office, tmp_path):
    out = tmp_path / "broker"
    with pytest.raises(PintuError, match="--name and/or --address"):
        provision.broker_config(office.data, out, tls=True)
    with pytest.raises(PintuError, match="go with --tls"):
        provision.broker_config(office.data, out, names=["broker.kantor"])
    with pytest.raises(PintuError, match="bad --address"):
        provision.broker_config(office.data, out, tls=True, addresses=["10.0.0.300"])
    names, _, _ = provision.broker_config(office.data, out, 1883, "0.0.0.0", tls=True, tls_port=8883,
                                          names=["broker.kantor"], addresses=["192.168.1.10"])
    assert {"server.crt", "server.key", "mosquitto.conf"} <= set(names)
    key_path, cert_path = tls_mod.ca_paths(office.path)
    for path in (out / "server.key", out / "server.crt", out / "mosquitto.conf"):
        assert mode(path) == 0o600
    assert mode(tmp_path / "data" / "tls") == 0o700 and mode(tmp_path / "data" / "tls" / "ca.key") == 0o600
    assert "PRIVATE KEY" not in (out / "server.crt").read_text()
    assert "ca.key" not in (out / "mosquitto.conf").read_text()  # the CA key stays in the data directory
    lines = (out / "mosquitto.conf").read_text().splitlines()
    assert "listener 1883 127.0.0.1" in lines and "listener 8883 0.0.0.0" in lines  # plain only on loopback
    assert "tls_version tlsv1.2" in lines and "listener 1883 0.0.0.0" not in lines
    cert = tls_mod.existing_server_cert(out)
    assert tls_mod.server_names(cert) == (["broker.kantor"], ["192.168.1.10"])
    provision.broker_config(office.data, out, 1883, "0.0.0.0", tls=True, plain=False)  # names kept from the cert
    lines = (out / "mosquitto.conf").read_text().splitlines()
    assert not any(line.startswith("listener 1883") for line in lines) and "listener 8883 0.0.0.0" in lines
    assert (out / "server.crt").read_bytes() == cert.public_bytes(tls_mod.serialization.Encoding.PEM)


def test_device_add_and_set_keep_tls(office, tmp_path):
    with pytest.raises(PintuError, match="no TLS certificate authority"):
        provision.add_unit(office.data, "door-t", "lobby", "mqtt", "office", "pw", "10.0.0.5", tls=True)
    assert office.data.store.get_device("door-t") is None  # nothing stored on the way to that error
    provision.broker_config(office.data, tmp_path / "b", tls=True, addresses=["10.0.0.5"])
    with pytest.raises(PintuError, match="plain MQTT"):
        provision.add_unit(office.data, "door-t", "lobby", "mqtt", "office", "pw", "mqtt://10.0.0.5", tls=True)
    with pytest.raises(PintuError, match="USB serial is a cable"):
        provision.add_unit(office.data, "door-t", "lobby", "serial", tls=True)
    _, path = provision.add_unit(office.data, "door-t", "lobby", "mqtt", "office", "pw", "mqtts://10.0.0.5")
    link = json.loads(open(path).read())["link"]
    assert link["port"] == 8883 and "tls" in link
    pin = provision.config_ca_pin(path)
    assert pin == tls_mod.pin(tls_mod.ca_der(office.path))
    provision.set_unit(office.data, "door-t", wifi_ssid="lantai-2")  # TLS stays, with its port
    link = json.loads(open(path).read())["link"]
    assert link["wifi_ssid"] == "lantai-2" and link["port"] == 8883 and provision.config_ca_pin(path) == pin
    provision.set_unit(office.data, "door-t", broker="10.0.0.6")  # a new address without a scheme: still TLS
    assert json.loads(open(path).read())["link"]["tls"]
    provision.set_unit(office.data, "door-t", tls=False)
    link = json.loads(open(path).read())["link"]
    assert "tls" not in link and link["port"] == 1883
    provision.set_unit(office.data, "door-t", tls=True)
    assert json.loads(open(path).read())["link"]["port"] == 8883


def test_the_firmware_refuses_a_tls_config_without_a_usable_ca(office, tmp_path):
    provision.broker_config(office.data, tmp_path / "b", tls=True, names=["broker.kantor"])
    _, path = provision.add_unit(office.data, "door-t", "lobby", "mqtt", "office", "pw", "broker.kantor", tls=True)
    good = json.loads(open(path).read())
    settings = unit_config.parse(json.dumps(good).encode())
    assert link_mqtt.ca_der(settings["link"]["tls"]) == tls_mod.ca_der(office.path)  # what unit.make_link uses
    for bad in ({}, {"ca": ""}, {"ca": "not base64 at all!" * 8}, {"ca": "QUJD" * 40}, "yes", None):
        cfg = dict(good, link=dict(good["link"], tls=bad))
        if bad is None:
            cfg["link"]["tls"] = None
        with pytest.raises(unit_config.ConfigError, match="link.tls.ca"):
            unit_config.parse(json.dumps(cfg).encode())
