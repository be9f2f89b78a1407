"""HC1 transport, offline: "HC1:" text -> base45 -> zlib -> COSE_Sign1 (CBOR) -> signature -> CWT claims.

The chain is the one in the EU DCC specification (eHealth Network, "Electronic Health Certificate Specification" /
"Technical specifications for EU DCC", vol. 1, sections 2-3). What the signed claims say about health is hc1.py's
business; this module only proves that a trusted signer signed them, and when.

Each step that can fail has a name (`STEPS`, for the whole chain including hc1.py's checks, in one table); a failure
raises `DccError` carrying that name and the matching reason code from `pintu_protocol.verdicts`. Everything the
visitor controls is size-capped before it is buffered and type-checked before it is used.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections import namedtuple
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone

import base45
import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from pintu_protocol.verdicts import (
    R_CERT_INVALID,
    R_DISEASE,
    R_EXPIRED,
    R_FORGED,
    R_NOT_YET_VALID,
    R_RECOVERY_WINDOW,
    R_SCHEMA,
    R_SIGNER,
    R_SIGNER_USAGE,
    R_TEST_TYPE,
    R_TEST_WINDOW,
    R_UNKNOWN,
    R_UNREADABLE,
    R_VACCINATION_DATE,
)

PREFIX = "HC1:"

# Limits on what a visitor controls, checked before anything is buffered. A QR code holds at most 4,296 alphanumeric
# characters (version 40), so 8,192 leaves room for scanner noise; real DCC payloads inflate to 1-3 KiB, so 64 KiB of
# zlib output stops a zip bomb long before it costs memory.
MAX_CODE_CHARS = 8192
MAX_PAYLOAD_BYTES = 64 * 1024
# Nesting in a real DCC is 5 levels (CWT -> hcert -> 1 -> v -> entry -> nam); anything deep is hostile.
MAX_CBOR_DEPTH = 16

# step name -> reason code, for the whole chain (cose.py, signer.py, dcc_schema.py, hc1.py, eu_rules.py). Order is the
# order of the checks.
STEPS = {
    "wrong_prefix": R_UNREADABLE,  # does not start with "HC1:"
    "too_large": R_UNREADABLE,  # longer than any QR code can be
    "base45": R_UNREADABLE,
    "zlib": R_UNREADABLE,  # not a complete zlib stream, or inflates past MAX_PAYLOAD_BYTES
    "cbor": R_UNREADABLE,  # the COSE message or the signed payload is not CBOR
    "cose": R_UNREADABLE,  # CBOR, but not a COSE_Sign1 with ES256 or PS256
    "unknown_kid": R_UNKNOWN,  # no key id, or no imported trust anchor has it
    "signature": R_FORGED,  # no anchor with that key id verifies the signature
    "cwt": R_CERT_INVALID,  # signed, but the CWT claims (iss, iat, exp) are missing, ill-typed or exp before iat
    "hcert": R_CERT_INVALID,  # no health certificate (claim -260, key 1) in the claims
    "signer_validity": R_SIGNER,  # iat before the signer certificate's notBefore, or iat/exp after its notAfter
    "key_usage": R_SIGNER_USAGE,  # the signer's certificate may not sign this certificate type (EKU)
    "not_yet_valid": R_NOT_YET_VALID,  # iat after the decision time (beyond the clock-skew allowance)
    "expired": R_EXPIRED,  # exp before the decision time (valid through exp inclusive)
    "schema": R_SCHEMA,  # the hcert does not conform to the DCC schema 1.3 (dcc_schema.py)
    "disease": R_DISEASE,  # GR-EU-0001: tg is not COVID-19
    "vaccination_date": R_VACCINATION_DATE,  # dt after the decision day
    "test_type": R_TEST_TYPE,  # TR-EU-0001: tt neither NAAT nor RAT
    "test_window": R_TEST_WINDOW,  # the sample was collected after the decision time
    "recovery_window": R_RECOVERY_WINDOW,  # RR-EU-0002: df/du not within 11..180 days of fr, df after du, fr ahead
    "internal": R_UNREADABLE,  # a check raised something unexpected: still refused, never a crash (a bug if seen)
}

_CWT_ISS, _CWT_EXP, _CWT_IAT = 1, 4, 6
_COSE_ALG, _COSE_KID = 1, 4
_COSE_SIGN1_TAG, _CWT_TAG = 18, 61
_ES256, _PS256 = -7, -37

# NumericDate bounds: keeps datetime arithmetic away from OverflowError on hostile values (year 1970..9999).
_MAX_NUMERIC_DATE = 253402300799


class DccError(Exception):
    """A certificate failed a check. `step` names the check (a key of `STEPS`); `reason` is its verdicts reason code."""

    def __init__(self, step, detail=""):
        self.step = step
        self.reason = STEPS[step]
        self.detail = detail
        super().__init__("%s: %s" % (step, detail) if detail else step)


# What `open_signed` proves: which anchor signed, under which key id, and the CWT claims it signed.
Signed = namedtuple("Signed", ("signer", "kid", "issuer", "issued_at", "expires_at", "claims"))


def key_id(certificate) -> bytes:
    """The DCC key id: the first 8 bytes of the SHA-256 of the signer certificate's DER."""
    der = certificate if isinstance(certificate, bytes) else certificate.public_bytes(Encoding.DER)
    return hashlib.sha256(der).digest()[:8]


def index_anchors(certificates: Iterable[x509.Certificate]) -> dict[bytes, list[x509.Certificate]]:
    """Trust anchors by key id, the shape `verify` takes. 8-byte ids can collide, so each id maps to a list."""
    index: dict[bytes, list[x509.Certificate]] = {}
    for cert in certificates:
        index.setdefault(key_id(cert), []).append(cert)
    return index


def open_signed(code, anchors: Mapping[bytes, Sequence[x509.Certificate]]) -> Signed:
    """Unwrap an HC1 code down to its CWT claims, checking the signature against `anchors` (key id -> certificates).

    Raises DccError for any failed step; says nothing yet about times or content (hc1.verify does that)."""
    raw = _unprefix(code)
    compressed = _base45(raw)
    cose = _inflate(compressed)
    protected_bytes, protected, unprotected, payload, signature = _cose_sign1(cose)
    alg, kid = _alg_and_kid(protected, unprotected)
    # Sig_structure (RFC 9052 4.4) over the protected header exactly as sent, not a re-encoding of it.
    to_check = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    signer = _check_signature(anchors, kid, alg, to_check, signature)
    claims = _cbor(payload)
    if not isinstance(claims, Mapping):
        raise DccError("cwt", "claims are not a map")
    issuer, issued_at, expires_at = _claims(claims)
    if expires_at < issued_at:  # RFC 8392 3.1.4/3.1.6: a token that expires before it is issued is malformed
        raise DccError("cwt", "exp before iat")
    return Signed(signer, kid, issuer, issued_at, expires_at, claims)


def _unprefix(code):
    if isinstance(code, bytes | bytearray):
        try:
            code = bytes(code).decode("ascii")
        except UnicodeDecodeError:
            raise DccError("wrong_prefix", "not ASCII text") from None
    if not isinstance(code, str):
        raise DccError("wrong_prefix", "not text")
    if len(code) > MAX_CODE_CHARS:
        raise DccError("too_large", "%d characters" % len(code))
    code = code.strip()  # scanners append CR/LF
    if not code.startswith(PREFIX):
        raise DccError("wrong_prefix")
    return code[len(PREFIX) :]


def _base45(text):
    try:
        data = base45.b45decode(text)
    except Exception as exc:  # the decoder raises ValueError, but any failure here means "not base45"
        raise DccError("base45", str(exc)) from None
    if not data:
        raise DccError("base45", "empty")
    return data


def _inflate(data):
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_PAYLOAD_BYTES + 1)
    except zlib.error as exc:
        raise DccError("zlib", str(exc)) from None
    if len(out) > MAX_PAYLOAD_BYTES or inflater.unconsumed_tail:
        raise DccError("zlib", "inflates past %d bytes" % MAX_PAYLOAD_BYTES)
    if not inflater.eof:
        raise DccError("zlib", "truncated stream")
    if inflater.unused_data:
        raise DccError("zlib", "data after the stream")
    return out


def _cbor(data):
    try:
        return cbor2.loads(data, max_depth=MAX_CBOR_DEPTH, allow_duplicate_keys=False)
    except Exception as exc:  # CBORDecodeError, and whatever a semantic tag decoder raises on hostile content
        raise DccError("cbor", "%s: %s" % (type(exc).__name__, exc)) from None


def _cose_sign1(data):
    message = _cbor(data)
    if isinstance(message, cbor2.CBORTag) and message.tag == _CWT_TAG:
        message = message.value
    if isinstance(message, cbor2.CBORTag):
        if message.tag != _COSE_SIGN1_TAG:
            raise DccError("cose", "tag %d is not COSE_Sign1" % message.tag)
        message = message.value
    if not isinstance(message, list | tuple) or len(message) != 4:
        raise DccError("cose", "not a 4-element COSE_Sign1 array")
    protected_bytes, unprotected, payload, signature = message
    if not isinstance(protected_bytes, bytes) or not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise DccError("cose", "protected header, payload and signature must be byte strings")
    if not isinstance(unprotected, Mapping):
        raise DccError("cose", "unprotected header is not a map")
    if protected_bytes:
        try:
            protected = cbor2.loads(protected_bytes, max_depth=4, allow_duplicate_keys=False)
        except Exception as exc:
            raise DccError("cose", "protected header: %s" % exc) from None
        if not isinstance(protected, Mapping):
            raise DccError("cose", "protected header is not a map")
    else:
        protected = {}
    return protected_bytes, protected, unprotected, payload, signature


def _alg_and_kid(protected, unprotected):
    # The protected header wins (it is signed); the unprotected one is the fallback the DCC spec allows for kid.
    # Taking alg from there is harmless: the key type of the anchor must match the algorithm anyway.
    alg = protected.get(_COSE_ALG, unprotected.get(_COSE_ALG))
    kid = protected.get(_COSE_KID, unprotected.get(_COSE_KID))
    if type(alg) is not int or alg not in (_ES256, _PS256):
        raise DccError("cose", "algorithm %r is not ES256 or PS256" % (alg,))
    if not isinstance(kid, bytes) or not kid:
        raise DccError("unknown_kid", "no key id in the headers")
    return alg, kid


def _check_signature(anchors, kid, alg, signed, signature):
    candidates = anchors.get(kid) or ()
    if not candidates:
        raise DccError("unknown_kid", "no trust anchor with key id %s" % kid.hex())
    for cert in candidates:
        if _signature_ok(cert, alg, signed, signature):
            return cert
    raise DccError("signature", "key id %s" % kid.hex())


def _signature_ok(cert, alg, signed, signature):
    try:
        key = cert.public_key()
    except Exception:  # an anchor with a key type cryptography cannot load cannot verify anything
        return False
    try:
        if alg == _ES256:
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
                return False
            if len(signature) != 64:  # COSE carries raw r||s; cryptography wants DER
                return False
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
            return True
        if alg == _PS256:
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            # RFC 8230 fixes the salt at the digest length; AUTO also accepts other lengths, which costs no security
            # and spares a refusal of a genuine certificate from a signer that used the maximum length.
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            key.verify(signature, signed, pss, hashes.SHA256())
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def _numeric_date(claims, label, name):
    value = claims.get(label)
    if type(value) is float and math.isfinite(value):
        value = int(value)
    if type(value) is not int:
        raise DccError("cwt", "%s missing or not a NumericDate" % name)
    if not 0 <= value <= _MAX_NUMERIC_DATE:
        raise DccError("cwt", "%s out of range" % name)
    return datetime.fromtimestamp(value, timezone.utc)


def _claims(claims):
    issuer = claims.get(_CWT_ISS, "")
    if not isinstance(issuer, str) or len(issuer) > 64:
        raise DccError("cwt", "iss is not a short text")
    return issuer, _numeric_date(claims, _CWT_IAT, "iat"), _numeric_date(claims, _CWT_EXP, "exp")
