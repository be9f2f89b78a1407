"""The console's limits on a session and its data: the login throttle is no lockout switch for a known account
name, a live stream ends with its session, a "Tamu tanpa HP" check's NIK and result stay server-side for two minutes
at most, and the door page tells nothing of other sites."""

import pytest

from pintu import checkin
from pintu.checkin import events
from tests.gateway.conftest import PEOPLE

from .conftest import PASSWORD, Browser, FakeClock
from .test_console import black_events


def test_failures_for_a_name_throttle_only_the_address_that_sent_them(console):
    """Wrong passwords sent for a guard's name from one address do not lock the guard out at another (a known
    account name is no lockout switch); the address that sent them is throttled, for every name."""
    attacker, guard = console.browser("203.0.113.9"), console.browser("192.0.2.10")
    for _ in range(10):
        assert attacker.login("satpam", "wrong-password").status_code in (401, 429)
    assert attacker.login("satpam").status_code == 429  # the right password, from the throttled address
    assert attacker.login("kepala").status_code == 429  # and any other name from it
    assert guard.login("satpam").status_code == 303  # the guard, elsewhere, logs in at once
    assert guard.get("/door/kantor").status_code == 200


def test_parallel_login_tries_cannot_all_pass_one_check():
    """begin() checks and counts a try in one step: tries still verifying their password count already, so a burst
    sent at once gets only FREE_FAILURES through; a correct one takes its own count back."""
    from pintu.web.auth import LoginThrottle

    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    keys = throttle.keys("Satpam", "203.0.113.9")
    tries = [throttle.begin(keys) for _ in range(8)]  # none has finished yet
    assert [wait for wait, _ in tries] == [0] * LoginThrottle.FREE_FAILURES + [3, 3, 3]
    alone = LoginThrottle(clock=clock)
    for _ in range(4):
        alone.begin(alone.keys("satpam", "198.51.100.1"))  # four wrong passwords, then the right one
    wait, ticket = alone.begin(alone.keys("satpam", "198.51.100.1"))
    assert wait == 0
    alone.succeeded(ticket)
    assert alone.wait(alone.keys("satpam", "198.51.100.1")) == 0  # the correct try was not held against it


@pytest.fixture
def served(console):
    """The console's office served by uvicorn on a loopback port in this process, with streams that last a minute
    (Starlette's TestClient delivers a response only when it is complete: a stream must be read as it comes)."""
    import threading

    import uvicorn

    from pintu.web.app import create_app
    from tests.mosquitto import free_port, wait_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(console.office.path, stream_s=60), host="127.0.0.1",
                                           port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_port(port, timeout=30)
        yield "http://127.0.0.1:%d" % port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize("end", ["logout", "password", "removed"])
def test_the_live_stream_ends_with_its_session(console, served, end):
    """A stream opened by a session stops when the session no longer holds (a logout or a new password from
    another browser of the account, a removed account): no event of the site is sent after that."""
    import httpx

    from pintu.registry import users

    def browser():
        return Browser(None, client=httpx.Client(base_url=served, follow_redirects=False, timeout=30))

    door, other = browser(), browser()
    assert door.login("satpam").status_code == 303 and other.login("satpam").status_code == 303
    after = console.data.store.last_event_id()
    with door.client.stream("GET", "/door/kantor/stream", params={"after": after}) as response:
        lines = response.iter_lines()
        assert next(lines) == "retry: 1000"  # the session was checked, the stream runs
        if end == "logout":
            assert other.post("/logout").status_code == 303
        elif end == "password":
            assert other.post("/account/password", {"old": PASSWORD, "new": "new-password-1",
                                                    "again": "new-password-1"}).status_code == 303
        else:
            users.remove_user(console.data, "satpam")
        checkin.admit(console.data, "kantor", PEOPLE["budi"][0])  # an event after the session ended
        sent = []
        for line in lines:  # ends when the server ends the stream (the old code went on for STREAM_S)
            sent.append(line)
            if line.startswith("id: "):
                break
    assert not [line for line in sent if line.startswith("id: ")], sent
    assert door.get("/door/kantor").status_code == 303  # the reconnecting page is sent to the login page


def test_the_session_cookie_carries_no_manual_check_result(console):
    """A "Tamu tanpa HP" check: the page shows its result (the NIK's last four digits and the verdict), but the
    session cookie, signed yet readable by anyone who sees it, carries only the opaque token of the check."""
    from itsdangerous import URLSafeTimedSerializer

    from pintu.data.datadir import session_key
    from pintu.web.auth import Sessions

    nik = PEOPLE["budi"][0]
    browser = Browser(console.app)
    browser.login("satpam")
    assert browser.post("/door/kantor/manual/check", {"nik": nik}).status_code == 303
    assert nik[-4:] in browser.get("/door/kantor").text  # the guard sees the result
    cookie = browser.client.cookies.get("pintu_session")
    assert set(Sessions(session_key(console.office.path)).read(cookie)) == {"u", "n", "c", "m"}
    _, readable = URLSafeTimedSerializer(b"not-the-key").loads_unsafe(cookie)  # what anyone reads without the key
    assert set(readable) == {"u", "n", "c", "m"}
    assert not [value for key, value in readable.items() if key != "m" and nik[-4:] in str(value)]
    assert browser.post("/door/kantor/manual/admit").status_code == 303  # the token still admits
    assert events.list_events(console.data, "kantor", limit=1)[0]["verdict"] == "GREEN"


def test_expired_manual_checks_are_purged_at_every_use_and_bounded(console):
    """A checked NIK is kept TTL_S at most: the next request that touches the waiting checks (a door page) drops it,
    not only the next check; and a flood of checks keeps at most MAX, the oldest dropped first."""
    from pintu.web.manual import ManualChecks

    clock = FakeClock()
    waiting = console.app.state.console.manual = ManualChecks(clock=clock, limit=3)
    browser = Browser(console.app)
    browser.login("satpam")
    assert browser.post("/door/kantor/manual/check", {"nik": PEOPLE["budi"][0]}).status_code == 303
    assert len(waiting._checks) == 1
    clock.now += waiting.ttl_s + 1
    page = browser.get("/door/kantor")  # a page view, no new check
    assert page.status_code == 200 and PEOPLE["budi"][0][-4:] not in page.text
    assert len(waiting._checks) == 0  # the raw NIK is gone from memory
    assert browser.post("/door/kantor/manual/admit").status_code == 303  # answered too late
    assert events.list_events(console.data, "kantor", verdict="GREEN") == []  # an expired check admits nobody
    tokens = [waiting.put("32750101018%05d" % i, "kantor", 1, "r%d" % i) for i in range(5)]
    assert len(waiting._checks) == 3
    assert [waiting.result(t, "kantor", 1) for t in tokens] == [None, None, "r2", "r3", "r4"]
    assert waiting.take(tokens[4], "pasar", 1) is None and waiting.take(tokens[3], "kantor", 2) is None  # not theirs
    assert waiting.take(tokens[2], "kantor", 1) == "3275010101800002"


def test_the_door_page_tells_nothing_of_other_sites_events(console):
    """The door page's starting point for the live stream is the newest event of its own site, not a count of
    every site's events."""
    import re

    first = black_events(console)  # kantor's, then pasar's (newer)
    checkin.admit(console.data, "pasar", PEOPLE["budi"][0])
    browser = Browser(console.app)
    browser.login("satpam")
    after = int(re.search(r'data-after="(\d+)"', browser.get("/door/kantor").text).group(1))
    assert after == first["kantor"] < console.data.store.last_event_id()


def test_a_removed_accounts_session_never_opens_a_later_account(console):
    """A guard's account removed, then a new account added: SQLite would give the new row the removed one's id (a
    rowid is max + 1), and the removed guard's old cookie, naming that id and session number, would log in as the new
    account — a city admin here. Account ids are never reused."""
    from pintu.registry import users

    names = [u["name"] for u in users.list_users(console.data)]
    last = max(names, key=lambda name: users.find_user(console.data, name)["id"])
    old = console.browser()
    assert old.login(last).status_code == 303 and old.get("/account").status_code == 200
    users.remove_user(console.data, last)
    users.add_user(console.data, "walikota", users.CITY_ADMIN, PASSWORD)
    assert old.get("/city").status_code in (303, 404)  # to the login page (or nothing): never the city view
    assert old.get("/account").status_code == 303
