"""NIK (Indonesian 16-digit national id) validation and the keyed hash that is all the host ever stores of it."""

import hashlib
import hmac

from pintu.errors import PintuError

KEY_LEN = 32


def normalise_nik(text):
    """Return the NIK as 16 digits; spaces and dots that people type are dropped. Raises PintuError."""
    nik = "".join(str(text).split()).replace(".", "")
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        raise PintuError("malformed NIK (expected 16 digits)")
    return nik


def is_nik(text):
    try:
        normalise_nik(text)
    except PintuError:
        return False
    return True


class NikHasher:
    """HMAC-SHA256 under the data directory's secret key: an operator holding a NIK can find the person,
    but the stored hashes cannot be reversed by trying all 10^16 NIKs without the key."""

    def __init__(self, key):
        if len(key) != KEY_LEN:
            raise PintuError("NIK key must be %d bytes" % KEY_LEN)
        self._key = bytes(key)

    def hash(self, nik):
        return hmac.new(self._key, normalise_nik(nik).encode(), hashlib.sha256).digest()

    def hash_valid(self, nik):
        """Hash a NIK already known to be 16 digits (bulk import: skips re-validation)."""
        return hmac.new(self._key, nik.encode(), hashlib.sha256).digest()
