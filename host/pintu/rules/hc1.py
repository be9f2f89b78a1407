"""EU Digital COVID Certificate (HC1): verify a code down to a minimised certificate, and judge it in one call.

The chain, each step a refusal with its own name (`STEPS`, in cose.py):

    cose.open_signed          "HC1:" -> base45 -> zlib -> COSE_Sign1 -> signature by a trusted signer -> CWT claims
    signer.check_signer       iat/exp within the signer certificate's validity; its key usage covers the entry type
    times                     iat not in the future (beyond CLOCK_SKEW); exp not passed (valid through exp inclusive)
    dcc_schema.check          the hcert conforms to DCC schema 1.3: exactly one entry of one type, every field typed
    eu_rules.check_entry      the EU business rules that hold at any site (COVID-19, dates, test type, recovery)

What comes out (`Certificate`) is deliberately small: validity dates, the signer's key id and issuing country, and
per entry only what a policy needs (dose numbers, date and vaccine product; test time, type and result; recovery
window). Name, date of birth and the certificate identifier never leave this module; the identifier only as a keyed
hash (`holder_id`), which is what occupancy and events use. eu_rules.standing turns it into a policy.Standing.

"now" is always a parameter: the verifier never reads the wall clock, so `pintu check --at` and the tests can decide
at any time, and the 2021 public test cases still verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cryptography import x509

from pintu.rules import dcc_schema, eu_rules, policy
from pintu.rules.cose import (  # noqa: F401  (re-exported: the HC1 API in one import)
    MAX_CODE_CHARS,
    MAX_PAYLOAD_BYTES,
    PREFIX,
    STEPS,
    DccError,
    index_anchors,
    key_id,
    open_signed,
)
from pintu.rules.dcc_schema import TEST_DETECTED, TEST_NOT_DETECTED  # noqa: F401  (re-exported)
from pintu.rules.signer import check_signer
from pintu_protocol.verdicts import INVALID

_CWT_HCERT = -260
_HCERT_V1 = 1

# How far ahead of the host's clock an issuer's clock may be: a certificate issued "in the future" by less than this
# is a clock difference, not a forgery (the EU reference verifiers allow a few minutes for the same reason).
CLOCK_SKEW = timedelta(minutes=5)
# Verified certificates remembered (verify's `remembered`): a bound, so a flood of valid codes cannot grow it forever.
REMEMBERED_MAX = 65536


@dataclass(frozen=True)
class Vaccination:
    dose_number: int  # dn
    series_doses: int  # sd
    date: date  # dt
    product: str  # mp: the medicinal product (a value-set code such as "EU/1/20/1528"; not personal)


@dataclass(frozen=True)
class LabTest:
    sample_time: datetime  # sc, in UTC
    negative: bool  # tr == "260415000"
    positive: bool  # tr == "260373001"
    kind: str = eu_rules.TEST_NAAT  # tt: eu_rules.TEST_NAAT or TEST_RAT


@dataclass(frozen=True)
class Recovery:
    valid_from: date  # df
    valid_until: date  # du
    first_positive: date | None = None  # fr


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
        """The dose count of the entry before any waiting period; see `eu_rules.dose_count`."""
        return max((eu_rules.dose_count(v.dose_number, v.series_doses) for v in self.vaccinations), default=0)


@dataclass(frozen=True)
class Decision:
    verdict: int  # pintu_protocol.verdicts code
    reason: int  # pintu_protocol.verdicts reason code
    detail: str  # a step name (INVALID), or what decided: "doses=2", "negative_test", "recovery", a rule id
    holder_id: str | None = None  # for occupancy/events; None when the code could not be verified
    expires_at: datetime | None = None  # the certificate's exp, when verified
    doses: int | None = None  # the dose count the policy used, when verified


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


def verify(
    code,
    anchors: Mapping[bytes, Sequence[x509.Certificate]],
    *,
    now: datetime,
    id_key: bytes,
    remembered: dict | None = None,
) -> Certificate:
    """Verify an HC1 code at the decision time `now` against `anchors` (see `index_anchors`, `TrustStore.anchors`).

    Returns the minimised `Certificate`; raises `DccError` on any failed check and nothing else for any `code`.
    `now` must be timezone-aware; `id_key` is the site's secret for `holder_id` (both checked: a caller bug raises
    ValueError before the code is looked at).
    remembered: a dict in which codes that verified are kept by the SHA-256 of their text (never the text), with
    what the checks that depend on `now` need and nothing personal: the next scan of the same code skips base45,
    inflate, CBOR, the signature and the schema, as long as the signer that verified it is still among `anchors` (an
    anchor the operator removed refuses it at once); the times and the entry's dates are checked again every scan.
    """
    now = _aware(now)
    if not isinstance(id_key, bytes | bytearray) or not id_key:
        raise ValueError("id_key must be a non-empty bytes secret")
    try:
        if remembered is not None and isinstance(code, str | bytes):
            return _verify_remembered(code, anchors, now, bytes(id_key), remembered)
        return _verify(code, anchors, now, bytes(id_key))
    except DccError:
        raise
    except Exception as exc:  # defence in depth: a hostile code must never crash the host; the fuzz tests hunt these
        raise DccError("internal", "%s: %s" % (type(exc).__name__, exc)) from None


@dataclass(frozen=True)
class _Verified:
    """A code that verified once: its signer and what the checks that depend on the time read (no name, no birth
    date, no certificate identifier: the entry's dates and codes only)."""

    signer: x509.Certificate
    certificate: Certificate
    kind: str
    entry: dict


_TIMED_FIELDS = ("tg", "dt", "tt", "sc", "fr", "df", "du")  # what eu_rules.check_entry reads


def _verify_remembered(code, anchors, now, id_key, remembered):
    digest = hashlib.sha256(code.encode() if isinstance(code, str) else code).digest()
    known = remembered.get(digest)
    if isinstance(known, _Verified) and known.signer in anchors.get(known.certificate.kid, ()):
        _check_times(known.certificate.issued_at, known.certificate.expires_at, now)
        eu_rules.check_entry(known.kind, known.entry, now)
        return known.certificate
    signed, kind, entry = _checked(code, anchors, now)
    certificate = _certificate(kind, entry, signed, id_key)
    if len(remembered) >= REMEMBERED_MAX:
        remembered.clear()
    remembered[digest] = _Verified(signed.signer, certificate, kind, {f: entry[f] for f in _TIMED_FIELDS if f in entry})
    return certificate


def _check_times(issued_at, expires_at, now):
    # eHN "Technical specifications for EU DCC" vol. 1, 3.3.1 (CWT iat/exp): not valid before it was issued, and
    # valid through its expiry second inclusive (what the reference test data's EXPECTEDEXPIRATIONCHECK expects).
    if issued_at > now + CLOCK_SKEW:
        raise DccError("not_yet_valid", "issued %s" % issued_at.isoformat())
    if now > expires_at:
        raise DccError("expired", "expired %s" % expires_at.isoformat())


def _verify(code, anchors, now, id_key):
    signed, kind, entry = _checked(code, anchors, now)
    return _certificate(kind, entry, signed, id_key)


def _checked(code, anchors, now):
    """Every check, in the order of the module's doc. -> (signed, kind, entry)."""
    signed = open_signed(code, anchors)
    container = signed.claims.get(_CWT_HCERT)
    hcert = container.get(_HCERT_V1) if isinstance(container, Mapping) else None
    if not isinstance(hcert, Mapping):
        raise DccError("hcert", "no health certificate (claim -260, key 1)")
    present = "".join(kind for kind in "vtr" if kind in hcert)
    check_signer(signed.signer, signed.issued_at, signed.expires_at, present)
    _check_times(signed.issued_at, signed.expires_at, now)
    kind = dcc_schema.check(hcert)
    entry = hcert[kind][0]
    eu_rules.check_entry(kind, entry, now)
    return signed, kind, entry


def _certificate(kind, entry, signed, id_key):
    """The minimised certificate of one schema-valid entry."""
    vaccinations, tests, recoveries = (), (), ()
    if kind == "v":
        dt = dcc_schema.parse_date(entry["dt"])
        vaccinations = (Vaccination(entry["dn"], entry["sd"], dt, entry["mp"]),)
    elif kind == "t":
        sample_time = dcc_schema.parse_date_time(entry["sc"])
        result = entry["tr"]
        tests = (LabTest(sample_time, result == TEST_NOT_DETECTED, result == TEST_DETECTED, entry["tt"]),)
    else:
        fr, df, du = (dcc_schema.parse_date(entry[f]) for f in ("fr", "df", "du"))
        recoveries = (Recovery(df, du, fr),)
    return Certificate(
        holder_id=keyed_id(entry["ci"], id_key),
        issuer=signed.issuer,
        kid=signed.kid,
        issued_at=signed.issued_at,
        expires_at=signed.expires_at,
        vaccinations=vaccinations,
        tests=tests,
        recoveries=recoveries,
    )


def _aware(now):
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now


def check(
    code,
    anchors: Mapping[bytes, Sequence[x509.Certificate]],
    *,
    now: datetime,
    id_key: bytes,
    profile: str = policy.DEFAULT_PROFILE,
    accept_test_or_recovery: bool = False,
    rules: eu_rules.EuRules = eu_rules.DEFAULT_RULES,
) -> Decision:
    """Verify and judge in one call, away from any site's occupancy (what the tests and tools need). Never raises for
    any `code`. The judgement is policy.judge's, the one the door's decision uses; YELLOW stays YELLOW here.

    A failed check gives Decision(INVALID, <step's reason code>, <step name>, holder_id=None).
    """
    if profile not in policy.PROFILES:
        raise ValueError("unknown policy profile %r (known: %s)" % (profile, ", ".join(policy.PROFILES)))
    try:
        certificate = verify(code, anchors, now=now, id_key=id_key)
    except DccError as exc:
        return Decision(INVALID, exc.reason, exc.step)
    standing = eu_rules.standing(certificate, now=now, rules=rules)
    health = policy.judge(standing, profile, accept_tests=accept_test_or_recovery)
    return Decision(*health, holder_id=certificate.holder_id, expires_at=certificate.expires_at, doses=standing.doses)
