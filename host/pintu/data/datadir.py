"""The host's data directory opened for use: the database plus the two secret keys (NIK hashing, card signing)."""

import os

from pintu.data import store as store_mod
from pintu.data.files import private_dir, write_private
from pintu.data.trust import TrustStore
from pintu.errors import PintuError
from pintu.rules.credentials import Issuer, new_key
from pintu.rules.nik import KEY_LEN, NikHasher

DB_NAME = "pintu.db"
NIK_KEY_NAME = "nik.key"
ISSUING_KEY_NAME = "issuing.key"
DEFAULT_DATA = "./pintu-data"


def init_data_dir(data_dir, nik_key, issuing_key):
    """Create the data directory (0700), its database and key files (0600). Returns False if it already existed."""
    db_path = os.path.join(data_dir, DB_NAME)
    if os.path.exists(db_path):
        return False
    private_dir(data_dir)
    for name, data in ((NIK_KEY_NAME, nik_key), (ISSUING_KEY_NAME, issuing_key)):
        path = os.path.join(data_dir, name)
        if not os.path.exists(path):
            write_private(path, data)
    write_private(db_path, b"")
    store = store_mod.Store(db_path)
    try:
        store.create_schema()
    finally:
        store.close()
    return True


def read_key_file(data_dir, name):
    path = os.path.join(data_dir, name)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise PintuError("cannot read %s: %s" % (path, exc.strerror)) from None


def open_store(data_dir):
    db_path = os.path.join(data_dir, DB_NAME)
    if not os.path.exists(db_path):
        raise PintuError("no pintu data in %s (run `pintu init` first)" % data_dir)
    return store_mod.Store(db_path)


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
    def init(cls, path):
        """Create the data directory if needed. -> (DataDir, created: bool)."""
        path = os.fspath(path)
        created = init_data_dir(path, os.urandom(KEY_LEN), new_key())
        return cls(path), created

    def close(self):
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
