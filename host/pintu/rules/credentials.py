"""Credentials: Ed25519-signed tokens short enough for a small QR code, and reading what a door scanned.

A token is KIND + ":" + base45(credential id (10 bytes) | issue day (u16, days since 1970) | signature (64 bytes)).
Two kinds: "PN1" a visitor's (or employee's) card, "PG1" a guard's card (issue 13: a guard confirms a YELLOW by
scanning it). Base45 uses exactly the QR alphanumeric alphabet, so the whole text encodes in the QR's dense
alphanumeric mode (118 characters: a version 6 symbol). The signature covers the kind + id + day (b"PN1" or b"PG1"
first), so a token cannot be replayed as any other kind of signed message: a visitor's card with its prefix edited
to PG1 does not verify. The token carries no NIK and no name; who it belongs to, and whether it is revoked, lives in
the registry, so a new dose or a positive test applies at the next scan without a new card.
"""

import os
import struct
from collections import namedtuple

import base45
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pintu.errors import PintuError
from pintu_protocol.verdicts import R_FORGED, R_OK, R_UNREADABLE

CARD = "PN1"
GUARD = "PG1"
KINDS = (CARD, GUARD)
PREFIX = CARD + ":"
GUARD_PREFIX = GUARD + ":"
CRED_ID_LEN = 10
_BODY = struct.Struct(">%dsH" % CRED_ID_LEN)
SIG_LEN = 64
TOKEN_LEN = _BODY.size + SIG_LEN
KEY_LEN = 32

# What reading a scanned code gives: reason R_OK and either a credential id (PN1 cards) or, for a code that carries
# its own proof, a verified EU certificate (hc1.Certificate: doses, tests, recoveries, a keyed holder id and nothing
# personal); any other reason means INVALID. kind: CARD or GUARD for a token. A certificate may also come with a
# refusal reason (an expired one): it still identifies its holder, which an exit needs (policy.exit_outcome).
Reading = namedtuple("Reading", ("reason", "cred_id", "issue_day", "certificate", "kind"), defaults=(CARD,))


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

    def issue(self, issue_day_number, cred_id=None, kind=CARD):
        """-> (credential id, token text). kind: CARD (a visitor's or employee's) or GUARD."""
        if kind not in KINDS:
            raise PintuError("unknown credential kind %r" % kind)
        cred_id = cred_id or os.urandom(CRED_ID_LEN)
        body = _BODY.pack(cred_id, issue_day_number)
        signature = self._private.sign(kind.encode("ascii") + body)
        return cred_id, kind + ":" + base45.b45encode(body + signature).decode("ascii")

    def read(self, text):
        """Verify a PN1 or PG1 token text. -> Reading (reason R_OK, R_UNREADABLE or R_FORGED; kind)."""
        return read_token(self.public_key, text)


def read_token(public_key, text):
    kind = text[:3]
    if kind not in KINDS or text[3:4] != ":":
        return Reading(R_UNREADABLE, None, None, None)
    try:
        raw = base45.b45decode(text[4:])
    except (ValueError, TypeError, KeyError):
        return Reading(R_UNREADABLE, None, None, None)
    if len(raw) != TOKEN_LEN:
        return Reading(R_UNREADABLE, None, None, None)
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    try:
        public_key.verify(signature, kind.encode("ascii") + body)  # the kind is signed: PN1 cannot become PG1
    except InvalidSignature:
        return Reading(R_FORGED, None, None, None, kind)
    cred_id, day = _BODY.unpack(body)
    return Reading(R_OK, cred_id, day, None, kind)
