"""The three public EU DCC test cases (../shared/testdata/dcc, beside the clone; skipped without it outside CI),
each at its own clock with its own signer only."""

import base64
import json
from datetime import datetime

import pytest
from cryptography import x509

from pintu.rules import hc1
from pintu_protocol.verdicts import GREEN, INVALID, R_EXPIRED, R_FORGED, YELLOW
from tests.conftest import shared_data

ID_KEY = b"public-case secret"


def load_case(name):
    case = json.loads(shared_data("testdata/dcc/" + name).read_text(encoding="utf-8"))
    ctx = case["TESTCTX"]
    signer = x509.load_der_x509_certificate(base64.b64decode(ctx["CERTIFICATE"]))
    clock = datetime.fromisoformat(ctx["VALIDATIONCLOCK"].replace("Z", "+00:00"))
    return case, hc1.index_anchors([signer]), clock


def test_valid_case_is_admitted_under_dose1():
    case, anchors, clock = load_case("DE_1_valid.json")
    assert case["EXPECTEDRESULTS"]["EXPECTEDVERIFY"] is True
    decision = hc1.check(case["PREFIX"], anchors, now=clock, id_key=ID_KEY, profile="dose1")
    # 2 of 2 doses, the last on 2021-05-29, checked on 2021-06-01: inside VR-EU-0003's 14-day wait, so a first dose
    assert (decision.verdict, decision.detail) == (GREEN, "doses=1")
    assert decision.holder_id == hc1.keyed_id(case["JSON"]["v"][0]["ci"], ID_KEY)


def test_valid_case_result_holds_no_personal_field():
    case, anchors, clock = load_case("DE_1_valid.json")
    cert = hc1.verify(case["PREFIX"], anchors, now=clock, id_key=ID_KEY)
    assert cert.issuer == "DE" and cert.doses == 2
    text = repr(cert) + repr(vars(cert))
    for personal in ("Mustermann", "MUSTERMANN", "Erika", "1964", case["JSON"]["v"][0]["ci"], "IZ12345A"):
        assert personal not in text


def test_bad_signature_case_is_invalid():
    case, anchors, clock = load_case("common_CO5_bad_signature.json")
    assert case["EXPECTEDRESULTS"]["EXPECTEDVERIFY"] is False
    with pytest.raises(hc1.DccError) as err:
        hc1.verify(case["PREFIX"], anchors, now=clock, id_key=ID_KEY)
    assert err.value.step == "signature"
    decision = hc1.check(case["PREFIX"], anchors, now=clock, id_key=ID_KEY)
    assert (decision.verdict, decision.reason, decision.detail) == (INVALID, R_FORGED, "signature")


def test_expired_case_is_invalid():
    case, anchors, clock = load_case("common_CO17_expired.json")
    assert case["EXPECTEDRESULTS"]["EXPECTEDEXPIRATIONCHECK"] is False
    decision = hc1.check(case["PREFIX"], anchors, now=clock, id_key=ID_KEY)
    assert (decision.verdict, decision.reason, decision.detail) == (INVALID, R_EXPIRED, "expired")


def test_valid_case_without_its_signer_is_unknown_kid():
    case, _, clock = load_case("DE_1_valid.json")
    _, other_anchors, _ = load_case("common_CO5_bad_signature.json")
    decision = hc1.check(case["PREFIX"], other_anchors, now=clock, id_key=ID_KEY)
    assert (decision.verdict, decision.detail) == (INVALID, "unknown_kid")


def test_valid_case_through_the_trust_store(tmp_path):
    from pintu.data.trust import TrustStore

    case, _, clock = load_case("DE_1_valid.json")
    (tmp_path / "signer.b64").write_text(case["TESTCTX"]["CERTIFICATE"])
    store = TrustStore(tmp_path / "data")
    [anchor] = store.import_file(tmp_path / "signer.b64", allow_expired=True)  # expired 2022-04-30
    assert anchor.kid_b64 == "DEsVUSvpFAE=" and anchor.country == "DE"
    decision = hc1.check(case["PREFIX"], store.anchors(), now=clock, id_key=ID_KEY, profile="dose1")
    assert (decision.verdict, decision.doses) == (GREEN, 1)
    # under "full" the series protects from 2021-06-12 (VR-EU-0003: dt + 14 days); the guard checks until then
    full = hc1.check(case["PREFIX"], store.anchors(), now=clock, id_key=ID_KEY, profile="full")
    assert (full.verdict, full.doses) == (YELLOW, 1)
    later = datetime.fromisoformat("2021-06-12T00:00:00+00:00")
    assert hc1.check(case["PREFIX"], store.anchors(), now=later, id_key=ID_KEY, profile="full").verdict == GREEN
    store.remove("DEsVUSvpFAE=")
    assert hc1.check(case["PREFIX"], store.anchors(), now=clock, id_key=ID_KEY).detail == "unknown_kid"
