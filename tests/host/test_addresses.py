"""Broker addresses: the one parser the gateway, provisioning, the simulator and the demo share.
(MQTT topics: tests/portable/test_protocol_topics.py.)"""

import pytest

from pintu.addresses import parse_broker
from pintu.errors import PintuError


@pytest.mark.parametrize("text, expected", [
    ("mqtt://u:pw@10.0.0.2:1884", ("10.0.0.2", 1884, "u", "pw")),
    ("mqtt://10.0.0.2:1884", ("10.0.0.2", 1884, None, None)),
    ("mqtt://broker.kelurahan.example/", ("broker.kelurahan.example", 1883, None, None)),
    ("192.168.1.5:8883", ("192.168.1.5", 8883, None, None)),
    ("broker", ("broker", 1883, None, None)),
    ("[::1]:1884", ("::1", 1884, None, None)),
])
def test_good_addresses(text, expected):
    assert parse_broker(text) == expected


@pytest.mark.parametrize("text", [
    "", None, "tcp://x", "http://x", "mqtt://", ":1883", "host:0", "host:65536", "host:port", "host:-1",
    "mqtt://host/topic", "mqtt://host?x=1", "host 1883", "host\nlistener 1", "ho\x00st", "host:1883\r",
])
def test_bad_addresses_are_one_line_errors(text):
    with pytest.raises(PintuError) as exc:
        parse_broker(text)
    assert "\n" not in str(exc.value)
