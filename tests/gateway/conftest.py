"""An office for the gateway tests: a site, an entry door, an exit door, units at both, and people with cards."""

import json
import time
from types import SimpleNamespace

import pytest

from pintu import registry
from pintu.data.datadir import DataDir
from pintu.registry import cards, provision
from tests.mosquitto import Broker, free_port

PEOPLE = {  # name: (NIK, dose dates, status)
    "budi": ("3275010101800001", ("2021-03-01", "2021-04-01"), None),
    "sari": ("3275014202850002", (), None),
    "andi": ("3275010303900003", ("2021-03-01",), "positive"),
    "dewi": ("3275014404880004", ("2021-03-01",), None),
}


def make_office(path, capacity=2, link="serial", broker=None, database=None):
    """database: a postgresql:// URL (tests/conftest.py `database`), or None for SQLite in the folder."""
    data, _ = DataDir.init(path, database=database)
    registry.add_site(data, "kantor", "Kantor Walikota", capacity, "dose1", "Puskesmas Karang Kitri", "8h")
    registry.add_door(data, "lobby", "kantor", "in")
    registry.add_door(data, "belakang", "kantor", "out")
    extra = {"wifi_ssid": "office", "wifi_password": "pw", "broker": broker} if link == "mqtt" else {}
    units = {}
    for device, door in (("door-1", "lobby"), ("door-2", "belakang")):
        _, config_path = provision.add_unit(data, device, door, link, **extra)
        with open(config_path) as f:
            units[device] = json.load(f)
    codes = {}
    for name, (nik, doses, status) in PEOPLE.items():
        registry.add_person(data, nik, name.title())
        for day in doses:
            registry.add_dose(data, nik, day)
        if status:
            registry.set_status(data, nik, status)
        codes[name] = cards.issue_card(data, nik, "kantor", at=time.time())["code"].encode()
    return SimpleNamespace(data=data, path=str(path), units=units, codes=codes)


@pytest.fixture
def office(tmp_path, database):
    office = make_office(tmp_path / "data", database=database)
    yield office
    office.data.close()


@pytest.fixture
def mqtt_office(tmp_path, database):
    port = free_port()
    office = make_office(tmp_path / "data", capacity=500, link="mqtt", broker="127.0.0.1:%d" % port, database=database)
    provision.broker_config(office.data, tmp_path / "broker", port=port, bind="127.0.0.1")
    broker = Broker(tmp_path / "broker" / "mosquitto.conf", port, tmp_path / "mosquitto.log").start()
    office.broker = broker
    office.data.close()
    yield office
    broker.stop()
