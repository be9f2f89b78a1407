"""The PostgreSQL store: the tables, SQL and transactional guarantees of the SQLite store (store.py), for deployments
with several `pintu serve` workers on several machines sharing one database.

The guarantees, kept the way SQLite keeps them:
- One writer at a time. Every write() first takes one transaction-level advisory lock, so the write transactions of
  every worker on every machine run one after the other exactly as SQLite's single writer runs them: a
  read-then-write (capacity, frame counters, one decision per scan id) cannot race another. The lock ends with the
  transaction, also when a worker dies (the server ends its session). Simple and correct; a door decision is a few
  milliseconds, so one lock serves hundreds of decisions a second (bench/end_to_end.py).
- Reads outside write() are single statements in autocommit, as SQLite's are.
- Driver errors come out as the sqlite3 exception classes the callers already handle (subclasses below): a storage
  failure fails the decision closed on either backend.
Connections come from one psycopg_pool per database URL and process; a connection broken by a PostgreSQL restart is
replaced, so a worker carries on (the decisions in between fail closed: the unit shows OFFLINE and resends).
"""

import re
import sqlite3
import threading
from contextlib import contextmanager

import psycopg
import psycopg_pool

from pintu.data import dialect, schema
from pintu.data.batching import BatchSupport, Joined
from pintu.data.pg_rows import BoolAsInteger, row_factory
from pintu.data.sql_record import RecordSql
from pintu.data.sql_registry import RegistrySql
from pintu.data.sql_users import UserSql
from pintu.errors import PintuError

PG = dialect.POSTGRESQL
# The advisory lock every write transaction holds (any constant both sides agree on: "pintu" in ASCII).
WRITE_LOCK = 0x70696E7475
POOL_MAX = 4  # a worker's gateway decides one batch at a time; the rest is the retention purge and CLI calls
CONNECT_TIMEOUT_S = 5
IDLE_IN_TRANSACTION_MS = 5000  # a decision holds the lock for milliseconds; a bulk import's batch for well under this


class IntegrityError(sqlite3.IntegrityError):
    """A constraint PostgreSQL refused (a duplicate key, an open visit twice), as the data layer's callers know it."""


class OperationalError(sqlite3.OperationalError):
    """PostgreSQL unreachable, restarting, or the write lock not had in time."""


class DatabaseError(sqlite3.DatabaseError):
    """Any other error PostgreSQL reported."""


def redact(url):
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


@contextmanager
def _translated():
    try:
        yield
    except psycopg.IntegrityError as e:
        raise IntegrityError(_first_line(e)) from e
    except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as e:
        raise OperationalError("database is locked (%s)" % _first_line(e)) from e
    except psycopg.OperationalError as e:  # PoolTimeout included
        raise OperationalError(_first_line(e) or "PostgreSQL unreachable") from e
    except psycopg.Error as e:
        raise DatabaseError(_first_line(e)) from e


def _first_line(exc):
    return (str(exc).strip().splitlines() or [""])[0]


def _configure(conn):
    conn.adapters.register_dumper(bool, BoolAsInteger)
    conn.row_factory = row_factory


_pools = {}  # url -> [pool, number of open stores using it]
_pools_lock = threading.Lock()


def _open_pool(url):
    with _pools_lock:
        entry = _pools.get(url)
        if entry is None:
            pool = psycopg_pool.ConnectionPool(
                # Not checked before each use (a round trip per statement): a connection broken by a PostgreSQL
                # restart fails its one decision closed (the unit resends) and the pool replaces it.
                url, min_size=1, max_size=POOL_MAX, open=False, configure=_configure, name="pintu",
                # ClientCursor: parameters bound as SQLite binds them, so untyped ones (a NULL in COALESCE) need no cast
                kwargs={"autocommit": True, "cursor_factory": psycopg.ClientCursor,
                        "connect_timeout": CONNECT_TIMEOUT_S,
                        # A database that vanished (its machine, the network) is noticed in seconds, not hours.
                        "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
                        # A worker cut off while holding the write lock must not stop every other worker: the
                        # server ends its transaction (and the lock) when it has been idle this long.
                        "options": "-c idle_in_transaction_session_timeout=%d" % IDLE_IN_TRANSACTION_MS},
            )
            try:
                pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            except psycopg_pool.PoolTimeout:
                pool.close()
                raise PintuError("cannot reach PostgreSQL at %s" % redact(url)) from None
            entry = _pools[url] = [pool, 0]
        entry[1] += 1
        return entry[0]


def _close_pool(url):
    with _pools_lock:
        entry = _pools.get(url)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            del _pools[url]
            entry[0].close()


def discard_pool(url):
    """Close url's pool whoever still holds it (its database is being dropped)."""
    with _pools_lock:
        entry = _pools.pop(url, None)
    if entry is not None:
        entry[0].close()


class Result:
    """What a write statement tells: rows changed, and the new row's id for an INSERT (sqlite3's lastrowid)."""

    __slots__ = ("rowcount", "lastrowid")

    def __init__(self, rowcount, lastrowid):
        self.rowcount = rowcount
        self.lastrowid = lastrowid


class PgStore(BatchSupport, RegistrySql, RecordSql, UserSql):
    """A database in PostgreSQL. One PgStore per thread, like Store; connections come from the process's pool."""

    backend = PG

    def __init__(self, url, timeout=10.0):
        self.location = url
        self._timeout = timeout
        self._pool = _open_pool(url)
        self._conn = None  # the connection of the open write transaction
        self._depth = 0
        self._deferred = ""  # statements with no result, sent in front of the transaction's next one (_soon)
        try:
            version = self.schema_version()
            if version > schema.SCHEMA_VERSION:
                raise PintuError("%s has schema version %d; this pintu knows %d"
                                 % (redact(url), version, schema.SCHEMA_VERSION))
            if 0 < version < schema.SCHEMA_VERSION:
                self._migrate()
        except BaseException:
            self.close()
            raise

    def close(self):
        if self._pool is not None:
            self._pool = None
            _close_pool(self.location)

    # -- schema

    def schema_version(self):
        if self._one("SELECT to_regclass('pintu_schema')")[0] is None:
            return 0
        return self._one("SELECT version FROM pintu_schema")[0]

    def create_schema(self):
        """The tables of an empty database, in one transaction. Refuses a database that holds pintu data already:
        its NIK hashes and cards belong to another data directory's keys."""
        with self.write():
            if self.schema_version():
                raise PintuError("%s already holds pintu data" % redact(self.location))
            self._script(dialect.step_sql(schema.SCHEMA, PG))
            self._script(dialect.POSTGRESQL_EXTRA)
            for step in sorted(schema.MIGRATIONS):
                self._script(dialect.step_sql(schema.MIGRATIONS[step], PG))
            self._script("CREATE TABLE pintu_schema (version BIGINT NOT NULL);"
                         "INSERT INTO pintu_schema VALUES (%d);" % schema.SCHEMA_VERSION)

    def _migrate(self):
        """Bring the database to this pintu's version; the write lock makes one of several starting workers do it."""
        with self.write():
            version = self.schema_version()
            for step in sorted(v for v in schema.MIGRATIONS if v > version):
                self._script(dialect.step_sql(schema.MIGRATIONS[step], PG))
            self._run("UPDATE pintu_schema SET version = ?", (schema.SCHEMA_VERSION,))

    def checkpoint(self):
        """SQLite's write-ahead log has no counterpart to copy here."""

    def background_checkpoints(self):
        """The server checkpoints by itself (store.py's is for SQLite). -> None."""
        return None

    # -- transactions

    def row_write(self):
        """A write transaction that changes one row only, serialised by that row's own lock (its first statement
        must write the row): frame counters, so that they do not queue behind decisions for the write lock."""
        return self.write(lock=False)

    def write(self, rollback=False, lock=True):
        """One write transaction holding the write lock (see the module's doc). Nested uses join the outer one (a
        storage error in one fails all of it: the server has aborted it; batching.py); rollback=True discards
        everything (dry runs)."""
        return Joined(self) if self._depth else self._transaction(rollback, lock)

    @contextmanager
    def _transaction(self, rollback, lock):
        conn = self._borrow()
        try:
            with _translated():
                # One round trip. Waiting longer than a SQLite writer would fails the decision closed, as SQLite's
                # busy timeout does (lock_timeout 0 would mean forever).
                take = " SELECT pg_advisory_xact_lock(%d)" % WRITE_LOCK if lock else ""
                conn.execute("BEGIN; SET LOCAL lock_timeout = %d;%s" % (max(1, int(self._timeout * 1000)), take))
        except BaseException:
            self._give_back(conn)
            raise
        self._conn, self._depth, self._deferred = conn, 1, ""
        self._transaction_began()
        try:
            yield self
            if self._doomed is not None:
                raise self._doomed
        except BaseException:
            self._conn, self._depth, self._deferred = None, 0, ""
            self.forget_cached()
            try:
                if not conn.broken:
                    conn.execute("ROLLBACK")
            except psycopg.Error:
                pass  # the server ended the transaction itself; the real error follows
            finally:
                self._give_back(conn)
            raise
        deferred = self._deferred
        self._conn, self._depth, self._deferred = None, 0, ""
        try:
            with _translated():
                conn.execute(deferred + ("ROLLBACK" if rollback else "COMMIT"))
        except BaseException:
            self.forget_cached()  # a COMMIT that failed rolled back
            raise
        finally:
            if rollback:
                self.forget_cached()
            self._give_back(conn)

    def _borrow(self):
        if self._pool is None:
            raise OperationalError("the database is closed")
        with _translated():
            return self._pool.getconn(timeout=CONNECT_TIMEOUT_S)

    def _give_back(self, conn):
        pool = self._pool or _pools.get(self.location, [None])[0]
        if pool is not None:
            pool.putconn(conn)
        else:
            conn.close()

    @contextmanager
    def _connection(self):
        if self._conn is not None:
            yield self._conn
            return
        conn = self._borrow()
        try:
            yield conn
        finally:
            self._give_back(conn)

    # -- the statements of sql_registry.py and sql_record.py

    def _soon(self, sql):
        """A statement with no result (SAVEPOINT, RELEASE) inside a write transaction: sent in the same round trip
        as the transaction's next statement (its error, if any, fails that one and so the transaction)."""
        if self._conn is None:
            self._run(sql)
        else:
            self._deferred += sql + "; "

    def _execute(self, conn, sql, args):
        if not self._deferred or conn is not self._conn:
            return conn.execute(dialect.placeholders(sql), tuple(args))
        deferred, self._deferred = self._deferred, ""
        cur = conn.execute(dialect.placeholders(deferred + sql), tuple(args))
        while cur.nextset():  # the results of the deferred statements come first; the caller's is the last
            pass
        return cur

    def _flush(self, conn):
        if self._deferred and conn is self._conn:
            deferred, self._deferred = self._deferred, ""
            conn.execute(deferred)

    def _one(self, sql, args=()):
        with self._connection() as conn, _translated():
            return self._execute(conn, sql, args).fetchone()

    def _all(self, sql, args=()):
        with self._connection() as conn, _translated():
            return self._execute(conn, sql, args).fetchall()

    def _run(self, sql, args=()):
        with self._connection() as conn, _translated():
            returning = dialect.returning_id(sql)
            cur = self._execute(conn, returning, args)
            lastrowid = cur.fetchone()[0] if returning != sql and cur.rowcount == 1 else None
            return Result(cur.rowcount, lastrowid)

    def _returning(self, sql, args=()):
        """An UPDATE ... RETURNING: the first row it returns, or None."""
        return self._one(sql, args)

    def _many(self, sql, rows):
        with self._connection() as conn, _translated(), conn.cursor() as cur:
            self._flush(conn)
            cur.executemany(dialect.placeholders(sql), [tuple(row) for row in rows])

    def _script(self, sql):
        """Several statements at once, inside the caller's transaction (a trigger's body keeps its semicolons)."""
        with self._connection() as conn, _translated():
            self._flush(conn)
            conn.execute(sql)

    def tables(self):
        return [row[0] for row in self._all(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " ORDER BY table_name")]

    def dump(self):
        """Every row of every table as text (the counterpart of SQLite's .dump): used to audit what is stored."""
        lines = []
        for table in self.tables():
            for row in self._all('SELECT * FROM "%s"' % table):
                lines.append("INSERT INTO %s VALUES(%s);" % (table, ",".join(_literal(v) for v in row)))
        return "\n".join(lines)


def _literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, (bytes, memoryview)):
        return "X'%s'" % bytes(value).hex().upper()
    if isinstance(value, str):
        return "'%s'" % value.replace("'", "''")
    return str(value)
