"""EU certificates at a Pintu door: `pintu trust`, `pintu check --at`, the gateway, occupancy and privacy."""

import base64
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding

import pintu_protocol as p
from pintu.cli import main
from pintu.data.datadir import DataDir
from pintu.gateway.gateway import Gateway
from pintu_protocol.verdicts import GREEN
from tests.conftest import shared_data
from tests.dcc import factory


def run(data_dir, *args, expect=None):
    result = CliRunner().invoke(main, ["--data", str(data_dir), *args])
    if expect is not None:
        assert result.exit_code == expect, result.output
    return result


def jrun(data_dir, *args, expect=0):
    return json.loads(run(data_dir, *args, "--json", expect=expect).stdout)


def office(tmp_path, policy="dose1", accept_tests=False):
    d = tmp_path / "data"
    run(d, "init", expect=0)
    extra = ["--accept-tests"] if accept_tests else []
    run(d, "site", "add", "kantor", "--name", "Kantor", "--capacity", "5", "--policy", policy, *extra, expect=0)
    run(d, "door", "add", "lobby", "--site", "kantor", "--direction", "in", expect=0)
    run(d, "door", "add", "belakang", "--site", "kantor", "--direction", "out", expect=0)
    return d


def public_case(name):
    case = json.loads(shared_data("testdata/dcc/" + name).read_text())
    return case, base64.b64decode(case["TESTCTX"]["CERTIFICATE"]), case["TESTCTX"]["VALIDATIONCLOCK"]


@pytest.mark.parametrize(
    "name, verdict, reason",
    [
        ("DE_1_valid.json", "GREEN", "ok"),
        ("common_CO5_bad_signature.json", "INVALID", "forged"),
        ("common_CO17_expired.json", "INVALID", "expired"),
    ],
)
def test_public_cases_through_the_cli(tmp_path, name, verdict, reason):
    case, signer_der, clock = public_case(name)
    d = office(tmp_path)
    (tmp_path / "signer.der").write_bytes(signer_der)
    [anchor] = jrun(d, "trust", "import", str(tmp_path / "signer.der"), "--allow-expired")  # a 2021 signer
    assert [a["kid"] for a in jrun(d, "trust", "list")] == [anchor["kid"]]
    result = run(d, "check", "--door", "lobby", case["PREFIX"], "--at", clock, "--json")
    decided = json.loads(result.stdout)
    assert (decided["verdict"], decided["reason"]) == (verdict, reason)
    assert result.exit_code == (0 if verdict == "GREEN" else 3)


def test_removed_signer_is_no_longer_trusted(tmp_path):
    case, signer_der, clock = public_case("DE_1_valid.json")
    d = office(tmp_path)
    pem = tmp_path / "signer.pem"
    from cryptography import x509

    pem.write_bytes(x509.load_der_x509_certificate(signer_der).public_bytes(Encoding.PEM))
    [anchor] = jrun(d, "trust", "import", str(pem), "--allow-expired")
    jrun(d, "trust", "remove", anchor["kid"])
    assert jrun(d, "trust", "list") == []
    decided = jrun(d, "check", "--door", "lobby", case["PREFIX"], "--at", clock, expect=3)
    assert (decided["verdict"], decided["reason"]) == ("INVALID", "unknown")


def test_bad_trust_file_is_one_line(tmp_path):
    d = office(tmp_path)
    (tmp_path / "junk.pem").write_text("not a certificate")
    result = run(d, "trust", "import", str(tmp_path / "junk.pem"), expect=2)
    assert result.stderr.startswith("pintu: ") and result.stderr.count("\n") == 1


def _trusting(tmp_path, signer, **kw):
    d = office(tmp_path, **kw)
    (tmp_path / "dsc.pem").write_bytes(signer.cert.public_bytes(Encoding.PEM))
    run(d, "trust", "import", str(tmp_path / "dsc.pem"), expect=0)
    return d


AT = factory.NOW.isoformat()


@pytest.mark.parametrize("policy, verdict", [("dose1", "GREEN"), ("full", "HOLD"), ("booster", "RED")])  # HOLD: YELLOW
def test_one_of_two_doses_under_each_policy(tmp_path, ec_signer, policy, verdict):
    d = _trusting(tmp_path, ec_signer, policy=policy)
    code = factory.hc1_code(ec_signer, factory.claims(factory.vaccination(dn=1, sd=2)))
    assert jrun(d, "check", "--door", "lobby", code, "--at", AT, expect=None)["verdict"] == verdict


def test_negative_test_counts_only_where_the_site_accepts_it(tmp_path, ec_signer):
    sample = (factory.NOW - timedelta(hours=20)).isoformat()
    code = factory.hc1_code(ec_signer, factory.claims(factory.lab_test(sample)))
    strict = _trusting(tmp_path / "strict", ec_signer)
    assert jrun(strict, "check", "--door", "lobby", code, "--at", AT, expect=3)["verdict"] == "INVALID"
    lenient = _trusting(tmp_path / "lenient", ec_signer, accept_tests=True)
    assert jrun(lenient, "check", "--door", "lobby", code, "--at", AT, expect=0)["verdict"] == "GREEN"


def test_holder_is_counted_once_and_checked_out_and_nothing_personal_is_stored(tmp_path, ec_signer):
    d = _trusting(tmp_path, ec_signer)
    code = factory.hc1_code(ec_signer, factory.claims(factory.vaccination(dn=2, sd=2)))
    first = jrun(d, "check", "--door", "lobby", code, "--at", AT)
    again = jrun(d, "check", "--door", "lobby", code, "--at", AT, expect=3)  # anti-passback: refused, not counted
    assert (first["verdict"], first["occupancy"]) == ("GREEN", 1)
    assert (again["verdict"], again["reason"], again["occupancy"]) == ("INVALID", "already_inside", 1)
    out = jrun(d, "check", "--door", "belakang", code, "--at", AT)
    assert (out["verdict"], out["occupancy"]) == ("EXIT", 0)

    with DataDir(d) as data:
        dump = "\n".join(data.store._db.iterdump())
    raw = b"".join(Path(root, f).read_bytes() for root, _, files in os.walk(d) for f in files)
    for secret in (factory.NAME["fn"], factory.NAME["gn"], factory.NAME["fnt"], factory.DOB, factory.CI,
                   factory.CI.split(":")[-1], code):
        assert secret not in dump, secret
        assert secret.encode() not in raw, secret


def test_a_door_unit_scanning_a_certificate(tmp_path):
    case, signer_der, clock = public_case("DE_1_valid.json")
    d = office(tmp_path)
    (tmp_path / "signer.der").write_bytes(signer_der)
    run(d, "trust", "import", str(tmp_path / "signer.der"), "--allow-expired", expect=0)
    with DataDir(d) as data:
        from pintu.registry import provision
        from pintu.registry.validate import parse_time

        _, cfg_path = provision.add_unit(data, "door-1", "lobby")
        cfg = json.loads(Path(cfg_path).read_text())
        unit = p.Session("door-1", bytes.fromhex(cfg["key"]), p.UNIT)
        gateway = Gateway(data, clock=lambda: parse_time(clock, 0))
        [frame] = gateway.handle(unit.send(p.Scan(1, "lobby", p.IN, case["PREFIX"].encode())), lambda f: None)
        verdict = unit.receive(frame)
        assert (verdict.verdict, verdict.occupancy) == (GREEN, 1)
