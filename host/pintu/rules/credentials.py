"""Visitor credentials: Ed25519-signed tokens short enough for a small QR code, and reading what a door scanned.

A token is "PN1:" + base45(credential id (10 bytes) | issue day (u16, days since 1970) | signature (64 bytes)).
Base45 uses exactly the QR alphanumeric alphabet, so the whole text encodes in the QR's dense alphanumeric mode
(118 characters: a version 6 symbol). The signature covers b"PN1" + id + day, so a token cannot be replayed as any
other kind of signed message. The token carries no NIK and no name; who it belongs to, and whether it is revoked,
lives in the registry, so a new dose or a positive test applies at the next scan without a new card.
"""

import os
import struct
from collections import namedtuple

import base45
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pintu.errors import PintuError
from pintu_protocol.verdicts import R_FORGED, R_OK, R_UNREADABLE

PREFIX = "PN1:"
CRED_ID_LEN = 10
_BODY = struct.Struct(">%dsH" % CRED_ID_LEN)
SIG_LEN = 64
TOKEN_LEN = _BODY.size + SIG_LEN
KEY_LEN = 32

# What reading a scanned code gives: reason R_OK and either a credential id (PN1 cards) or, for a code that carries
# its own proof, a verified EU certificate (hc1.Certificate: doses, tests, recoveries, a keyed holder id and nothing
# personal); any other reason means INVALID.
Reading = namedtuple("Reading", ("reason", "cred_id", "issue_day", "certificate"))


def new_key():
    return os.urandom(KEY_LEN)


class Issuer:
    """Signs and verifies credential tokens with the host's Ed25519 issuing key (32 raw bytes in the data dir)."""

    def __init__(self, private_bytes):
        if len(private_bytes) != KEY_LEN:
            raise PintuError("issuing key must be %d bytes" % KEY_LEN)
        self._private = Ed25519PrivateKey.from_private_bytes(bytes(private_bytes))
        self.public_key = self._private.public_key()

    def public_bytes(self):
        from cryptography.hazmat.primitives import serialization

        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def issue(self, issue_day_number, cred_id=None):
        """-> (credential id, token text)."""
        cred_id = cred_id or os.urandom(CRED_ID_LEN)
        body = _BODY.pack(cred_id, issue_day_number)
        signature = self._private.sign(b"PN1" + body)
        return cred_id, PREFIX + base45.b45encode(body + signature).decode("ascii")

    def read(self, text):
        """Verify a PN1 token text. -> Reading (reason R_OK, R_UNREADABLE or R_FORGED)."""
        return read_token(self.public_key, text)


def read_token(public_key, text):
    if not text.startswith(PREFIX):
        return Reading(R_UNREADABLE, None, None, None)
    try:
        raw = base45.b45decode(text[len(PREFIX) :])
    except (ValueError, TypeError, KeyError):
        return Reading(R_UNREADABLE, None, None, None)
    if len(raw) != TOKEN_LEN:
        return Reading(R_UNREADABLE, None, None, None)
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    try:
        public_key.verify(signature, b"PN1" + body)
    except InvalidSignature:
        return Reading(R_FORGED, None, None, None)
    cred_id, day = _BODY.unpack(body)
    return Reading(R_OK, cred_id, day, None)
