"""What deciding many frames in one transaction needs from a store (the gateway's group commit): savepoints, the
registry rows a decision reads cached between transactions, and sweeps done once per transaction.

A mixin of Store and PgStore: they call _transaction_began() after their BEGIN and _failed() when a statement of
a joined (nested) write fails. Nothing outside data/ writes SQL.

The cache. Sites, doors and devices change when an operator changes them, not at every scan; a decision used to read
all three rows every time. Now they are kept in memory and trusted only while the row of registry_generation has the
number it had when they were read: triggers on those tables (schema step 5) add one to it in the operator's own
transaction, whichever process or worker that is, and every write transaction reads it once before its first cached
row. So `pintu site set kantor --capacity 5` applies at the next scan that starts after it committed, on any worker.
PRAGMA data_version would not do: every commit (every decision of another worker) changes it, so with several workers
the cache would be emptied all the time; and PostgreSQL has nothing like it. What changes at every scan (a site's
count inside, a device's frame counters and last_seen) is left out of the triggers and never read from the cache.
"""

import math
import sqlite3
from contextlib import contextmanager

_CACHED = {
    "sites": "SELECT * FROM sites WHERE id = ?",
    "doors": "SELECT * FROM doors WHERE id = ?",
    "devices": "SELECT id, door_id, key, revoked FROM devices WHERE id = ?",
}


class Joined:
    """A write() inside another: it joins the open transaction (no generator: this runs several times per frame). A
    storage error raised through it fails the whole transaction (BatchSupport._failed)."""

    __slots__ = ("store",)

    def __init__(self, store):
        self.store = store

    def __enter__(self):
        store = self.store
        if store._doomed is not None:
            raise store._doomed
        store._depth += 1
        return store

    def __exit__(self, kind, error, traceback):
        self.store._depth -= 1
        if kind is not None and issubclass(kind, sqlite3.Error):
            self.store._failed(error)
        return False


class BatchSupport:
    _doomed = None  # the storage error that ended the open transaction: everything in it fails
    _generation = None
    _checked = False  # registry_generation read in this transaction
    _rows = None
    _swept = None

    def _transaction_began(self):
        self._doomed = None
        self._checked = False
        self._swept = {}

    def _failed(self, error):
        """A statement inside a joined write failed: the whole transaction will be rolled back, whoever caught the
        error (decide_scan turns it into a host fault); nothing more may run in it (SQLite may have rolled back
        already, and the next statement would then commit on its own)."""
        if self._doomed is None:
            self._doomed = error

    @property
    def doomed(self):
        return self._doomed

    @contextmanager
    def savepoint(self):
        """Inside write(): a part (one decision) whose writes are undone alone if it raises anything but a storage
        error; a storage error fails the whole transaction (see _failed)."""
        self._soon("SAVEPOINT part")
        try:
            yield self
        except sqlite3.Error as e:
            self._failed(e)
            raise
        except BaseException:
            self._run("ROLLBACK TO part")
            self._soon("RELEASE part")
            self._swept = {}  # a rolled-back sweep is to be done again
            self.forget_cached()
            raise
        if self._doomed is not None:  # failed inside, and caught there (decide_scan's host fault)
            raise self._doomed
        self._soon("RELEASE part")

    # -- the registry rows a decision reads

    def cached(self, table, key):
        """The row of sites, doors or devices (id, door_id, key, revoked only) with this id, or None. Inside a write
        transaction the generation is read once; outside one, at every call."""
        if not self._checked or not self._depth:
            generation = self._one("SELECT n FROM registry_generation")[0]
            if generation != self._generation or self._rows is None:
                self._rows = {}
                self._generation = generation
            self._checked = self._depth > 0
        row = self._rows.get((table, key))
        if row is None:
            row = self._one(_CACHED[table], (key,))
            if row is not None:  # unknown ids are not kept: junk claiming ever new ids must not fill memory
                self._rows[(table, key)] = row
        return row

    def forget_cached(self):
        """This connection changed the registry: its own next read must not wait for the generation check. Also at
        every rollback (whole or to a savepoint): rows read through the cache inside a transaction that did not
        commit may be ones it changed itself; the generation it counted up went back with it, and another process's
        next change would make that number true again, for rows that never were."""
        self._rows = None
        self._checked = False

    # -- sweeps done once per transaction

    def _sweep_done(self, kind, site_id, bound):
        """True if this transaction already swept site_id up to at least bound (then the same sweep would change
        nothing: rows made since are recorded by _swept_below). Else remembers bound."""
        if self._depth == 0 or self._swept is None:
            return False
        key = (kind, site_id)
        if self._swept.get(key, -math.inf) >= bound:
            return True
        self._swept[key] = bound
        return False

    def _swept_below(self, kind, site_id, value):
        """A row was written that a sweep up to its bound would take (a visit begun, a hold made before it)."""
        if self._swept and self._swept.get((kind, site_id), -math.inf) > value:
            del self._swept[(kind, site_id)]
