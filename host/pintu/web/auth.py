"""The console's sessions, form tokens and login throttle.

A session is a signed cookie (itsdangerous; the key is the data directory's session.key, data/datadir.py): the
account id, the account's session number (a new password, a logout or a removed account ends every older session)
and the form token (CSRF) of this session. It is HttpOnly, SameSite=Strict, Path=/ (and Secure over https), and
expires after IDLE_S without a request: every page refreshes it. A visitor who is not logged in gets a session with a
form token only, so the login form is protected as every other form is.
"""

import hmac
import secrets
import threading
import time
from collections import OrderedDict

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "pintu_session"
LANG_COOKIE = "pintu_lang"
IDLE_S = 30 * 60  # a console left alone for half an hour asks for the password again (OWASP: 15-30 min)
FORM_FIELD = "csrf"


def new_token():
    return secrets.token_urlsafe(24)


class Sessions:
    def __init__(self, key, idle_s=IDLE_S):
        self._signer = URLSafeTimedSerializer(key, salt="pintu-console-session")
        self.idle_s = idle_s

    def read(self, cookie):
        """-> the session dict {"u": user id or None, "n": session number, "c": form token}, or None."""
        if not cookie or len(cookie) > 4096:
            return None
        try:
            value = self._signer.loads(cookie, max_age=self.idle_s)
        except BadSignature:  # a tampered, foreign or expired cookie (SignatureExpired is a BadSignature)
            return None
        if not isinstance(value, dict) or not isinstance(value.get("c"), str):
            return None
        return value

    def make(self, user_row=None, token=None):
        """A new session: for an account (a new form token: a login never keeps the one seen before it) or for a
        visitor who is not logged in yet."""
        if user_row is None:
            return {"u": None, "n": 0, "c": token or new_token()}
        return {"u": user_row["id"], "n": user_row["sessions"], "c": new_token()}

    def dump(self, session):
        return self._signer.dumps(session)


def set_cookie(response, name, value, secure, max_age):
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure)


def token_ok(session, sent):
    """The form token sent with a POST matches the session's (compared in constant time)."""
    return (session is not None and isinstance(sent, str) and 0 < len(sent) <= 200
            and hmac.compare_digest(session["c"].encode(), sent.encode()))


class LoginThrottle:
    """After FREE_FAILURES failed logins for a name from an address, or from an address for any names, further tries
    of that key are refused for a delay that doubles with each failure, up to MAX_DELAY_S. The name's count is kept
    per (name, address): failures sent for a guard's name from somewhere else never lock the guard out (a known
    account name is no lockout switch), while the address that sent them is throttled. A correct login clears its
    (name, address) count, and a key without a failure for FORGET_S starts afresh (an office's shared address is not
    punished for last month's typos). Counts live in memory (one `pintu web` process); at most MAX_TRACKED keys are
    kept, the oldest dropped first.

    begin() checks and counts a try in one step under a lock (a try counts as failed until succeeded() takes it
    back): parallel tries cannot all pass one check while the password is being verified."""

    FREE_FAILURES = 5
    FIRST_DELAY_S = 2
    MAX_DELAY_S = 15 * 60
    FORGET_S = 3600
    MAX_TRACKED = 10000

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._failures = OrderedDict()  # key -> (count, blocked until, last failure)
        self._lock = threading.Lock()

    @staticmethod
    def keys(name, address):
        """The keys of a login try: the name from this address, and the address."""
        return [("name", name.casefold(), address), ("ip", address)]

    def wait(self, keys):
        """Seconds before another try is allowed for any of keys (0: now)."""
        with self._lock:
            return self._wait(keys, self._clock())

    def failed(self, keys):
        with self._lock:
            self._fail(keys, self._clock())

    def begin(self, keys):
        """-> (seconds to wait, None) when refused, else (0, ticket): the try is counted as failed until
        succeeded(ticket)."""
        with self._lock:
            now = self._clock()
            wait = self._wait(keys, now)
            if wait:
                return wait, None
            before = {key: self._failures.get(key) for key in keys}
            self._fail(keys, now)
            return 0, (before, {key: self._failures.get(key) for key in keys})

    def succeeded(self, ticket):
        """A correct login: its (name, address) count is cleared; the address's count goes back to what it was
        before this try, unless another try changed it meanwhile (then this try's failure stays counted: fail
        closed)."""
        before, after = ticket
        with self._lock:
            for key in before:
                if key[0] == "name":
                    self._failures.pop(key, None)
                elif self._failures.get(key) == after[key]:
                    self._failures.pop(key, None)
                    if before[key] is not None:
                        self._failures[key] = before[key]

    def _wait(self, keys, now):
        return max([0] + [int(self._failures[k][1] - now) + 1 for k in keys
                          if k in self._failures and self._failures[k][1] > now])

    def _fail(self, keys, now):
        for key in keys:
            count, _, last = self._failures.pop(key, (0, 0, now))
            count = 1 if now - last > self.FORGET_S else count + 1
            blocked = 0
            if count >= self.FREE_FAILURES:
                blocked = now + min(self.FIRST_DELAY_S * 2 ** (count - self.FREE_FAILURES), self.MAX_DELAY_S)
            self._failures[key] = (count, blocked, now)
            while len(self._failures) > self.MAX_TRACKED:
                self._failures.popitem(last=False)
