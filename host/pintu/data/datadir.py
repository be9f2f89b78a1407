"""The host's data directory opened for use: the database plus the two secret keys (NIK hashing, card signing).

The database is pintu.db in the folder (SQLite, the default) or a PostgreSQL database named by the URL in the
folder's config.json (`pintu init --database postgresql://...`). The keys stay in the folder either way: whoever holds
only the database cannot hash a NIK or sign a card. config.json is owner-only (the URL may carry a password)."""

import json
import os

from pintu.data import store as store_mod
from pintu.data.files import private_dir, write_private
from pintu.data.trust import TrustStore
from pintu.errors import PintuError
from pintu.rules.credentials import Issuer, new_key
from pintu.rules.nik import KEY_LEN, NikHasher

DB_NAME = "pintu.db"
CONFIG_NAME = "config.json"
NIK_KEY_NAME = "nik.key"
ISSUING_KEY_NAME = "issuing.key"
SESSION_KEY_NAME = "session.key"  # signs the web console's session cookies (pintu/web/auth.py)
SESSION_KEY_LEN = 32
DEFAULT_DATA = "./pintu-data"


def init_data_dir(data_dir, nik_key, issuing_key, database=None):
    """Create the data directory (0700), its key files (0600) and its database: pintu.db, or the tables in the
    PostgreSQL database at the URL `database` (which must hold no pintu data yet). Returns False if the directory
    had a database already (then `database`, if given, must be the one it has)."""
    db_path = os.path.join(data_dir, DB_NAME)
    existing = database_of(data_dir)
    if existing is not None:
        if database is not None and database != existing:
            raise PintuError("%s already has a database (%s)" % (data_dir, _shown(existing)))
        return False
    if database is not None and not store_mod.is_database_url(database):
        raise PintuError("--database takes a postgresql://USER@HOST:PORT/NAME URL, not %r" % database)
    private_dir(data_dir)
    for name, data in ((NIK_KEY_NAME, nik_key), (ISSUING_KEY_NAME, issuing_key)):
        path = os.path.join(data_dir, name)
        if not os.path.exists(path):
            write_private(path, data)
    if database is None:
        write_private(db_path, b"")
    store = store_mod.open_database(database or db_path)
    try:
        store.create_schema()
    finally:
        store.close()
    if database is not None:  # written last: a folder with a config names a database that has its tables
        write_private(os.path.join(data_dir, CONFIG_NAME), json.dumps({"database": database}, indent=1) + "\n")
    return True


def migrate_to(data_dir, url):
    """Copy the data directory's SQLite database into the empty PostgreSQL database at url; from then on the
    directory opens PostgreSQL (transfer.py). Stop every `pintu serve` first: what they write meanwhile stays behind.
    -> {table: rows copied}."""
    from pintu.data import transfer

    if not store_mod.is_database_url(url):
        raise PintuError("--to takes a postgresql://USER@HOST:PORT/NAME URL, not %r" % url)
    db_path = os.path.join(data_dir, DB_NAME)
    if not os.path.exists(db_path) and not os.path.exists(os.path.join(data_dir, CONFIG_NAME)):
        raise PintuError("no pintu data in %s (run `pintu init` first)" % data_dir)
    return transfer.migrate_data_dir(data_dir, url, CONFIG_NAME, lambda: store_mod.Store(db_path),
                                     store_mod.open_database)


def database_of(data_dir):
    """The data directory's database: a PostgreSQL URL, the SQLite file's path, or None when it has none yet."""
    config = os.path.join(data_dir, CONFIG_NAME)
    if os.path.exists(config):
        try:
            with open(config) as f:
                url = json.load(f)["database"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PintuError("cannot read %s: %s" % (config, exc)) from None
        if not isinstance(url, str) or not store_mod.is_database_url(url):
            raise PintuError("%s: \"database\" is not a postgresql:// URL" % config)
        return url
    db_path = os.path.join(data_dir, DB_NAME)
    return db_path if os.path.exists(db_path) else None


def _shown(database):
    from pintu.data.pg_store import redact

    return redact(database) if store_mod.is_database_url(database) else database


def read_key_file(data_dir, name):
    path = os.path.join(data_dir, name)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise PintuError("cannot read %s: %s" % (path, exc.strerror)) from None


def session_key(data_dir):
    """The key that signs the console's sessions: read, or made owner-only on its first use (a data directory made
    before the console has none). Replacing the file ends every session."""
    path = os.path.join(data_dir, SESSION_KEY_NAME)
    if os.path.exists(path):
        key = read_key_file(data_dir, SESSION_KEY_NAME)
        if len(key) >= SESSION_KEY_LEN:
            return key
    key = os.urandom(SESSION_KEY_LEN)
    write_private(path, key)
    return key


def open_store(data_dir):
    database = database_of(data_dir)
    if database is None:
        raise PintuError("no pintu data in %s (run `pintu init` first)" % data_dir)
    return store_mod.open_database(database)


# A verified card token is remembered (in memory only) so that a regular's daily scan skips the signature check.
VERIFIED_CACHE_MAX = 65536


class DataDir:
    """Everything a library call needs: `store` (all SQL), `nik` (NikHasher), `issuer` (card signing) and `trust`
    (the EU certificate signers the operator imported).
    One DataDir per thread or process; it is a context manager that closes the database."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.store = open_store(self.path)
        nik_key = read_key_file(self.path, NIK_KEY_NAME)
        self.nik = NikHasher(nik_key)
        # EU certificate holders are keyed by HMAC of their certificate id under the same secret (another domain:
        # hc1.keyed_id prefixes its input), so occupancy and events never hold the id itself.
        self.id_key = nik_key
        self.trust = TrustStore(self.path)
        self.issuer = Issuer(read_key_file(self.path, ISSUING_KEY_NAME))
        self.verified = {}

    @classmethod
    def init(cls, path, database=None):
        """Create the data directory if needed; database: a postgresql:// URL (default: SQLite in the folder).
        -> (DataDir, created: bool)."""
        path = os.fspath(path)
        created = init_data_dir(path, os.urandom(KEY_LEN), new_key(), database)
        return cls(path), created

    def close(self):
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
