"""The console in a real browser (Playwright driving Debian's Chromium, headless) against `pintu web` served by
uvicorn on a free loopback port, while door units scan through the real gateway on the same data directory: the
scan shows live on the door view, a BLACK alert stays until acknowledged, a YELLOW confirmed in the browser, a
visitor without a phone admitted and checked out, the office's CSV export equal to `pintu events --json`.

Waits are generous and nothing here measures time (bench/ would)."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from pintu.checkin import events
from pintu.data.datadir import DataDir
from pintu.gateway.gateway import Gateway
from tests.conftest import IN_CI, ROOT
from tests.gateway.conftest import PEOPLE
from tests.gateway.test_gateway import Unit, ask
from tests.gateway.test_unit_faults import Wired
from tests.mosquitto import free_port, wait_port

from .conftest import PASSWORD, make_console_office

CHROMIUM = "/usr/bin/chromium"
INSTALL = "apt-get install chromium (make test does it when it may)"
WAIT_MS = 15000  # generous: a loaded CI machine; the live view normally takes a fraction of a second
DOCS = ROOT / "docs"


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("%s not found: %s" % (CHROMIUM, INSTALL))
        pytest.skip("%s not found: %s" % (CHROMIUM, INSTALL))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An office on SQLite and `pintu web` serving it (a separate process, as in production)."""
    path = tmp_path_factory.mktemp("console") / "data"
    office = make_console_office(path)
    port = free_port()
    log = open(path.parent / "web.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "pintu.cli", "--data", office.path, "web", "--bind",
                               "127.0.0.1:%d" % port], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, timeout=30)
        office.url = "http://127.0.0.1:%d" % port
        office.gateway = Gateway(office.data)
        yield office
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        office.data.close()
    assert "Traceback" not in (path.parent / "web.log").read_text()


@pytest.fixture
def page_as(chromium, served):
    contexts = []

    def login(name):
        context = chromium.new_context(viewport={"width": 1100, "height": 1300}, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(served.url + "/login")
        page.fill("#name", name)
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_load_state()
        return page

    yield login
    for context in contexts:
        context.close()


def scan(office, who, device="door-1"):
    """A unit's authenticated SCAN through the gateway, as the firmware sends it. -> the recorded event id."""
    unit = office.__dict__.setdefault("protocol_units", {}).setdefault(device, Unit(office.units[device]))
    unit.answer(ask(office.gateway, unit.scan(office.codes[who])))
    return events.list_events(office.data, "kantor", limit=1)[0]["id"]


def test_a_scan_appears_on_the_door_view_as_it_happens(served, page_as):
    page = page_as("satpam")
    assert page.url.endswith("/door/kantor")
    before = int(page.inner_text("#inside"))
    event_id = scan(served, "budi")
    row = page.locator('#scans li[data-event="%d"]' % event_id)
    row.wait_for(timeout=WAIT_MS)
    assert "HIJAU" in row.inner_text()  # GREEN, in Bahasa Indonesia
    assert row.get_attribute("class") == "scan v-GREEN"
    page.wait_for_function("document.getElementById('inside').textContent == '%d'" % (before + 1), timeout=WAIT_MS)


def test_a_black_alert_stays_until_acknowledged(served, page_as):
    page = page_as("satpam")
    event_id = scan(served, "andi")  # positive
    alert = page.locator('#alerts .alert[data-event="%d"]' % event_id)
    alert.wait_for(timeout=WAIT_MS)
    row = page.locator('#scans li[data-event="%d"]' % event_id)
    assert "HITAM" in row.inner_text() and "Please see the guard" in row.inner_text()  # the words the visitor saw
    page.reload()
    alert.wait_for(timeout=WAIT_MS)  # still there after a reload: nobody acknowledged it
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "console-door.png"))
    alert.locator("button.ack").click()
    page.wait_for_load_state()
    assert page.locator('#alerts .alert[data-event="%d"]' % event_id).count() == 0
    page.reload()
    assert page.locator('#alerts .alert[data-event="%d"]' % event_id).count() == 0
    assert served.data.store.acked_among([event_id]) == {event_id}  # recorded on the server


def test_a_yellow_confirmed_in_the_browser_opens_the_door(served, page_as):
    from pintu import registry

    registry.set_site(served.data, "kantor", policy_name="full")  # dewi's single dose: YELLOW, the guard checks
    try:
        unit = Wired(served, served.gateway, device="door-3")  # the real firmware on fake hardware
        unit.run(100)
        page = page_as("satpam")
        inside = served.data.store.count_inside("kantor")
        unit.scan(served.codes["dewi"])
        unit.run(300)
        dewi = served.data.store.find_person(served.data.nik.hash(PEOPLE["dewi"][0]))["id"]
        hold = page.locator('#holds .hold[data-person="%d"]' % dewi)
        hold.wait_for(timeout=WAIT_MS)
        assert served.data.store.count_inside("kantor") == inside  # held, not inside yet
        assert ("relay", 1) not in unit.bench.recorder.values()  # the door stays shut while the guard checks
        hold.locator("button.confirm").click()  # Konfirmasi
        page.wait_for_load_state()
        assert "dikonfirmasi petugas" in page.inner_text("#flash")
        assert served.data.store.count_inside("kantor") == inside + 1
        assert page.locator('#holds .hold[data-person="%d"]' % dewi).count() == 0
        for _ in range(200):  # what `pintu serve` does between frames: push the door opens that are due
            unit.run(10)
            served.gateway.push_opens()
        assert unit.bench.recorder.values().count(("relay", 1)) == 1  # the door opened, once
    finally:
        registry.set_site(served.data, "kantor", policy_name="dose1")


def test_a_visitor_without_a_phone_is_checked_admitted_and_checked_out(served, page_as):
    nik = PEOPLE["budi"][0]
    page = page_as("satpam")
    # budi may be inside from the first test: check him out first, by hand
    page.fill("#checkout-nik", nik)
    page.click("#manual-checkout")
    page.wait_for_load_state()
    page.fill("#manual-nik", nik)
    page.click("#manual-check")  # decide with the site's policy: nothing recorded yet
    page.wait_for_load_state()
    result = page.inner_text("#manual-result")
    assert "HIJAU" in result and nik[-4:] in result
    assert nik not in page.content()  # never shown back in full
    inside = served.data.store.count_inside("kantor")
    page.click("#manual-admit")
    page.wait_for_load_state()
    assert "Selesai: HIJAU" in page.inner_text("#flash")
    assert served.data.store.count_inside("kantor") == inside + 1
    last = events.list_events(served.data, "kantor", limit=1)[0]
    assert (last["verdict"], last["how"]) == ("GREEN", "manual") and last["operator"].startswith("user:")
    page.fill("#checkout-nik", nik)
    page.click("#manual-checkout")
    page.wait_for_load_state()
    assert "KELUAR" in page.inner_text("#flash")
    assert served.data.store.count_inside("kantor") == inside
    recorded = len(events.list_events(served.data, "kantor", limit=None))
    page.fill("#manual-nik", PEOPLE["sari"][0])  # no dose: RED, and turned away
    page.click("#manual-check")
    page.wait_for_load_state()
    assert "MERAH" in page.inner_text("#manual-result")
    page.click("#manual-turn-away")
    page.wait_for_load_state()
    assert "tidak dicatat" in page.inner_text("#flash")
    assert len(events.list_events(served.data, "kantor", limit=None)) == recorded  # checked and turned away: no record


def test_the_office_view_and_its_csv_export_equal_pintu_events_json(served, page_as):
    scan(served, "sari")  # a RED refusal for the chart and the refusals table
    page = page_as("kepala")
    assert page.url.endswith("/office/kantor")
    assert page.locator("#chart").evaluate("img => img.complete && img.naturalWidth > 0")
    units = page.locator("#units tr[data-unit]")
    states = {units.nth(i).get_attribute("data-unit"): units.nth(i).get_attribute("class") for i in
              range(units.count())}
    assert states["door-2"] == "unit-never-seen" and set(states) == {"door-1", "door-2", "door-3"}
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "console-office.png"), full_page=True)
    page.select_option("select[name=verdict]", "GREEN")
    page.click("#filters button[type=submit]")
    page.wait_for_load_state()
    with page.expect_download() as download:
        page.click("#export")
    exported = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    cli = subprocess.run([sys.executable, "-m", "pintu.cli", "--data", served.path, "events", "--site", "kantor",
                          "--verdict", "GREEN", "--limit", "100", "--json"], capture_output=True, text=True,
                         check=True)
    expected = json.loads(cli.stdout)
    assert expected and len(exported) == len(expected)
    for got, want in zip(exported, expected, strict=True):
        assert got == {key: "" if value is None else str(value) for key, value in want.items()}


def test_the_city_view_shows_every_office(served, page_as):
    page = page_as("kota")
    assert page.url.endswith("/city")
    rows = page.locator("#sites tr[data-site]")
    assert [rows.nth(i).get_attribute("data-site") for i in range(rows.count())] == ["kantor", "pasar"]
    with DataDir(served.path) as data:
        inside = data.store.count_inside("kantor")
    assert ("%d / 40" % inside) in page.locator('#sites tr[data-site="kantor"]').inner_text()
