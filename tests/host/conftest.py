"""Shared fixtures for the host tests: a fresh data directory with one site and its doors."""

import datetime

import pytest

from pintu import registry
from pintu.data.datadir import DataDir
from tests.conftest import create_postgres_database, drop_postgres_database

# A fixed moment (local time) so dose dates and health windows are deterministic.
NOW = datetime.datetime(2021, 9, 1, 10, 0).timestamp()
TODAY = "2021-09-01"

NIK = {
    "budi": "3275010101800001",
    "sari": "3275014202850002",
    "andi": "3275010303900003",
    "dewi": "3275014404880004",
    "eko": "3275010505920005",
    "fajar": "3275010606870006",
}


@pytest.fixture
def url():
    """A scratch PostgreSQL database (tests that move a data directory onto PostgreSQL, or open it there)."""
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
def data(tmp_path, database):
    """A new data directory, on each backend in turn (tests/conftest.py: `backend`)."""
    data, created = DataDir.init(tmp_path / "pintu-data", database=database)
    assert created
    yield data
    data.close()


@pytest.fixture
def site(data):
    """Site 'kantor' (policy full, capacity 3) with doors lobby (in), belakang (out), samping (both)."""
    registry.add_site(data, "kantor", "Kantor Walikota", 3, "full", "Puskesmas Karang Kitri", "8h")
    registry.add_door(data, "lobby", "kantor", "in")
    registry.add_door(data, "belakang", "kantor", "out")
    registry.add_door(data, "samping", "kantor", "both")
    return "kantor"


def add_person(data, name, doses=(), role="visitor", status=None, until=None):
    registry.add_person(data, NIK[name] if name in NIK else name, name.title(), role)
    for day in doses:
        registry.add_dose(data, NIK.get(name, name), day, "Sinovac")
    if status:
        registry.set_status(data, NIK.get(name, name), status, until, at=NOW)
    return NIK.get(name, name)


def make_nik(i):
    """A well-formed synthetic NIK for number i."""
    return "3275%012d" % i
