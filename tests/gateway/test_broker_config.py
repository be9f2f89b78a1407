"""`pintu broker-config` output run by a real Mosquitto: hashed logins and per-device ACLs actually enforced."""

import stat
import time

import paho.mqtt.client as mqtt
import pytest

from pintu.registry.broker import HOST_USER, HOST_WORKERS, write_broker_config
from pintu_protocol.topics import UP, down_topic, every, up_topic
from tests.mosquitto import Broker, free_port

pytestmark = pytest.mark.mosquitto

DEVICES = [("door-1", "site-a", "pw-door-1"), ("door-2", "site-a", "pw-door-2")]


def client(port, user, password, on_message=None, subscribe=()):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=user + "-test")
    c.username_pw_set(user, password)
    result = {}

    def on_connect(cl, u, flags, rc, props):
        result["rc"] = rc
        for topic in subscribe:
            cl.subscribe(topic, 1)

    c.on_connect = on_connect
    if on_message:
        c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    deadline = time.monotonic() + 5
    while "rc" not in result and time.monotonic() < deadline:
        time.sleep(0.02)
    return c, result.get("rc")


@pytest.fixture
def broker(tmp_path):
    port = free_port()
    write_broker_config(tmp_path / "broker", DEVICES, "host-secret", port=port, bind="127.0.0.1")
    b = Broker(tmp_path / "broker" / "mosquitto.conf", port, tmp_path / "mosquitto.log").start()
    yield b
    b.stop()


def test_files_are_owner_only_and_passwords_hashed(tmp_path):
    names = write_broker_config(tmp_path / "b", DEVICES, "host-secret", port=1883)
    assert names == ["acl", "mosquitto.conf", "passwd"]
    for name in names:
        assert stat.S_IMODE((tmp_path / "b" / name).stat().st_mode) == 0o600
    text = (tmp_path / "b" / "passwd").read_text()
    assert "pw-door-1" not in text and "host-secret" not in text
    assert text.count("$7$101$") == len(DEVICES) + HOST_WORKERS


def test_the_broker_sends_small_packets_at_once(broker, tmp_path):
    """`set_tcp_nodelay true` is in the config the real Mosquitto of the fixture started with (an unknown option
    would have stopped it): with the unit's and the host's TCP_NODELAY, no Nagle wait on a SCAN or a VERDICT."""
    lines = (tmp_path / "broker" / "mosquitto.conf").read_text().splitlines()
    assert "set_tcp_nodelay true" in lines
    assert broker.proc.poll() is None


def test_acl_confines_each_device_to_its_own_topics(broker):
    seen = []
    host, rc = client(broker.port, HOST_USER, "host-secret", lambda c, u, m: seen.append((m.topic, m.payload)),
                      subscribe=[every(UP)])
    assert rc == 0
    door1, rc = client(broker.port, "door-1", "pw-door-1")
    assert rc == 0
    time.sleep(0.3)
    door1.publish(up_topic("site-a", "door-1"), b"mine", qos=1).wait_for_publish(5)
    door1.publish(up_topic("site-a", "door-2"), b"spoofed", qos=1).wait_for_publish(5)
    door1.publish(up_topic("site-b", "door-1"), b"other-site", qos=1).wait_for_publish(5)
    time.sleep(0.5)
    assert seen == [(up_topic("site-a", "door-1"), b"mine")]

    # door-1 cannot read door-2's downlink; the host can write it.
    snooped = []
    spy, _ = client(broker.port, "door-1", "pw-door-1", lambda c, u, m: snooped.append(m.payload),
                    subscribe=[down_topic("site-a", "door-2")])
    door2_got = []
    door2, _ = client(broker.port, "door-2", "pw-door-2", lambda c, u, m: door2_got.append(m.payload),
                      subscribe=[down_topic("site-a", "door-2")])
    time.sleep(0.3)
    host.publish(down_topic("site-a", "door-2"), b"verdict", qos=1).wait_for_publish(5)
    time.sleep(0.5)
    assert door2_got == [b"verdict"]
    assert snooped == []
    for c in (host, door1, spy, door2):
        c.disconnect()
        c.loop_stop()


def test_wrong_password_and_no_credentials_are_refused(broker):
    _, rc = client(broker.port, "door-1", "wrong")
    assert rc is not None and rc.is_failure
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    refused = []
    c.on_connect = lambda cl, u, f, rc, p: refused.append(rc.is_failure)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    time.sleep(0.5)
    c.loop_stop()
    assert refused == [True]


def test_oversize_packets_never_reach_the_host(broker):
    seen = []
    host, _ = client(broker.port, HOST_USER, "host-secret", lambda c, u, m: seen.append(len(m.payload)),
                     subscribe=[every(UP)])
    door1, rc = client(broker.port, "door-1", "pw-door-1")
    assert rc == 0
    time.sleep(0.3)
    door1.publish(up_topic("site-a", "door-1"), bytes(10_000), qos=0)
    time.sleep(0.5)
    door1b, _ = client(broker.port, "door-1", "pw-door-1")  # the broker dropped the first connection
    door1b.publish(up_topic("site-a", "door-1"), bytes(100), qos=1).wait_for_publish(5)
    time.sleep(0.5)
    assert seen == [100]
    for c in (host, door1, door1b):
        c.disconnect()
        c.loop_stop()


def test_a_unit_cannot_knock_a_worker_off_with_its_client_id(broker):
    """Issue 16: any unit's login could connect with a worker's client id, and the broker dropped the worker for it;
    in a loop that kept every worker off and every door OFFLINE. The broker now makes each login its client id."""
    seen, drops = [], []
    worker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pintu-host-a")
    worker.username_pw_set(HOST_USER, "host-secret")
    worker.on_connect = lambda c, u, f, rc, p: c.subscribe(every(UP), 1)
    worker.on_disconnect = lambda c, u, f, rc, p: drops.append(rc)
    worker.on_message = lambda c, u, m: seen.append(m.payload)
    worker.connect("127.0.0.1", broker.port)
    worker.loop_start()
    try:
        time.sleep(0.3)
        attackers = []
        for stolen in ("pintu-host-a", HOST_USER, "door-2"):  # the worker's id, its login, another unit's login
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=stolen)
            c.username_pw_set("door-1", "pw-door-1")
            c.connect("127.0.0.1", broker.port)
            c.loop_start()
            attackers.append(c)
            time.sleep(0.3)
        attackers[-1].publish(up_topic("site-a", "door-1"), b"still-here", qos=1).wait_for_publish(5)
        time.sleep(0.5)
        assert drops == [] and worker.is_connected()
        assert seen == [b"still-here"]
        for c in attackers:
            c.disconnect()
            c.loop_stop()
    finally:
        worker.disconnect()
        worker.loop_stop()


def test_each_worker_has_a_login_and_no_device_may_take_one(tmp_path):
    from pintu.errors import PintuError
    from pintu.registry.broker import host_users
    from pintu.registry.validate import check_id

    write_broker_config(tmp_path / "b", DEVICES, "host-secret", port=1883, workers=3)
    assert host_users(3) == [HOST_USER, HOST_USER + "-2", HOST_USER + "-3"]
    acl = (tmp_path / "b" / "acl").read_text()
    for user in host_users(3):
        assert "user %s\n" % user in acl
    for reserved in host_users(3) + [HOST_USER + "-40"]:
        with pytest.raises(PintuError, match="reserved"):
            check_id("device", reserved)
    assert check_id("device", "pintu-hostel") == "pintu-hostel"
