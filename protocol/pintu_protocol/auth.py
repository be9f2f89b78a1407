"""HMAC-SHA256 and the truncated frame tag, built on hashlib alone (MicroPython has no hmac for sha256)."""

import hashlib

KEY_LEN = 32  # each unit's own 256-bit key
TAG_LEN = 8  # truncated HMAC-SHA256: 64 bits; a forger needs ~2**63 online tries at serial or MQTT speed
_BLOCK = 64  # SHA-256 block size


class Signer:
    """HMAC-SHA256 under one key, with the padded keys computed once (no hash .copy() on MicroPython)."""

    def __init__(self, key):
        key = bytes(key)
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key + bytes(_BLOCK - len(key))
        self._ipad = bytes(b ^ 0x36 for b in key)
        self._opad = bytes(b ^ 0x5C for b in key)

    def digest(self, data):
        inner = hashlib.sha256(self._ipad)
        inner.update(data)
        outer = hashlib.sha256(self._opad)
        outer.update(inner.digest())
        return outer.digest()

    def tag(self, data):
        return self.digest(data)[:TAG_LEN]

    def verify(self, data, tag):
        return compare_digest(self.tag(data), tag)


def hmac_sha256(key, data):
    return Signer(key).digest(data)


def compare_digest(a, b):
    """Constant-time for equal lengths: every byte is looked at whatever the first difference."""
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0
