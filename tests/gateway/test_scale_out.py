"""Several `pintu serve` workers and several brokers, as processes, with a real Mosquitto from `pintu broker-config`
(issue 16): a stopped or killed worker's share goes to the others, its return refuses nothing authentic, and one
worker serves units of two brokers. Runs on both database backends (the `database` fixture)."""

import signal
import time
from pathlib import Path

import pytest

from pintu.data.datadir import DataDir
from pintu.registry import provision
from pintu.registry.broker import HOST_USER
from tests.gateway.test_serve import MqttUnit, start_serve, stop_serve
from tests.mosquitto import Broker, free_port

pytestmark = pytest.mark.mosquitto


def _log(path):
    return Path(path).read_text()


def test_a_killed_worker_leaves_its_share_and_comes_back_refusing_nothing(mqtt_office, tmp_path):
    office = mqtt_office
    logs = [open(tmp_path / ("serve%d.log" % i), "w") for i in range(3)]
    users = [HOST_USER, HOST_USER + "-2"]
    serves = [start_serve(office.path, "--mqtt", office.broker.url, "--user", users[i], "-v", log=logs[i])
              for i in range(2)]
    units = [MqttUnit(office.broker.port, office.units[d]) for d in ("door-1", "door-2")]
    scans = 0
    try:
        time.sleep(1.5)
        for _ in range(5):
            for unit in units:
                unit.scan(office.codes["budi"])
                scans += 1
        serves[0].send_signal(signal.SIGKILL)  # no goodbye: the broker sees the connection end
        serves[0].wait(10)
        # Every scan now is answered on its first frame: none waits for the dead worker (tries=1: no resend).
        for _ in range(10):
            for unit in units:
                unit.scan(office.codes["budi"], wait_s=8.0, tries=1)
                scans += 1
        serves[0] = start_serve(office.path, "--mqtt", office.broker.url, "--user", users[0], "-v", log=logs[2])
        time.sleep(1.5)
        for _ in range(10):
            for unit in units:
                unit.scan(office.codes["budi"], wait_s=8.0, tries=1)
                scans += 1
        for unit in units:
            assert [v.scan for v in unit.verdicts()] == list(range(1, scans // 2 + 1))
    finally:
        for unit in units:
            unit.close()
        results = [stop_serve(s) for s in serves]
        for f in logs:
            f.close()
    assert all(code == 0 for code, _ in results)
    texts = [_log(tmp_path / ("serve%d.log" % i)) for i in range(3)]
    assert "refused" not in "".join(texts)  # no authentic frame taken for a replay, before or after the return
    assert texts[2].count("-> ") > 0  # the returning worker takes a share again
    with DataDir(office.path) as data:  # every scan decided once
        assert len(data.store.list_events()) == scans


def test_one_worker_serves_two_brokers(mqtt_office, tmp_path):
    office = mqtt_office
    port2 = free_port()
    with DataDir(office.path) as data:
        provision.broker_config(data, tmp_path / "broker2", port=port2, bind="127.0.0.1")
    second = Broker(tmp_path / "broker2" / "mosquitto.conf", port2, tmp_path / "mosquitto2.log").start()
    log = open(tmp_path / "serve.log", "w")
    serve = start_serve(office.path, "--mqtt", office.broker.url, "--mqtt", second.url, log=log)
    # door-1 belongs to the first district's broker, door-2 to the second's
    units = [MqttUnit(office.broker.port, office.units["door-1"]), MqttUnit(port2, office.units["door-2"])]
    try:
        time.sleep(1.5)
        for _ in range(3):
            for unit in units:
                unit.scan(office.codes["budi"], wait_s=8.0, tries=1)
        for unit in units:
            assert [v.scan for v in unit.verdicts()] == [1, 2, 3]
    finally:
        for unit in units:
            unit.close()
        code, _ = stop_serve(serve)
        log.close()
        second.stop()
    assert code == 0, _log(tmp_path / "serve.log")
    assert _log(tmp_path / "serve.log").count("connected to") == 2
