"""EU Digital COVID Certificate (HC1): what a verified certificate says, and how it stands under a site's policy.

cose.py proves who signed a code and when; this module checks the signed health certificate (claim -260 / 1) and
turns it into what the site policy needs:

    verify(code)   -> Certificate: validity dates, the signer's key id and issuing country, and per entry only what a
                      policy needs (dose numbers and dates, test time and result, recovery window)
    standing(cert) -> policy.Standing: the same kind of standing a registry person has (doses, a health block,
                      whether a test or recovery may stand in), which policy.decide judges like anyone else's

Name, date of birth and the certificate identifier never leave this module; the identifier only as a keyed hash
(`holder_id`), which is what occupancy and events use.

"now" is always a parameter: the verifier never reads the wall clock, so `pintu check --at` and the tests can decide
at any time, and the 2021 public test cases still verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from cryptography import x509

from pintu.rules import policy
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
from pintu_protocol.verdicts import INVALID, R_POSITIVE

# Policy-level reason strings (`Decision.detail`) besides the step names in `STEPS`.
NO_VACCINATION = policy.NO_VACCINATION

_CWT_HCERT = -260
_HCERT_V1 = 1

TEST_NOT_DETECTED = "260415000"  # SNOMED CT "Not detected": a negative test
TEST_DETECTED = "260373001"  # SNOMED CT "Detected": a positive test
TEST_VALIDITY = timedelta(hours=72)

# 5.1.1). Both the official arc and the mistyped arc (with ".0.") seen in issued DSCs, including the public test data.
_EKU_TYPES = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}

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
    signed = open_signed(code, anchors)
    hcert = _hcert(signed.claims)
    _check_key_usage(signed.signer, hcert)
    if signed.issued_at > now:
        raise DccError("not_yet_valid", "issued %s" % signed.issued_at.isoformat())
    if signed.expires_at <= now:
        raise DccError("expired", "expired %s" % signed.expires_at.isoformat())
    return _certificate(hcert, signed.issuer, signed.kid, signed.issued_at, signed.expires_at, id_key)


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



# -------------------------------------------------------------------------------------------------------- standing


def dose_count(dn: int, sd: int) -> int:
    """Doses a vaccination entry counts for, on the scale of a two-dose primary series.

    count = dn, except that a completed one-dose series (sd == 1: Janssen, or one dose after a recovery) counts as a
    completed two-dose one, and each dose after it one more: 1/1 -> 2 ("full"), 2/1 -> 3 ("booster"). This is how
    EU member states read these entries; a plain count = dn would leave everyone with 1/1 YELLOW under "full".
    """
    if sd == 1 and dn >= 1:
        return dn + 1
    return dn


def standing(certificate: Certificate, *, now: datetime, test_validity: timedelta = TEST_VALIDITY) -> policy.Standing:
    """The certificate as a policy standing at the decision time. Pure: no I/O, no clock.

    - A positive test taken within `test_validity` before `now` blocks (BLACK, R_POSITIVE), whatever the site.
    - The dose count (see `dose_count`) is what the profile compares.
    - A negative test taken within `test_validity` before `now`, or a recovery whose df..du window holds today's
      date, may stand in for doses where the site accepts tests.
    - No vaccination entry: policy.decide refuses it (INVALID, R_CERT_INVALID, "no_vaccination") unless a stand-in
      admits it: it is a genuine test/recovery certificate, but not one every site checks.
    """
    now = _aware(now)
    block = None
    if any(t.positive and _recent(t, now, test_validity) for t in certificate.tests):
        block = (R_POSITIVE, "positive_test")
    stand_in = None
    today = now.astimezone(timezone.utc).date()
    if any(t.negative and _recent(t, now, test_validity) for t in certificate.tests):
        stand_in = "negative_test"
    elif any(r.valid_from <= today <= r.valid_until for r in certificate.recoveries):
        stand_in = "recovery"
    return policy.Standing(certificate.doses, block, stand_in, bool(certificate.vaccinations))


def _recent(test, now, validity):
    # A sample time in the future is not "recent": it is either a clock error or a forged date, so it never admits.
    return now - validity <= test.sample_time <= now


def check(
    code,
    anchors: Mapping[bytes, Sequence[x509.Certificate]],
    *,
    now: datetime,
    id_key: bytes,
    profile: str = policy.DEFAULT_PROFILE,
    accept_test_or_recovery: bool = False,
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
    health = policy.judge(standing(certificate, now=now), profile, accept_tests=accept_test_or_recovery)
    return Decision(*health, holder_id=certificate.holder_id, expires_at=certificate.expires_at,
                    doses=certificate.doses)
