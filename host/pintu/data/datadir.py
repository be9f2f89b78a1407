"""The host's data directory opened for use: the database plus the two secret keys (NIK hashing, card signing)."""

import os

from pintu.data import store as store_mod
from pintu.data.trust import TrustStore
from pintu.rules.credentials import Issuer, new_key
from pintu.rules.nik import KEY_LEN, NikHasher

# A verified card token is remembered (in memory only) so that a regular's daily scan skips the signature check.
VERIFIED_CACHE_MAX = 65536


class DataDir:
    """Everything a library call needs: `store` (all SQL), `nik` (NikHasher), `issuer` (card signing) and `trust`
    (the EU certificate signers the operator imported).
    One DataDir per thread or process; it is a context manager that closes the database."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.store = store_mod.open_store(self.path)
        nik_key = store_mod.read_key_file(self.path, store_mod.NIK_KEY_NAME)
        self.nik = NikHasher(nik_key)
        # EU certificate holders are keyed by HMAC of their certificate id under the same secret (another domain:
        # hc1.keyed_id prefixes its input), so occupancy and events never hold the id itself.
        self.id_key = nik_key
        self.trust = TrustStore(self.path)
        self.issuer = Issuer(store_mod.read_key_file(self.path, store_mod.ISSUING_KEY_NAME))
        self.verified = {}

    @classmethod
    def init(cls, path):
        """Create the data directory if needed. -> (DataDir, created: bool)."""
        path = os.fspath(path)
        created = store_mod.init_data_dir(path, os.urandom(KEY_LEN), new_key())
        return cls(path), created

    def close(self):
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
