"""The console's rules, through the real app in process: who may use which route for which site (every route x
every role), form tokens on every POST, the login throttle, sessions, and the security headers."""

import pytest
from starlette.routing import Mount, Route

from pintu import checkin
from pintu.checkin import events
from tests.gateway.conftest import PEOPLE
from tests.gateway.test_gateway import Unit, ask

from .conftest import ACCOUNTS, PASSWORD, Browser, csrf_of

ALL, OFFICE, CITY = {"kota", "kepala", "satpam"}, {"kota", "kepala"}, {"kota"}
# Who may use each route, written out here (not read from the app) so that a route whose roles change fails here.
# None: anyone, logged in or not.
EXPECTED = {
    ("GET", "/login"): None,
    ("POST", "/login"): None,
    ("GET", "/lang/{lang}"): None,
    ("POST", "/logout"): ALL,
    ("GET", "/"): ALL,
    ("GET", "/account"): ALL,
    ("POST", "/account/password"): ALL,
    ("GET", "/ping"): ALL,
    ("GET", "/door/{site}"): ALL,
    ("GET", "/door/{site}/stream"): ALL,
    ("POST", "/door/{site}/ack/{event}"): ALL,
    ("POST", "/door/{site}/hold/{person}/confirm"): ALL,
    ("POST", "/door/{site}/hold/{person}/refuse"): ALL,
    ("POST", "/door/{site}/manual/check"): ALL,
    ("POST", "/door/{site}/manual/admit"): ALL,
    ("POST", "/door/{site}/manual/turn-away"): ALL,
    ("POST", "/door/{site}/manual/checkout"): ALL,
    ("GET", "/office/{site}"): OFFICE,
    ("GET", "/office/{site}/events.csv"): OFFICE,
    ("GET", "/office/{site}/chart.svg"): OFFICE,
    ("GET", "/city"): CITY,
}
HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def app_routes(app):
    out = []
    for route in app.routes:
        if isinstance(route, Mount):
            assert route.path == "/static"  # the only mount: the console's own assets, public
            continue
        assert isinstance(route, Route)
        for method in route.methods - {"HEAD"}:
            out.append((method, route.path))
    return out


def black_events(console):
    """A BLACK alert at each site (andi is positive): scanned at kantor by a unit through the gateway, at pasar
    at the guard's desk. -> {site: event id}."""
    from pintu.gateway.gateway import Gateway

    unit = Unit(console.office.units["door-1"])
    unit.answer(ask(Gateway(console.data), unit.scan(console.office.codes["andi"])))
    checkin.admit(console.data, "pasar", PEOPLE["andi"][0])
    return {site: events.list_events(console.data, site, verdict="BLACK")[0]["id"] for site in ("kantor", "pasar")}


def call(browser, method, template, site, event):
    event = event.get(site, 1)
    path = template.replace("{site}", site).replace("{event}", str(event)).replace("{person}", "1")
    path = path.replace("{lang}", "en")
    if path.endswith("/stream"):
        path += "?after=999999999"  # nothing newer: the stream is asked for its status only
        with browser.client.stream("GET", path) as response:
            return response.status_code
    if method == "GET":
        return browser.get(path).status_code
    return browser.post(path, {"nik": "3275010101800001", "old": "x", "new": "y", "again": "z"}).status_code


def test_every_route_checks_role_and_site(console):
    """For EVERY route and role: the own site is served, another office's site and an unknown site are 404 (the
    same answer: nobody learns which sites exist), a role without the route gets 404, nobody logged in gets the
    login page."""
    assert sorted(app_routes(console.app)) == sorted(EXPECTED)
    event = black_events(console)
    for name in ("kota", "kepala", "satpam"):
        for (method, template), allowed in EXPECTED.items():
            if template in ("/logout",):
                continue  # ends the session: checked below
            browser = Browser(console.app)
            assert browser.login(name).status_code == 303
            own = call(browser, method, template, "kantor", event)
            if allowed is None or name in allowed:
                assert own not in (403, 404), (name, method, template, own)
            else:
                assert own == 404, (name, method, template, own)
            if "{site}" in template:
                foreign = call(browser, method, template, "pasar", event)
                if name == "kota" and name in allowed:  # a city admin answers for every site
                    assert foreign not in (403, 404), (name, method, template, foreign)
                else:
                    assert foreign == 404, (name, method, template, foreign)
                assert call(browser, method, template, "nowhere", event) == 404, (name, method, template)
    anonymous = Browser(console.app)
    for (method, template), allowed in EXPECTED.items():
        if allowed is None:
            continue
        response_code = call(anonymous, method, template, "kantor", event)
        assert response_code == 303, (method, template, response_code)  # to the login page; nothing done
    assert anonymous.get("/door/kantor").headers["location"] == "/login"
    assert events.list_events(console.data, "kantor", verdict="GREEN") == []  # no manual admission got through


def test_a_guard_of_another_site_sees_nothing_of_kantor(console):
    browser = Browser(console.app)
    browser.login("satpam-pasar")
    assert browser.get("/door/pasar").status_code == 200
    page = browser.get("/door/kantor")
    assert page.status_code == 404 and "Kantor Walikota" not in page.text
    assert browser.get("/").headers["location"] == "/door/pasar"


def test_every_post_needs_the_sessions_form_token(console):
    browser, other = Browser(console.app), Browser(console.app)
    browser.login("satpam")
    other.login("kepala")
    before = len(events.list_events(console.data, "kantor"))
    form = {"nik": "3275010101800001"}
    assert browser.post("/door/kantor/manual/checkout", form, token=False).status_code == 403
    assert browser.post("/door/kantor/manual/checkout", dict(form, csrf="forged")).status_code == 403
    assert browser.post("/door/kantor/manual/checkout", dict(form, csrf=other.token)).status_code == 403
    assert len(events.list_events(console.data, "kantor")) == before  # nothing was recorded
    assert browser.post("/door/kantor/manual/checkout", form).status_code == 303  # with its own token: done
    assert len(events.list_events(console.data, "kantor")) == before + 1
    login = Browser(console.app)
    response = login.client.post("/login", data={"name": "satpam", "password": PASSWORD})
    assert response.status_code == 403  # the login form is protected too


def test_a_form_is_bounded(console):
    browser = Browser(console.app)
    browser.login("satpam")

    def chunks():  # no Content-Length: the body arrives in pieces and is counted as it comes
        for _ in range(40):
            yield b"nik=" + b"1" * 1000 + b"&"

    sent = browser.client.post("/door/kantor/manual/check", content=chunks(),
                               headers={"content-type": "application/x-www-form-urlencoded"})
    assert sent.status_code == 413
    many = "&".join("f%d=1" % i for i in range(30)) + "&csrf=" + browser.token
    assert browser.client.post("/door/kantor/manual/check", content=many.encode(), headers={
        "content-type": "application/x-www-form-urlencoded"}).status_code == 400
    assert browser.post("/door/kantor/manual/check", {"nik": "not-a-nik"}).status_code == 400  # one-line error


def test_login_throttle_refuses_for_a_growing_delay(console):
    browser = Browser(console.app)
    for _ in range(5):
        assert browser.login("satpam", "wrong-password").status_code == 401
    refused = browser.login("satpam")  # the right password, too soon
    assert refused.status_code == 429 and "detik" in refused.text
    console.clock.now += 3  # the first delay (2 s) has passed
    assert browser.login("satpam").status_code == 303
    for _ in range(6):
        browser.login("kepala", "wrong-password")
    console.clock.now += 3  # the sixth failure doubled the delay to 4 s
    assert browser.login("kepala").status_code == 429
    console.clock.now += 2
    assert browser.login("kepala").status_code == 303


def test_one_address_trying_many_names_is_throttled(console):
    browser = Browser(console.app)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        assert browser.login(name, "wrong-password").status_code == 401
    assert browser.login("kota").status_code == 429  # same address, another (real) name
    console.clock.now += 3600 + 1  # an hour without a failure: the address starts afresh
    for name in ("b1", "b2", "b3", "b4"):
        assert browser.login(name, "wrong-password").status_code == 401
    assert browser.login("kota").status_code == 303


def test_session_cookie_logout_tampering_and_password_change(console):
    browser = Browser(console.app)
    response = browser.login("satpam")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    assert browser.get("/door/kantor").status_code == 200
    stolen = browser.client.cookies.get("pintu_session")
    tampered = Browser(console.app)
    tampered.client.cookies.set("pintu_session", stolen[:-2] + ("AA" if not stolen.endswith("AA") else "BB"))
    assert tampered.get("/door/kantor").status_code == 303
    second = Browser(console.app)
    second.login("satpam")
    wrong = browser.post("/account/password", {"old": "not-it-at-all", "new": "new-password-1",
                                               "again": "new-password-1"})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    assert browser.post("/account/password", {"old": PASSWORD, "new": "new-password-1",
                                              "again": "new-password-1"}).status_code == 303
    assert browser.get("/door/kantor").status_code == 200  # this session goes on
    assert second.get("/door/kantor").status_code == 303  # the other one ended with the old password
    browser.token = csrf_of(browser.get("/account").text)
    assert browser.post("/logout").status_code == 303
    replay = Browser(console.app)
    replay.client.cookies.set("pintu_session", stolen)
    assert replay.get("/door/kantor").status_code == 303  # a copied cookie is useless after logout


@pytest.mark.parametrize("path", ["/login", "/static/console.js", "/static/console.css", "/door/kantor",
                                  "/no-such-page"])
def test_security_headers_on_every_answer(console, path):
    browser = Browser(console.app)
    browser.login("satpam")
    response = browser.get(path)
    for header, value in HEADERS.items():
        assert response.headers.get(header) == value, (path, header)


def test_language_switch_and_one_catalogue(console):
    from pintu.web.messages import MESSAGES

    assert set(MESSAGES["id"]) == set(MESSAGES["en"])  # every text in both languages
    browser = Browser(console.app)
    assert "Masuk" in browser.get("/login").text  # Bahasa Indonesia by default
    assert browser.get("/lang/en?next=//evil.example/").headers["location"] == "/"  # never off this console
    assert browser.get("/lang/en?next=/login").headers["location"] == "/login"
    assert "Log in" in browser.get("/login").text


def test_accounts_are_checked_against_the_database_at_every_request(console):
    from pintu.registry import users

    browser = Browser(console.app)
    browser.login("kepala")
    assert browser.get("/office/kantor").status_code == 200
    users.remove_user(console.data, "kepala")
    assert browser.get("/office/kantor").status_code == 303
    assert set(ACCOUNTS) - {"kepala"} == {u["name"] for u in users.list_users(console.data)}


@pytest.mark.sqlite_only
def test_pintu_web_binds_loopback_by_default_and_warns_beyond_it(console):
    import subprocess
    import sys

    from pintu.cli.web import parse_bind
    from pintu.errors import PintuError
    from tests.mosquitto import free_port, wait_port

    assert parse_bind("127.0.0.1:8080") == ("127.0.0.1", 8080, True)
    assert parse_bind("[::1]:8080") == ("::1", 8080, True)
    assert parse_bind("0.0.0.0:8080") == ("0.0.0.0", 8080, False)
    for bad in ("8080", "127.0.0.1:0", "127.0.0.1:http", ":8080", "127.0.0.1:99999"):
        with pytest.raises(PintuError, match="bad --bind"):
            parse_bind(bad)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "pintu.cli", "--data", console.office.path, "web", "--bind",
                               "0.0.0.0:%d" % port], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        warning = server.stderr.readline()
        wait_port(port, timeout=30)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert warning.startswith("pintu: warning:") and "TLS" in warning
    nothing = subprocess.run([sys.executable, "-m", "pintu.cli", "--data", str(console.office.path) + "-none", "web"],
                             capture_output=True, text=True, timeout=60)
    assert nothing.returncode == 2 and nothing.stderr.startswith("pintu: no pintu data") and "Traceback" not in \
        nothing.stderr


def test_the_live_stream_sends_the_sites_new_events_only(console):
    """The SSE stream of a door view: every event of its site newer than the one the page had (or Last-Event-ID),
    none of another site's; on both backends (one indexed query per look)."""
    first = black_events(console)  # one at kantor, one at pasar
    checkin.admit(console.data, "kantor", PEOPLE["budi"][0])  # GREEN at kantor
    kantor = [e["id"] for e in reversed(events.list_events(console.data, "kantor"))]
    browser = Browser(console.app)
    browser.login("kota")  # may see both sites

    def streamed(site, **kw):
        with browser.client.stream("GET", "/door/%s/stream" % site, **kw) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            body = "".join(response.iter_text())
        return [int(line[4:]) for line in body.splitlines() if line.startswith("id: ")]

    assert streamed("kantor", params={"after": 0}) == kantor
    assert streamed("kantor", params={"after": "9" * 40}) == kantor  # out of range: read as "from the start"
    assert streamed("kantor", params={"after": first["kantor"]}) == kantor[1:]
    assert streamed("kantor", headers={"last-event-id": str(kantor[-1])}) == []
    assert streamed("pasar", params={"after": 0}) == [first["pasar"]]


def test_the_session_key_is_owner_only_and_kept(console):
    import os

    from pintu.data.datadir import session_key

    path = os.path.join(console.office.path, "session.key")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert session_key(console.office.path) == open(path, "rb").read()  # made once, then read


def test_an_idle_session_expires():
    from pintu.web.auth import Sessions

    key = b"k" * 32
    cookie = Sessions(key).dump({"u": 1, "n": 0, "c": "token"})
    assert Sessions(key).read(cookie)["u"] == 1
    assert Sessions(key, idle_s=-1).read(cookie) is None  # older than the idle time: refused
    assert Sessions(b"x" * 32).read(cookie) is None  # signed by another data directory's key


def test_a_yellow_is_confirmed_or_refused_from_the_console_by_person_id(console):
    """The console's Konfirmasi/Tolak settle the hold of a person id (checkin.settle_hold_of): the same outcome as
    the guard's card or `pintu confirm|refuse`, recorded with the console user as operator; on both backends."""
    from pintu import registry
    from pintu.checkin import holds
    from pintu.gateway.gateway import Gateway
    from pintu.registry import cards

    registry.set_site(console.data, "kantor", policy_name="full")  # one dose: YELLOW, the guard checks
    registry.add_person(console.data, "3275010707900007", "Gita")
    registry.add_dose(console.data, "3275010707900007", "2021-03-01")
    gateway, unit = Gateway(console.data), Unit(console.office.units["door-1"])
    codes = [console.office.codes["dewi"]]
    codes.append(cards.issue_card(console.data, "3275010707900007", "kantor")["code"].encode())
    for code in codes:
        unit.answer(ask(gateway, unit.scan(code)))
    held = [h["person"] for h in holds.pending(console.data, "kantor")]
    assert len(held) == 2 and console.data.store.count_inside("kantor") == 0
    browser = Browser(console.app)
    browser.login("satpam")
    page = browser.get("/door/kantor").text
    assert all('data-person="%d"' % person in page for person in held)
    assert browser.post("/door/kantor/hold/%d/confirm" % held[0]).status_code == 303
    assert browser.post("/door/kantor/hold/%d/refuse" % held[1]).status_code == 303
    assert console.data.store.count_inside("kantor") == 1 and holds.pending(console.data, "kantor") == []
    confirmed, refused = events.list_events(console.data, "kantor", limit=2)[::-1]
    user = console.data.store.find_user("satpam")["id"]
    assert (confirmed["verdict"], confirmed["reason"], confirmed["person"]) == ("GREEN", "guard_confirmed", held[0])
    assert (refused["verdict"], refused["reason"], refused["person"]) == ("HOLD", "guard_refused", held[1])
    assert confirmed["operator"] == refused["operator"] == "user:%d" % user
    again = browser.post("/door/kantor/hold/%d/confirm" % held[1])  # nothing pending any more: a clear error
    assert again.status_code == 400 and "nothing is waiting" in again.text
    assert console.data.store.count_inside("kantor") == 1


def test_the_hourly_chart_is_svg_drawn_on_the_server():
    from xml.etree import ElementTree

    from pintu.web.charts import COLOURS, hours_chart

    labels = {"GREEN": "HIJAU", "RED": "<b>", "BLACK": "X"}
    svg = hours_chart({"09": {"GREEN": 3, "RED": 1}, "14": {"BLACK": 2}}, labels)
    tree = ElementTree.fromstring(svg)  # well-formed: a label is escaped, never markup
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in tree.iter(ns + "rect") if r.find(ns + "title") is not None]
    assert sorted((r.find(ns + "title").text, r.get("fill")) for r in bars) == sorted([
        ("09:00 HIJAU 3", COLOURS["GREEN"]), ("09:00 <b> 1", COLOURS["RED"]), ("14:00 X 2", COLOURS["BLACK"])])
    heights = {r.find(ns + "title").text: float(r.get("height")) for r in bars}
    assert heights["09:00 HIJAU 3"] == 3 * heights["09:00 <b> 1"]  # bars in proportion to the counts

