"""Verified EU certificates are remembered by digest (issue 17, hc1.verify's `remembered`): the next scan of the same
code skips the signature, yet a signer the operator removes refuses it at once, its times are checked at every scan,
and what is remembered holds nothing personal."""

from datetime import timedelta

from cryptography.hazmat.primitives.serialization import Encoding

from pintu import checkin, registry
from pintu.data.datadir import DataDir
from pintu.rules import hc1
from tests.dcc import factory

AT = factory.NOW.timestamp()


def _office(tmp_path, signer):
    data, _ = DataDir.init(tmp_path / "data")
    registry.add_site(data, "kantor", "Kantor", 5, "dose1", "", "8h")
    registry.add_door(data, "lobby", "kantor", "in")
    [anchor] = data.trust.import_bytes(signer.cert.public_bytes(Encoding.PEM))
    return data, anchor


def _check(data, code, at=AT):
    decision = checkin.check(data, "lobby", code, at=at, dry_run=True)
    return decision.verdict_name, decision.reason_name


def test_a_remembered_certificate_is_checked_again_for_its_signer_and_its_times(tmp_path, ec_signer):
    data, anchor = _office(tmp_path, ec_signer)
    code = factory.hc1_code(ec_signer, factory.claims(factory.vaccination(dn=2, sd=2),
                                                      exp=factory.NOW + timedelta(days=2)))
    with data:
        assert _check(data, code) == ("GREEN", "ok")
        [known] = [v for v in data.verified.values() if not hasattr(v, "reason")]
        assert _check(data, code) == ("GREEN", "ok")  # from memory this time
        # Nothing personal is kept: no name, birth date or certificate identifier, and not the code itself.
        for secret in (factory.NAME["fn"], factory.NAME["gn"], factory.DOB, factory.CI, code):
            assert secret not in repr(known) and secret not in repr(list(data.verified))
        assert _check(data, code, at=AT + 3 * 86400) == ("INVALID", "expired")  # times: at every scan
        assert _check(data, code, at=AT - 60 * 86400) == ("INVALID", "not_yet_valid")
        data.trust.remove(anchor.kid)  # the operator stops trusting the signer: refused at once
        assert _check(data, code) == ("INVALID", "unknown")


def test_remembering_changes_no_outcome(tmp_path, ec_signer):
    """The same codes verified with and without memory give the same certificates and the same refusals."""
    anchors = hc1.index_anchors([ec_signer.cert])
    now = factory.NOW
    codes = [factory.hc1_code(ec_signer, factory.claims(factory.vaccination(dn=1, sd=2))),
             factory.hc1_code(ec_signer, factory.claims(factory.lab_test((now - timedelta(hours=20)).isoformat()))),
             factory.hc1_code(ec_signer, factory.claims(factory.vaccination(dt="2099-01-01")))]
    remembered = {}
    for code in codes * 2:
        for when in (now, now + timedelta(days=400)):
            outcomes = []
            for memory in (None, remembered):
                try:
                    outcomes.append(hc1.verify(code, anchors, now=when, id_key=b"k" * 32, remembered=memory))
                except hc1.DccError as e:
                    outcomes.append(e.step)
            assert outcomes[0] == outcomes[1]
