"""The trust-anchor store: import PEM, DER, base64 and JSON lists; list; remove; owner-only files."""

import base64
import json
import stat

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from pintu.data.trust import TrustError, TrustStore, parse_kid
from pintu.rules import hc1

from .factory import ID_KEY, NOW, hc1_code


def der(signer):
    return signer.cert.public_bytes(Encoding.DER)


def pem(signer):
    return signer.cert.public_bytes(Encoding.PEM)


def b64(signer):
    return base64.b64encode(der(signer)).decode()


def kid_b64(signer):
    return base64.b64encode(signer.kid).decode()


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_import_pem_file(tmp_path, ec_signer):
    (tmp_path / "dsc.pem").write_bytes(pem(ec_signer))
    store = TrustStore(tmp_path / "data")
    [anchor] = store.import_file(tmp_path / "dsc.pem")
    assert anchor.kid == ec_signer.kid and anchor.kid_b64 == kid_b64(ec_signer)
    assert anchor.country == "ID" and anchor.key_type == "EC secp256r1"
    assert [a.kid for a in store.list()] == [ec_signer.kid]


def test_import_pem_bundle_and_der(tmp_path, ec_signer, rsa_signer, other_ec_signer):
    (tmp_path / "bundle.pem").write_bytes(pem(ec_signer) + b"\n" + pem(rsa_signer))
    (tmp_path / "dsc.der").write_bytes(der(other_ec_signer))
    store = TrustStore(tmp_path / "data")
    assert len(store.import_file(tmp_path / "bundle.pem")) == 2
    assert store.import_file(tmp_path / "dsc.der")[0].key_type == "EC secp256r1"
    assert {a.kid for a in store.list()} == {ec_signer.kid, rsa_signer.kid, other_ec_signer.kid}
    assert {a.key_type for a in store.list()} == {"EC secp256r1", "RSA 2048"}


def test_import_base64_der_as_in_the_eu_test_data(tmp_path, ec_signer):
    (tmp_path / "dsc.b64").write_text(b64(ec_signer) + "\n")
    assert TrustStore(tmp_path).import_file(tmp_path / "dsc.b64")[0].kid == ec_signer.kid


@pytest.mark.parametrize("shape", ["pintu", "dsc-list", "wrapped-dsc-list"])
def test_import_json_trust_list(tmp_path, ec_signer, rsa_signer, shape):
    signers = [ec_signer, rsa_signer]
    if shape == "pintu":
        doc = {"certificates": [b64(s) for s in signers]}
    else:
        doc = [{"kid": kid_b64(s), "rawData": b64(s), "country": "ID", "certificateType": "DSC"} for s in signers]
        if shape == "wrapped-dsc-list":
            doc = {"certificates": doc}
    (tmp_path / "list.json").write_text(json.dumps(doc))
    store = TrustStore(tmp_path / "data")
    store.import_file(tmp_path / "list.json")
    assert sorted(a.kid for a in store.list()) == sorted(s.kid for s in signers)


def test_json_kid_must_match_the_certificate(tmp_path, ec_signer, rsa_signer):
    doc = [{"kid": kid_b64(rsa_signer), "rawData": b64(ec_signer)}]
    store = TrustStore(tmp_path)
    with pytest.raises(TrustError, match="does not match"):
        store.import_bytes(json.dumps(doc).encode())
    assert store.list() == []


@pytest.mark.parametrize(
    "content",
    [b"", b"hello", b"\x30\x03\x02\x01\x00", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
     b'{"certificates": "x"}', b'[{"rawData": "!!"}]', b"[42]", b"{not json"],
)  # fmt: skip
def test_bad_import_is_refused_and_writes_nothing(tmp_path, content):
    store = TrustStore(tmp_path)
    with pytest.raises(TrustError):
        store.import_bytes(content)
    assert store.list() == []


def test_unusable_key_type_is_refused(tmp_path):
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "P-384")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(NOW - timedelta(1)).not_valid_after(NOW + timedelta(1))
        .sign(key, hashes.SHA384())
    )  # fmt: skip
    with pytest.raises(TrustError, match="P-256"):
        TrustStore(tmp_path).import_bytes(cert.public_bytes(Encoding.PEM))


def test_missing_file(tmp_path):
    with pytest.raises(TrustError, match="cannot read"):
        TrustStore(tmp_path).import_file(tmp_path / "nope.pem")


def test_reimport_is_a_no_op(tmp_path, ec_signer):
    store = TrustStore(tmp_path)
    store.import_bytes(pem(ec_signer))
    store.import_bytes(der(ec_signer))
    assert len(store.list()) == 1
    assert len(list(store.path.iterdir())) == 1


def test_files_are_owner_only(tmp_path, ec_signer, rsa_signer):
    store = TrustStore(tmp_path / "data")
    store.import_bytes(pem(ec_signer) + pem(rsa_signer))
    assert store.path == tmp_path / "data" / "trust"
    assert mode(store.path) == 0o700
    files = list(store.path.iterdir())
    assert len(files) == 2 and all(mode(f) == 0o600 for f in files)
    assert all(f.name.endswith(".der") and len(f.name) == 68 for f in files)


def test_existing_wide_directory_is_tightened(tmp_path, ec_signer):
    (tmp_path / "trust").mkdir(mode=0o755)
    (tmp_path / "trust").chmod(0o755)
    TrustStore(tmp_path).import_bytes(pem(ec_signer))
    assert mode(tmp_path / "trust") == 0o700


@pytest.mark.parametrize("form", ["b64", "b64-unpadded", "b64url", "hex", "HEX", "bytes"])
def test_remove_by_kid(tmp_path, ec_signer, rsa_signer, form):
    store = TrustStore(tmp_path)
    store.import_bytes(pem(ec_signer) + pem(rsa_signer))
    kid = {
        "b64": kid_b64(ec_signer),
        "b64-unpadded": kid_b64(ec_signer).rstrip("="),
        "b64url": base64.urlsafe_b64encode(ec_signer.kid).decode(),
        "hex": ec_signer.kid.hex(),
        "HEX": ec_signer.kid.hex().upper(),
        "bytes": ec_signer.kid,
    }[form]
    [removed] = store.remove(kid)
    assert removed.kid == ec_signer.kid
    assert [a.kid for a in store.list()] == [rsa_signer.kid]
    with pytest.raises(TrustError, match="no trust anchor"):
        store.remove(kid)


@pytest.mark.parametrize("text", ["", "xyz", "DEsVUSvpFA", "0c4b15512be91401ff", "!!!!!!!!!!!!"])
def test_bad_kid_text(text):
    with pytest.raises(TrustError):
        parse_kid(text)


def test_parse_kid_forms():
    kid = bytes.fromhex("0c4b15512be91401")
    assert parse_kid("DEsVUSvpFAE=") == parse_kid("DEsVUSvpFAE") == parse_kid("0c4b15512be91401") == kid


def test_altered_file_is_not_trusted(tmp_path, ec_signer, rsa_signer):
    store = TrustStore(tmp_path)
    [anchor] = store.import_bytes(pem(ec_signer))
    path = store.path / (anchor.sha256 + ".der")
    path.write_bytes(der(rsa_signer))  # same name, other content
    assert TrustStore(tmp_path).list() == []
    (store.path / "notes.txt").write_text("ignored")
    assert TrustStore(tmp_path).list() == []


def test_store_seen_by_another_instance_and_used_by_verify(tmp_path, ec_signer, rsa_signer):
    server, cli = TrustStore(tmp_path), TrustStore(tmp_path)
    code = hc1_code(ec_signer)
    assert hc1.check(code, server.anchors(), now=NOW, id_key=ID_KEY).detail == "unknown_kid"
    cli.import_bytes(pem(ec_signer) + pem(rsa_signer))
    assert hc1.verify(code, server.anchors(), now=NOW, id_key=ID_KEY).kid == ec_signer.kid
    cli.remove(kid_b64(ec_signer))
    assert hc1.check(code, server.anchors(), now=NOW, id_key=ID_KEY).detail == "unknown_kid"


def test_empty_store(tmp_path):
    store = TrustStore(tmp_path / "not-yet")
    assert store.list() == [] and store.anchors() == {}
    assert not store.path.exists()


def test_an_expired_signer_is_refused_unless_allowed(tmp_path):
    from datetime import timedelta

    from .factory import make_signer

    old = make_signer("ec", valid_from=NOW - timedelta(days=800), valid_until=NOW - timedelta(days=400))
    store = TrustStore(tmp_path)
    with pytest.raises(TrustError, match="expired on 2021-04-27"):
        store.import_bytes(pem(old), now=NOW)
    assert store.list() == []
    [anchor] = store.import_bytes(pem(old), now=NOW, allow_expired=True)
    assert anchor.kid == old.kid
    # judged by the clock given: at a time when it was valid it imports without the flag
    assert TrustStore(tmp_path / "then").import_bytes(pem(old), now=NOW - timedelta(days=500))


def test_allowed_types_follow_the_extended_key_usage(ec_signer, vaccination_only_signer, test_only_signer):
    from pintu.data.trust import Anchor  # the property lives on Anchor; the rule in rules/signer.py

    from .factory import EKU_RECOVERY, EKU_TEST, make_signer

    def types(signer):
        return Anchor(signer.kid, "", signer.cert).allowed_types

    assert types(ec_signer) == "vtr"  # no EKU: every type
    assert types(vaccination_only_signer) == "v"
    assert types(test_only_signer) == "t"
    assert types(make_signer("ec", eku=[EKU_RECOVERY, EKU_TEST])) == "tr"
    assert types(make_signer("ec", eku=["1.3.6.1.5.5.7.3.2"])) == "vtr"  # no DCC OID among them: every type


def test_trust_list_shows_validity_and_types(tmp_path, vaccination_only_signer):
    from click.testing import CliRunner

    from pintu.cli import main

    (tmp_path / "dsc.pem").write_bytes(pem(vaccination_only_signer))
    d = str(tmp_path / "data")
    assert CliRunner().invoke(main, ["--data", d, "init"]).exit_code == 0
    assert CliRunner().invoke(main, ["--data", d, "trust", "import", str(tmp_path / "dsc.pem")]).exit_code == 0
    [row] = json.loads(CliRunner().invoke(main, ["--data", d, "trust", "list", "--json"]).stdout)
    cert = vaccination_only_signer.cert
    assert (row["types"], row["not_before"], row["not_after"]) == (
        "v", cert.not_valid_before_utc.date().isoformat(), cert.not_valid_after_utc.date().isoformat())
    table = CliRunner().invoke(main, ["--data", d, "trust", "list"]).stdout
    assert "SIGNS" in table and "VALID FROM" in table


def test_cli_refuses_an_expired_signer_in_one_line(tmp_path):
    from datetime import timedelta

    from click.testing import CliRunner

    from pintu.cli import main

    from .factory import make_signer

    old = make_signer("ec", valid_from=NOW - timedelta(days=800), valid_until=NOW - timedelta(days=400))
    (tmp_path / "old.pem").write_bytes(pem(old))
    d = str(tmp_path / "data")
    assert CliRunner().invoke(main, ["--data", d, "init"]).exit_code == 0
    refused = CliRunner().invoke(main, ["--data", d, "trust", "import", str(tmp_path / "old.pem")])
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1 and "--allow-expired" in refused.stderr
    allowed = CliRunner().invoke(main, ["--data", d, "trust", "import", str(tmp_path / "old.pem"), "--allow-expired"])
    assert allowed.exit_code == 0
