"""EU Digital COVID Certificate (HC1) verification, offline, and the site policy applied to a verified certificate.

The chain is the one in the EU DCC specification (eHealth Network, "Technical specifications for EU DCC", vol. 1):

    "HC1:" prefix -> base45 -> zlib -> COSE_Sign1 (CBOR) -> signature check -> CWT claims -> hcert (-260 / 1)

Each step that can fail has a name (`STEPS`); a failure raises `DccError` carrying that name and the matching reason
code from `pintu_protocol.verdicts`. No other exception leaves `verify` for any input text: everything the visitor
controls is size-capped before it is buffered and type-checked before it is used.

What comes out (`Certificate`) is deliberately small: validity dates, the signer's key id and issuing country, and per
entry only what a site policy needs (dose numbers and dates, test time and result, recovery window). Name, date of
birth and the certificate identifier never leave this module; the identifier only as a keyed hash (`holder_id`), which
is what occupancy and events use.

"now" is always a parameter: the verifier never reads the wall clock, so `pintu check --at` and the tests can decide
at any time, and the 2021 public test cases still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import base45
import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from pintu_protocol.verdicts import (
    BLACK,
    GREEN,
    INVALID,
    R_CERT_INVALID,
    R_EXPIRED,
    R_FORGED,
    R_GUARD_CHECK,
    R_NO_DOSE,
    R_NOT_YET_VALID,
    R_OK,
    R_POSITIVE,
    R_TOO_FEW_DOSES,
    R_UNKNOWN,
    R_UNREADABLE,
    RED,
    YELLOW,
)

PREFIX = "HC1:"

# Limits on what a visitor controls, checked before anything is buffered. A QR code holds at most 4,296 alphanumeric
# characters (version 40), so 8,192 leaves room for scanner noise; real DCC payloads inflate to 1-3 KiB, so 64 KiB of
# zlib output stops a zip bomb long before it costs memory.
MAX_CODE_CHARS = 8192
MAX_PAYLOAD_BYTES = 64 * 1024
# Nesting in a real DCC is 5 levels (CWT -> hcert -> 1 -> v -> entry -> nam); anything deep is hostile.
MAX_CBOR_DEPTH = 16

# step name -> reason code. Order is the order of the checks.
STEPS = {
    "wrong_prefix": R_UNREADABLE,  # does not start with "HC1:"
    "too_large": R_UNREADABLE,  # longer than any QR code can be
    "base45": R_UNREADABLE,
    "zlib": R_UNREADABLE,  # not a complete zlib stream, or inflates past MAX_PAYLOAD_BYTES
    "cbor": R_UNREADABLE,  # the COSE message or the signed payload is not CBOR
    "cose": R_UNREADABLE,  # CBOR, but not a COSE_Sign1 with ES256 or PS256
    "unknown_kid": R_UNKNOWN,  # no key id, or no imported trust anchor has it
    "signature": R_FORGED,  # no anchor with that key id verifies the signature
    "key_usage": R_CERT_INVALID,  # the signer's certificate may not sign this certificate type (EKU)
    "cwt": R_CERT_INVALID,  # signed, but the CWT claims (iss, iat, exp) are missing or ill-typed
    "not_yet_valid": R_NOT_YET_VALID,  # iat after the decision time
    "expired": R_EXPIRED,  # exp at or before the decision time
    "hcert": R_CERT_INVALID,  # the health certificate (-260 / 1) is missing, ill-formed, or has no v/t/r entry
    "internal": R_UNREADABLE,  # a check raised something unexpected: still refused, never a crash (a bug if seen)
}

# Policy-level reason strings (`Decision.detail`) besides the step names above.
NO_VACCINATION = "no_vaccination"

_CWT_ISS, _CWT_EXP, _CWT_IAT, _CWT_HCERT = 1, 4, 6, -260
_HCERT_V1 = 1
_COSE_ALG, _COSE_KID = 1, 4
_COSE_SIGN1_TAG, _CWT_TAG = 18, 61
_ES256, _PS256 = -7, -37

TEST_NOT_DETECTED = "260415000"  # SNOMED CT "Not detected": a negative test
TEST_DETECTED = "260373001"  # SNOMED CT "Detected": a positive test

# Extended key usage OIDs a signer certificate may carry to limit which certificate types it signs (DCC spec vol. 1,
# 5.1.1). Both the official arc and the mistyped arc (with ".0.") seen in issued DSCs, including the public test data.
_EKU_TYPES = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}

# NumericDate bounds: keeps datetime arithmetic away from OverflowError on hostile values (year 1970..9999).
_MAX_NUMERIC_DATE = 253402300799


class DccError(Exception):
    """A certificate failed a check. `step` names the check (a key of `STEPS`); `reason` is its verdicts reason code."""

    def __init__(self, step, detail=""):
        self.step = step
        self.reason = STEPS[step]
        self.detail = detail
        super().__init__("%s: %s" % (step, detail) if detail else step)


@dataclass(frozen=True)
class Vaccination:
    dose_number: int  # dn
    series_doses: int  # sd
    date: date | None  # dt; None if absent or unparseable (only dose counting uses the entry then)


@dataclass(frozen=True)
class LabTest:
    sample_time: datetime  # sc, in UTC
    negative: bool  # tr == "260415000"
    positive: bool  # tr == "260373001"


@dataclass(frozen=True)
class Recovery:
    valid_from: date  # df
    valid_until: date  # du


@dataclass(frozen=True)
class Certificate:
    """A verified certificate, minimised: no name, no date of birth, no certificate identifier in the clear."""

    holder_id: str  # hex HMAC-SHA256 of the certificate identifier (`keyed_id`)
    issuer: str  # CWT iss: the issuing country, e.g. "DE"
    kid: bytes  # key id of the signer certificate that verified it
    issued_at: datetime  # CWT iat, UTC
    expires_at: datetime  # CWT exp, UTC
    vaccinations: tuple[Vaccination, ...]
    tests: tuple[LabTest, ...]
    recoveries: tuple[Recovery, ...]

    @property
    def doses(self) -> int:
        """The dose count the site policy compares against; see `dose_count`."""
        return max((dose_count(v.dose_number, v.series_doses) for v in self.vaccinations), default=0)


@dataclass(frozen=True)
class Decision:
    verdict: int  # pintu_protocol.verdicts code
    reason: int  # pintu_protocol.verdicts reason code
    detail: str  # a step name (INVALID), or what decided: "doses=2", "negative_test", "recovery", "no_vaccination"
    holder_id: str | None = None  # for occupancy/events; None when the code could not be verified
    expires_at: datetime | None = None  # the certificate's exp, when verified
    doses: int | None = None  # the dose count the policy used, when verified


# ---------------------------------------------------------------------------------------------------------- key ids


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


def keyed_id(certificate_id: str, secret: bytes) -> str:
    """Keyed identifier for occupancy and events: hex HMAC-SHA256 of the certificate identifier (`ci`).

    The optional "URN:UVCI:" prefix is dropped and case folded first, so both spellings of one identifier give one
    key. The message is domain-separated ("pintu-dcc-ci:"), so the same site secret used for other keyed hashes
    (e.g. NIK) cannot make a certificate id collide with them.
    """
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise ValueError("a non-empty secret key (bytes) is required")
    ci = certificate_id.strip().upper()
    if ci.startswith("URN:UVCI:"):
        ci = ci[len("URN:UVCI:") :]
    return hmac.new(bytes(secret), b"pintu-dcc-ci:" + ci.encode("utf-8"), hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------------------------------- verification


def verify(
    code,
    anchors: Mapping[bytes, Sequence[x509.Certificate]],
    *,
    now: datetime,
    id_key: bytes,
) -> Certificate:
    """Verify an HC1 code at the decision time `now` against `anchors` (see `index_anchors`, `TrustStore.anchors`).

    Returns the minimised `Certificate`; raises `DccError` on any failed check and nothing else for any `code`.
    `now` must be timezone-aware; `id_key` is the site's secret for `holder_id` (both checked: a caller bug raises
    ValueError before the code is looked at).
    """
    now = _aware(now)
    if not isinstance(id_key, bytes | bytearray) or not id_key:
        raise ValueError("id_key must be a non-empty bytes secret")
    try:
        return _verify(code, anchors, now, bytes(id_key))
    except DccError:
        raise
    except Exception as exc:  # defence in depth: a hostile code must never crash the host; the fuzz tests hunt these
        raise DccError("internal", "%s: %s" % (type(exc).__name__, exc)) from None


def _verify(code, anchors, now, id_key):
    raw = _unprefix(code)
    compressed = _base45(raw)
    cose = _inflate(compressed)
    protected_bytes, protected, unprotected, payload, signature = _cose_sign1(cose)
    alg, kid = _alg_and_kid(protected, unprotected)
    # Sig_structure (RFC 9052 4.4) over the protected header exactly as sent, not a re-encoding of it.
    signed = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    signer = _check_signature(anchors, kid, alg, signed, signature)
    claims = _cbor(payload)
    if not isinstance(claims, Mapping):
        raise DccError("cwt", "claims are not a map")
    issuer, issued_at, expires_at = _claims(claims)
    hcert = _hcert(claims)
    _check_key_usage(signer, hcert)
    if issued_at > now:
        raise DccError("not_yet_valid", "issued %s" % issued_at.isoformat())
    if expires_at <= now:
        raise DccError("expired", "expired %s" % expires_at.isoformat())
    return _certificate(hcert, issuer, kid, issued_at, expires_at, id_key)


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


def _hcert(claims):
    container = claims.get(_CWT_HCERT)
    hcert = container.get(_HCERT_V1) if isinstance(container, Mapping) else None
    if not isinstance(hcert, Mapping):
        raise DccError("hcert", "no health certificate (claim -260, key 1)")
    return hcert


def _check_key_usage(signer, hcert):
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    except Exception:  # an unparseable extension is no restriction we can honour; the signature already verified
        return
    allowed = {_EKU_TYPES[oid.dotted_string] for oid in eku if oid.dotted_string in _EKU_TYPES}
    if not allowed:  # no DCC-specific usage: the signer may sign every type
        return
    present = {kind for kind in ("v", "t", "r") if hcert.get(kind)}
    if present - allowed:
        raise DccError("key_usage", "signer may sign %s only" % "".join(sorted(allowed)))


def _entries(hcert, kind):
    entries = hcert.get(kind)
    if entries is None:
        return []
    if not isinstance(entries, list | tuple) or not all(isinstance(e, Mapping) for e in entries):
        raise DccError("hcert", "%s is not a list of entries" % kind)
    return list(entries)


def _small_int(entry, field, kind):
    value = entry.get(field)
    if type(value) is not int or not 0 <= value <= 99:
        raise DccError("hcert", "%s.%s is not a dose number" % (kind, field))
    return value


def _parse_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) <= 40:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _parse_datetime(value):
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            result = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if result.tzinfo is None or result.utcoffset() is None:
        return result.replace(tzinfo=timezone.utc)  # the schema asks for an offset; without one, UTC is the norm
    try:
        return result.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past the last representable UTC instant
        return None


def _certificate(hcert, issuer, kid, issued_at, expires_at, id_key):
    v_entries, t_entries, r_entries = (_entries(hcert, kind) for kind in ("v", "t", "r"))
    if not (v_entries or t_entries or r_entries):
        raise DccError("hcert", "no vaccination, test or recovery entry")
    vaccinations = tuple(
        Vaccination(_small_int(e, "dn", "v"), _small_int(e, "sd", "v"), _parse_date(e.get("dt"))) for e in v_entries
    )
    tests = []
    for e in t_entries:
        sample_time = _parse_datetime(e.get("sc"))
        if sample_time is None:
            raise DccError("hcert", "t.sc is not a date-time")
        result = e.get("tr")
        tests.append(LabTest(sample_time, result == TEST_NOT_DETECTED, result == TEST_DETECTED))
    recoveries = []
    for e in r_entries:
        valid_from, valid_until = _parse_date(e.get("df")), _parse_date(e.get("du"))
        if valid_from is None or valid_until is None:
            raise DccError("hcert", "r.df / r.du are not dates")
        recoveries.append(Recovery(valid_from, valid_until))
    ci = (v_entries + t_entries + r_entries)[0].get("ci")
    if not isinstance(ci, str) or not ci.strip() or len(ci) > 256:
        raise DccError("hcert", "no certificate identifier (ci)")
    return Certificate(
        holder_id=keyed_id(ci, id_key),
        issuer=issuer,
        kid=kid,
        issued_at=issued_at,
        expires_at=expires_at,
        vaccinations=vaccinations,
        tests=tuple(tests),
        recoveries=tuple(recoveries),
    )


def _aware(now):
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now


# ----------------------------------------------------------------------------------------------------------- policy

# profile -> (doses for GREEN, doses for YELLOW or None). Below YELLOW is RED.
PROFILES = {
    "dose1": (1, None),
    "full": (2, 1),
    "booster": (3, 2),
}
DEFAULT_PROFILE = "dose1"
TEST_VALIDITY = timedelta(hours=72)


def dose_count(dn: int, sd: int) -> int:
    """Doses a vaccination entry counts for, on the scale of a two-dose primary series.

    count = dn, except that a completed one-dose series (sd == 1: Janssen, or one dose after a recovery) counts as a
    completed two-dose one, and each dose after it one more: 1/1 -> 2 ("full"), 2/1 -> 3 ("booster"). This is how
    EU member states read these entries; a plain count = dn would leave everyone with 1/1 YELLOW under "full".
    """
    if sd == 1 and dn >= 1:
        return dn + 1
    return dn


def apply_policy(
    certificate: Certificate,
    profile: str,
    *,
    now: datetime,
    accept_test_or_recovery: bool = False,
    test_validity: timedelta = TEST_VALIDITY,
) -> Decision:
    """The site's policy applied to a verified certificate at the decision time. Pure: no I/O, no clock.

    - A positive test taken within `test_validity` before `now` -> BLACK (R_POSITIVE), whatever the switch.
    - Dose count (see `dose_count`) against the profile (`PROFILES`): GREEN, YELLOW (R_GUARD_CHECK) or RED
      (R_NO_DOSE / R_TOO_FEW_DOSES).
    - If the site switch `accept_test_or_recovery` is on (off by default), a negative test taken within
      `test_validity` before `now`, or a recovery whose df..du window holds today's date, also gives GREEN.
    - A certificate with no vaccination entry that the switch does not admit -> INVALID (R_CERT_INVALID,
      detail "no_vaccination"): it is a genuine test/recovery certificate, but not one this site checks.
    """
    if profile not in PROFILES:
        raise ValueError("unknown policy profile %r (known: %s)" % (profile, ", ".join(PROFILES)))
    now = _aware(now)
    green_at, yellow_at = PROFILES[profile]
    doses = certificate.doses
    keep = {"holder_id": certificate.holder_id, "expires_at": certificate.expires_at, "doses": doses}

    if any(t.positive and _recent(t, now, test_validity) for t in certificate.tests):
        return Decision(BLACK, R_POSITIVE, "positive_test", **keep)

    if certificate.vaccinations and doses >= green_at:
        return Decision(GREEN, R_OK, "doses=%d" % doses, **keep)
    if accept_test_or_recovery:
        if any(t.negative and _recent(t, now, test_validity) for t in certificate.tests):
            return Decision(GREEN, R_OK, "negative_test", **keep)
        today = now.astimezone(timezone.utc).date()
        if any(r.valid_from <= today <= r.valid_until for r in certificate.recoveries):
            return Decision(GREEN, R_OK, "recovery", **keep)
    if not certificate.vaccinations:
        return Decision(INVALID, R_CERT_INVALID, NO_VACCINATION, **keep)
    if yellow_at is not None and doses >= yellow_at:
        return Decision(YELLOW, R_GUARD_CHECK, "doses=%d" % doses, **keep)
    return Decision(RED, R_NO_DOSE if doses == 0 else R_TOO_FEW_DOSES, "doses=%d" % doses, **keep)


def _recent(test, now, validity):
    # A sample time in the future is not "recent": it is either a clock error or a forged date, so it never admits.
    return now - validity <= test.sample_time <= now


def check(
    code,
    anchors: Mapping[bytes, Sequence[x509.Certificate]],
    *,
    now: datetime,
    id_key: bytes,
    profile: str = DEFAULT_PROFILE,
    accept_test_or_recovery: bool = False,
) -> Decision:
    """Verify and decide in one call: what `pintu check` and the gateway need. Never raises for any `code`.

    A failed check gives Decision(INVALID, <step's reason code>, <step name>, holder_id=None).
    """
    try:
        certificate = verify(code, anchors, now=now, id_key=id_key)
    except DccError as exc:
        return Decision(INVALID, exc.reason, exc.step)
    return apply_policy(certificate, profile, now=now, accept_test_or_recovery=accept_test_or_recovery)
