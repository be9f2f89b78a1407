"""An office for the console's tests: two sites (kantor, pasar), people with cards, units, and one account per role;
a client that logs in like a browser (Starlette's TestClient runs the real app in process)."""

import json
import re
import time
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from pintu import registry
from pintu.registry import provision, users
from pintu.web import auth
from pintu.web.app import create_app
from tests.gateway.conftest import make_office

PASSWORD = "kunci-pintu-2021"
ACCOUNTS = {  # name: (role, sites)
    "kota": (users.CITY_ADMIN, ()),
    "kepala": (users.OFFICE_ADMIN, ("kantor",)),
    "satpam": (users.GUARD, ("kantor",)),
    "satpam-pasar": (users.GUARD, ("pasar",)),
}


def make_console_office(path, database=None, capacity=40):
    """tests/gateway's office (site kantor with units door-1, door-2 and people with cards) plus a second site,
    pasar, and the console's accounts."""
    office = make_office(path, capacity=capacity, database=database)
    registry.add_site(office.data, "pasar", "Pasar Baru", 100, "dose1", "Puskesmas Pasar", "8h")
    registry.add_door(office.data, "pasar-gate", "pasar", "in")
    registry.set_site(office.data, "kantor", hold="10m")  # time enough for a browser to confirm a YELLOW
    _, config_path = provision.add_unit(office.data, "door-3", "lobby", "serial")  # the real firmware's unit
    office.units["door-3"] = json.loads(open(config_path).read())
    for name, (role, sites) in ACCOUNTS.items():
        users.add_user(office.data, name, role, PASSWORD, sites)
    return office


def csrf_of(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


class Browser:
    """A TestClient that keeps the form token of the last page, as a browser keeps the page."""

    def __init__(self, app, address="testclient", client=None):
        self.client = client or TestClient(app, follow_redirects=False, client=(address, 50000))
        self.token = csrf_of(self.client.get("/login").text)

    def login(self, name, password=PASSWORD):
        response = self.client.post("/login", data={"csrf": self.token, "name": name, "password": password})
        if response.status_code == 303:
            self.token = csrf_of(self.client.get("/account").text)
        return response

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, token=True):
        data = dict(data or {})
        if token:
            data.setdefault("csrf", self.token)
        return self.client.post(path, data=data)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def console(tmp_path, database):
    office = make_console_office(tmp_path / "data", database=database)
    clock = FakeClock()
    app = create_app(office.path, throttle=auth.LoginThrottle(clock=clock), stream_s=0.3)
    with TestClient(app):  # runs the app's lifespan: its connections close at the end
        yield SimpleNamespace(office=office, app=app, clock=clock, data=office.data, at=time.time(),
                              browser=lambda address="testclient": Browser(app, address))
    office.data.close()
