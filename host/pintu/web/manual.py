"""The "Tamu tanpa HP" checks waiting for the guard's Admit or Turn away: the checked NIK and the result shown on the
door page stay here, in the web process's memory, never in the page or the session cookie (which carries only the
opaque token; a signed cookie is readable by anyone who sees it). Every use purges the expired checks first (a raw
NIK is not kept past its TTL_S), and at most MAX checks wait at once, the oldest dropped first."""

import threading
import time
from collections import OrderedDict

from pintu.web import auth

TTL_S = 120  # a check must be answered within two minutes, by whoever made it
MAX = 1000  # checks waiting at once: a flood of them never grows the process


class ManualChecks:
    def __init__(self, clock=time.monotonic, ttl_s=TTL_S, limit=MAX):
        self._clock, self.ttl_s, self.limit = clock, ttl_s, limit
        self._checks = OrderedDict()  # token -> (nik, site, user id, result text, expires); oldest first
        self._lock = threading.Lock()

    def __len__(self):
        with self._lock:
            self._purge(self._clock())
            return len(self._checks)

    def put(self, nik, site, user_id, result):
        """-> the token the session keeps for this check."""
        with self._lock:
            now = self._clock()
            self._purge(now)
            while len(self._checks) >= self.limit:
                self._checks.popitem(last=False)
            token = auth.new_token()
            self._checks[token] = (nik, site, user_id, result, now + self.ttl_s)
            return token

    def result(self, token, site, user_id):
        """The result text of a waiting check of this account at this site, or None."""
        with self._lock:
            entry = self._find(token, site, user_id)
            return entry[3] if entry else None

    def take(self, token, site, user_id):
        """The NIK of a waiting check of this account at this site, or None; the check ends either way."""
        with self._lock:
            entry = self._find(token, site, user_id)
            if isinstance(token, str):
                self._checks.pop(token, None)
            return entry[0] if entry else None

    def _find(self, token, site, user_id):
        self._purge(self._clock())
        entry = self._checks.get(token) if isinstance(token, str) else None
        if entry is None or entry[1] != site or entry[2] != user_id:
            return None
        return entry

    def _purge(self, now):
        # Entries are in expiry order (one TTL for all): the expired ones are at the front.
        while self._checks and next(iter(self._checks.values()))[4] <= now:
            self._checks.popitem(last=False)
