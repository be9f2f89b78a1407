"""DCC schema 1.3 conformance: each constraint refused with its field named (never its value), and a property: a
signed payload that breaks any schema constraint is never admitted, under any profile, even where tests count."""

import copy
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pintu.rules import dcc_schema, hc1, policy

from .factory import ID_KEY, NOW, claims, hc1_code, lab_test, make_signer, recovery, vaccination

SIGNER = make_signer("ec")
ANCHORS = hc1.index_anchors([SIGNER.cert])
BASES = {
    "v": vaccination(),
    "t": lab_test((NOW - timedelta(hours=2)).isoformat()),
    "r": recovery("2022-05-01", "2022-10-01"),
}


def refusal(hcert):
    with pytest.raises(hc1.DccError) as err:
        hc1.verify(hc1_code(SIGNER, claims(hcert)), ANCHORS, now=NOW, id_key=ID_KEY)
    return err.value.step, err.value.detail


def changed(kind, path, value=None, drop=False):
    hcert = copy.deepcopy(BASES[kind])
    target = hcert
    for key in path[:-1]:
        target = target[key]
    if drop:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return hcert


@pytest.mark.parametrize(
    "kind, path, value, drop, field",
    [
        ("v", ["ver"], None, True, "ver"),
        ("v", ["ver"], "2.0.0", False, "ver"),  # a major version this verifier does not read
        ("v", ["ver"], "1.3", False, "ver"),
        ("v", ["nam"], None, True, "nam"),
        ("v", ["nam", "fnt"], None, True, "nam.fnt"),
        ("v", ["nam", "fnt"], "Wibisono", False, "nam.fnt"),  # not ICAO 9303 transliterated
        ("v", ["nam", "gnt"], "AYU 2", False, "nam.gnt"),
        ("v", ["nam", "fn"], "W" * 81, False, "nam.fn"),
        ("v", ["dob"], None, True, "dob"),
        ("v", ["dob"], "1887-03-14", False, "dob"),  # schema range 1900-2099
        ("v", ["dob"], 19870314, False, "dob"),
        ("v", ["v"], [], False, "v"),
        ("v", ["v", 0, "dn"], 2.0, False, "v[0].dn"),
        ("v", ["v", 0, "dn"], True, False, "v[0].dn"),
        ("v", ["v", 0, "sd"], "2", False, "v[0].sd"),
        ("v", ["v", 0, "mp"], "", False, "v[0].mp"),
        ("v", ["v", 0, "ma"], None, True, "v[0].ma"),
        ("v", ["v", 0, "vp"], None, True, "v[0].vp"),
        ("v", ["v", 0, "co"], "id", False, "v[0].co"),
        ("v", ["v", 0, "is"], "M" * 81, False, "v[0].is"),
        ("v", ["v", 0, "ci"], "", False, "v[0].ci"),
        ("v", ["v", 0, "ci"], "U" * 81, False, "v[0].ci"),
        ("v", ["v", 0, "dt"], "2022-02-30", False, "v[0].dt"),
        ("t", ["t", 0, "sc"], "2022-06-01", False, "t[0].sc"),  # a date, not a date-time
        ("t", ["t", 0, "sc"], "2022-06-01T25:00:00Z", False, "t[0].sc"),
        ("t", ["t", 0, "tc"], None, True, "t[0].tc"),
        ("t", ["t", 0, "tr"], 260415000, False, "t[0].tr"),
        ("t", ["t", 0, "nm"], 5, False, "t[0].nm"),
        ("r", ["r", 0, "fr"], None, True, "r[0].fr"),
        ("r", ["r", 0, "du"], "2022-10", False, "r[0].du"),
    ],
)
def test_each_constraint_names_its_field(kind, path, value, drop, field):
    # the reason is the field's path and nothing else: never the offending value
    assert refusal(changed(kind, path, value, drop)) == ("schema", field)


def test_exactly_one_type_of_entry():
    both = copy.deepcopy(BASES["v"])
    both["r"] = BASES["r"]["r"]
    assert refusal(both) == ("schema", "v/t/r")
    none = {key: value for key, value in BASES["v"].items() if key != "v"}
    assert refusal(none) == ("schema", "v/t/r")


def test_public_schema_versions_pass():
    for version in ("1.0.0", "1.2.1", "1.3.0"):
        assert dcc_schema.check(changed("v", ["ver"], version)) == "v"


# Values that break the schema wherever a string is required; dose numbers have their own.
NOT_TEXT = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.binary(max_size=4),
                     st.lists(st.integers(), max_size=2), st.booleans(), st.text(min_size=81, max_size=90))
NOT_DOSE = st.one_of(st.integers().filter(lambda n: not 1 <= n <= 9), st.text(max_size=2), st.floats(),
                     st.booleans(), st.none())
REQUIRED = {kind: list(fields) for kind, fields in dcc_schema._ENTRY_FIELDS.items()}


@st.composite
def broken(draw):
    kind = draw(st.sampled_from("vtr"))
    hcert = copy.deepcopy(BASES[kind])
    entry = hcert[kind][0]
    how = draw(st.sampled_from(["drop", "retype", "top", "extra_entry", "extra_group", "name"]))
    if how == "drop":
        del entry[draw(st.sampled_from(REQUIRED[kind]))]
    elif how == "retype":
        field = draw(st.sampled_from(REQUIRED[kind]))
        entry[field] = draw(NOT_DOSE if field in ("dn", "sd") else NOT_TEXT)
    elif how == "top":
        field = draw(st.sampled_from(["ver", "dob", "nam"]))
        if draw(st.booleans()):
            del hcert[field]
        else:
            hcert[field] = draw(NOT_TEXT)
    elif how == "extra_entry":
        hcert[kind] = hcert[kind] * draw(st.integers(min_value=2, max_value=60))
    elif how == "extra_group":
        other = draw(st.sampled_from([k for k in "vtr" if k != kind]))
        hcert[other] = BASES[other][other]
    else:
        # Not an ICAO transliteration ("<" alone is one: isupper() is False for it, so it cannot be the test).
        hcert["nam"]["fnt"] = draw(st.text(min_size=1, max_size=20).filter(lambda t: not dcc_schema._ICAO.fullmatch(t)))
    return hcert


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken())
def test_a_payload_breaking_the_schema_is_never_admitted(hcert):
    code = hc1_code(SIGNER, claims(hcert))
    for profile in policy.PROFILES:
        decision = hc1.check(code, ANCHORS, now=NOW, id_key=ID_KEY, profile=profile, accept_test_or_recovery=True)
        assert not policy.admitted(decision.verdict), (decision.detail, hcert)


def test_the_unbroken_bases_are_admitted():
    for kind, hcert in BASES.items():
        d = hc1.check(hc1_code(SIGNER, claims(hcert)), ANCHORS, now=NOW, id_key=ID_KEY, accept_test_or_recovery=True)
        assert policy.admitted(d.verdict), (kind, d.detail)
