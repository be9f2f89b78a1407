"""The connection to the database and its transactions; the SQL itself is in sql_registry.py and sql_record.py.

Nothing outside data/ writes SQL. Rows come back as sqlite3.Row (mapping-like); callers never see cursors.
"""

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

from pintu.data import dialect, schema
from pintu.data.batching import BatchSupport, Joined
from pintu.data.sql_record import RecordSql
from pintu.data.sql_registry import RegistrySql
from pintu.data.sql_users import UserSql
from pintu.errors import PintuError

# A waiting writer retries for this long before the decision fails closed (R_HOST_FAULT).
BUSY_TIMEOUT_S = 10.0
# How often a writer waiting for the lock tries again. SQLite's own busy handler backs off to 100 ms between tries,
# so a door decision could lose every try to a bulk import that releases the lock for a few milliseconds between
# its transactions (issue 15: a decision waited 8.3 s); trying every half millisecond finds those gaps.
LOCK_POLL_S = 0.0005
# How often the gateway's checkpointer copies the write-ahead log into the database (Checkpointer).
CHECKPOINT_EVERY_S = 0.1
# SQLite's own default: a connection's COMMIT checkpoints once the log holds this many pages.
AUTO_CHECKPOINT_PAGES = 1000
CHECKPOINT_AFTER_PAGES = AUTO_CHECKPOINT_PAGES  # the Checkpointer's threshold: the same

log = logging.getLogger("pintu.store")


def _why_not_writable(path):
    """A hint for an operator when the database will not open: SQLite only says "unable to open database file"."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return " (the file system holding it is read-only)"
    except OSError:
        return ""
    if not os.access(folder, os.W_OK) or not os.access(path, os.W_OK):
        return " (it or its folder is not writable)"
    return ""


class Store(BatchSupport, RegistrySql, RecordSql, UserSql):
    """One connection to an SQLite database. Use one Store per thread or process. (pg_store.PgStore is the same for
    PostgreSQL; open_database() picks one by location.)"""

    backend = dialect.SQLITE

    def __init__(self, path, timeout=BUSY_TIMEOUT_S):
        self.path = self.location = os.fspath(path)
        old_umask = os.umask(0o077)  # the -wal and -shm files SQLite creates stay owner-only
        try:
            self._db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as e:
            raise PintuError("cannot open %s: %s%s" % (path, e, _why_not_writable(path))) from None
        finally:
            os.umask(old_umask)
        # WAL + NORMAL: a commit survives a crash of the process; only a power cut may lose the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (a purge) are overwritten, not left readable in free pages of the file.
        self._db.execute("PRAGMA secure_delete=ON")
        self._depth = 0
        self._checkpointers = 0
        self._checkpointers_lock = threading.Lock()
        self._timeout = timeout
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.SCHEMA_VERSION:
            raise PintuError(
                "%s has schema version %d; this pintu knows %d" % (path, version, schema.SCHEMA_VERSION)
            )
        if 0 < version < schema.SCHEMA_VERSION:
            self._migrate()

    def close(self):
        self._db.close()

    def create_schema(self):
        steps = "".join(dialect.step_sql(schema.MIGRATIONS[v], dialect.SQLITE) for v in sorted(schema.MIGRATIONS))
        version = "PRAGMA user_version=%d;" % schema.SCHEMA_VERSION
        self._db.executescript("BEGIN;" + schema.SCHEMA + steps + version + "COMMIT;")

    def _migrate(self):
        """Bring an older database up to the current version in one transaction. BEGIN IMMEDIATE and a second look at
        the version make it safe when several workers open one database at once: one migrates, the others see it."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self.schema_version()
            for step in sorted(v for v in schema.MIGRATIONS if v > version):
                for statement in _statements(dialect.step_sql(schema.MIGRATIONS[step], dialect.SQLITE)):
                    self._db.execute(statement)
            self._db.execute("PRAGMA user_version=%d" % schema.SCHEMA_VERSION)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def checkpoint(self):
        """Copy the write-ahead log into the database now (PASSIVE: waits for nobody). A bulk writer calls this
        between its transactions, so the next door decision's commit does not inherit a large checkpoint."""
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def schema_version(self):
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def background_checkpoints(self):
        """Hand this connection's checkpoints to a thread of their own until close() of what is returned (the
        gateway's decider does, for as long as frames flow). SQLite otherwise runs one inside a COMMIT every 1,000
        pages: a copy and an fsync of several milliseconds that every frame of that batch waited for (it was the p99
        of the open-loop bench/decide.py at 500 scans/s: 4 ms, 0.9 ms without)."""
        with self._checkpointers_lock:
            self._checkpointers += 1
            self._db.execute("PRAGMA wal_autocheckpoint=0")
        return Checkpointer(self.path, on_close=self._checkpointer_closed).start()

    def _checkpointer_closed(self):
        with self._checkpointers_lock:  # a decider ending while the next one starts: the last one out restores
            self._checkpointers -= 1
            if self._checkpointers:
                return
            try:
                self._db.execute("PRAGMA wal_autocheckpoint=%d" % AUTO_CHECKPOINT_PAGES)
            except sqlite3.Error:
                pass  # closed meanwhile: nothing left to checkpoint from here

    def row_write(self):
        """A write transaction that changes one row (pg_store.py has a lighter one); here simply write()."""
        return self.write()

    def write(self, rollback=False):
        """One write transaction, taken at once (BEGIN IMMEDIATE) so a read-then-write cannot race another
        connection. Nested uses join the outer transaction; a storage error in one fails the outer one too, whoever
        catches it (batching.py). rollback=True discards everything (dry runs)."""
        return Joined(self) if self._depth else self._transaction(rollback)

    @contextmanager
    def _transaction(self, rollback):
        self._begin_immediate()
        self._transaction_began()
        self._depth = 1
        try:
            yield self
            if self._doomed is not None:
                raise self._doomed
            if rollback:
                self.forget_cached()
            self._db.execute("ROLLBACK" if rollback else "COMMIT")
        except BaseException:
            self.forget_cached()
            # SQLite may have rolled back already (SQLITE_FULL does): a second ROLLBACK would fail with "no
            # transaction is active" and hide the real error from the log. A COMMIT that failed (disk full, I/O
            # error) may leave the transaction open: it is rolled back, so the next BEGIN works.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    def _begin_immediate(self):
        """BEGIN IMMEDIATE, trying every LOCK_POLL_S until the connection's timeout (then the usual "database is
        locked" error, which fails the decision closed)."""
        deadline = time.monotonic() + self._timeout
        self._db.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    if time.monotonic() >= deadline:
                        raise
                time.sleep(LOCK_POLL_S)
        finally:
            self._db.execute("PRAGMA busy_timeout = %d" % int(self._timeout * 1000))

    def _one(self, sql, args=()):
        return self._db.execute(sql, args).fetchone()

    def _all(self, sql, args=()):
        return self._db.execute(sql, args).fetchall()

    def _run(self, sql, args=()):
        return self._db.execute(sql, args)

    def _soon(self, sql):
        """A statement with no result (SAVEPOINT, RELEASE): run now (pg_store.py sends it with the next one)."""
        self._db.execute(sql)

    def _returning(self, sql, args=()):
        """An UPDATE ... RETURNING (SQLite 3.35 or newer): the first row it returns, or None. Read to the end, so
        the statement is finished before the transaction goes on."""
        rows = self._db.execute(sql, args).fetchall()
        return rows[0] if rows else None

    def _many(self, sql, rows):
        self._db.executemany(sql, rows)

    def tables(self):
        return [row[0] for row in self._all("SELECT name FROM sqlite_master WHERE type = 'table'"
                                            " AND name NOT LIKE 'sqlite_%' ORDER BY name")]


class Checkpointer:
    """Copies the write-ahead log into the database every CHECKPOINT_EVERY_S from a connection and thread of its own
    (PASSIVE: it waits for nobody and nobody waits for it; SQLite releases the GIL meanwhile), once the log has grown
    to the CHECKPOINT_AFTER_PAGES at which SQLite would have: until then the log grows as it always did (a full disk
    refuses the next write, tests/reliability/test_storage.py), and a small database is not copied for nothing."""

    def __init__(self, path, every_s=CHECKPOINT_EVERY_S, on_close=None):
        self.path = path
        self.every_s = every_s
        self.on_close = on_close
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pintu checkpoints", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def close(self):
        """Stop after one last checkpoint; the connection that handed its checkpoints over runs its own again."""
        self._stop.set()
        self._thread.join()
        if self.on_close is not None:
            self.on_close()

    def _run(self):
        db, said, threshold = None, False, None
        while True:
            stopping = self._stop.wait(self.every_s)
            try:
                if db is None:
                    db = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
                    threshold = CHECKPOINT_AFTER_PAGES * db.execute("PRAGMA page_size").fetchone()[0]
                if _size(self.path + "-wal") >= threshold:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                said = False
            except sqlite3.Error as e:  # tried again at the next interval; the decisions themselves go on
                if not said:
                    log.warning("checkpoint failed (%s); retrying", e)
                    said = True
            if stopping:
                break
        if db is not None:
            db.close()


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def open_database(location, timeout=BUSY_TIMEOUT_S):
    """The store for a database: a postgresql:// URL opens PostgreSQL (pg_store.py), anything else is an SQLite file.
    psycopg is imported only then: an SQLite host never loads it."""
    if is_database_url(location):
        from pintu.data.pg_store import PgStore

        return PgStore(location, timeout=timeout)
    return Store(location, timeout=timeout)


def is_database_url(text):
    return str(text).startswith(("postgresql://", "postgres://"))


def _statements(script):
    """Split SQL text into whole statements (a trigger's body keeps its own semicolons): executescript() would
    commit the transaction a migration must run in."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                yield statement
            statement = ""
