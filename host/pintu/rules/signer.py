"""What a signer (DSC) certificate allows: when it may have signed, and which certificate types it may sign.

Pure: the signer certificate and the signed times in, a DccError out. Used by hc1.verify on every scan, and by
data/trust.py to tell the operator, on import and in `pintu trust list`, what each signer may sign and until when.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from pintu.rules.cose import DccError

ENTRY_TYPES = "vtr"  # vaccination, test, recovery: the hcert's three entry groups

# Extended key usage OIDs a signer certificate may carry to limit which certificate types it signs (eHealth Network,
# "Technical specifications for EU DCC", vol. 1, 5.1.1: one OID per type; a DSC with none of them may sign all
# three). Both the official arc and the mistyped arc (with ".0.") seen in issued DSCs, including the public test data.
EKU_TYPES = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}


def allowed_types(signer: x509.Certificate) -> str:
    """The entry types ("v", "t", "r", in that order) this signer may sign, by its extended key usage.

    No EKU extension, or one with no DCC OID: all three (vol. 1, 5.1.1). An EKU extension that cannot be parsed
    allows nothing: a restriction we cannot read is no licence to sign everything (when in doubt, refuse)."""
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return ENTRY_TYPES
    except Exception:  # a malformed extension
        return ""
    allowed = {EKU_TYPES[oid.dotted_string] for oid in eku if oid.dotted_string in EKU_TYPES}
    if not allowed:
        return ENTRY_TYPES
    return "".join(kind for kind in ENTRY_TYPES if kind in allowed)


def check_signer(signer: x509.Certificate, issued_at: datetime, expires_at: datetime, present: str) -> None:
    """Refuse a certificate its signer could not have issued. present: the entry types the hcert holds.

    - eHealth Network, "Technical specifications for EU DCC", vol. 1, 5.1.1 (DSC validity): a DSC signs only within
      its own validity, and a health certificate must not outlive the DSC that signed it. So iat must lie within
      notBefore..notAfter and exp must not be after notAfter (a DCC signed by a DSC that had expired, or that was
      not yet valid, is refused however genuine the signature is).
    - vol. 1, 5.1.1 (extended key usage): a DSC restricted to some types signs only those.
    """
    not_before, not_after = signer.not_valid_before_utc, signer.not_valid_after_utc
    if issued_at < not_before:
        raise DccError("signer_validity", "issued before the signer certificate was valid")
    if issued_at > not_after:
        raise DccError("signer_validity", "issued after the signer certificate expired")
    if expires_at > not_after:
        raise DccError("signer_validity", "expires after the signer certificate")
    allowed = allowed_types(signer)
    refused = [kind for kind in present if kind not in allowed]
    if refused:
        raise DccError("key_usage", "signer may sign %s only, not %s" % (allowed or "nothing", "".join(refused)))
