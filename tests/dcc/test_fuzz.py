"""Hostile input: whatever a visitor shows, verify returns a Certificate or raises DccError (never "internal")."""

import zlib
from datetime import timedelta, timezone

import base45
import cbor2
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pintu.rules import eu_rules, hc1, policy

from .factory import ID_KEY, NOW, claims, cose, encode, hc1_code, make_signer

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SIGNER = make_signer("ec")  # module level: hypothesis re-runs the test body, not the fixtures
ANCHORS = hc1.index_anchors([SIGNER.cert])
GOOD_COSE = cose(SIGNER)
B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def outcome(code, now=NOW):
    step = _outcome(code, now)
    try:
        event(step)  # --hypothesis-show-statistics shows how deep the inputs reach
    except Exception:  # outside a hypothesis test
        pass
    return step


def _outcome(code, now):
    try:
        result = hc1.verify(code, ANCHORS, now=now, id_key=ID_KEY)
    except hc1.DccError as exc:
        assert exc.step in hc1.STEPS and exc.step != "internal", exc
        assert exc.reason == hc1.STEPS[exc.step]
        return exc.step
    assert isinstance(result, hc1.Certificate)
    decision = policy.judge(eu_rules.standing(result, now=now), "full", accept_tests=True)
    assert decision.verdict in (0, 1, 2, 3, 5)
    return "ok"


def test_the_fuzz_baseline_verifies():
    assert outcome(encode(GOOD_COSE)) == "ok"


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text):
    outcome(text)
    outcome("HC1:" + text)


@FUZZ
@given(st.text(alphabet=B45_ALPHABET, max_size=400))
def test_random_base45_text(text):
    outcome("HC1:" + text)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_after_prefix(blob):
    outcome("HC1:" + base45.b45encode(blob).decode())
    outcome("HC1:" + base45.b45encode(zlib.compress(blob)).decode())


def _mutate(data, edits):
    data = bytearray(data)
    for position, kind, value in edits:
        if not data:
            break
        i = position % len(data)
        if kind == 0:
            data[i] ^= 1 << (value % 8)
        elif kind == 1:
            data[i] = value
        elif kind == 2:
            del data[i]
        else:
            data.insert(i, value)
    return bytes(data)


EDITS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.integers(0, 255)), min_size=1, max_size=6)


@FUZZ
@given(EDITS)
def test_mutated_valid_code_at_every_layer(edits):
    text = encode(GOOD_COSE)
    outcome(text[:4] + _mutate(text[4:].encode(), edits).decode("latin-1"))  # the base45 text
    outcome("HC1:" + base45.b45encode(_mutate(zlib.compress(GOOD_COSE), edits)).decode())  # the zlib stream
    mutated = _mutate(GOOD_COSE, edits)
    if outcome(encode(mutated)) == "ok":  # then only unsigned framing changed (the tag, the unprotected header)
        signed = [part for i, part in enumerate(_sign1_parts(mutated)) if i != 1]
        assert signed == [part for i, part in enumerate(_sign1_parts(GOOD_COSE)) if i != 1]


def _sign1_parts(blob):
    message = cbor2.loads(blob)
    while isinstance(message, cbor2.CBORTag):
        message = message.value
    return message


CBOR_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=30),
    st.binary(max_size=30),
    st.sampled_from(["2022-05-01", "2022-06-01T10:00:00Z", "260415000", "260373001", "URN:UVCI:X", "", "v", "t"]),
)
CBOR_VALUE = st.recursive(
    CBOR_LEAF,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers(-300, 10)), children, max_size=5),
        st.builds(cbor2.CBORTag, st.sampled_from([0, 1, 2, 4, 18, 24, 30, 32, 35, 61, 258, 1004, 55799]), children),
    ),
    max_leaves=25,
)


def _mostly(good):
    # One field in eight is junk, so that many inputs get past "hcert" to the policy.
    return st.integers(0, 7).flatmap(lambda n: CBOR_LEAF if n == 0 else good)


DATES = st.dates().map(str)
OFFSETS = st.builds(timezone, st.timedeltas(timedelta(hours=-23, minutes=-59), timedelta(hours=23, minutes=59)))
TIMES = st.one_of(st.datetimes().map(lambda t: t.isoformat() + "Z"), st.datetimes(timezones=OFFSETS).map(str))
ENTRY = st.fixed_dictionaries(
    {
        "ci": _mostly(st.just("URN:UVCI:01:ID:FUZZ#1")),
        "dn": _mostly(st.integers(0, 5)),
        "sd": _mostly(st.integers(0, 5)),
        "dt": _mostly(DATES),
        "sc": _mostly(TIMES),
        "tr": _mostly(st.sampled_from([hc1.TEST_NOT_DETECTED, hc1.TEST_DETECTED])),
        "df": _mostly(DATES),
        "du": _mostly(DATES),
    }
)
HCERT = st.one_of(
    CBOR_VALUE,
    st.dictionaries(
        st.sampled_from(["v", "t", "r", "nam", "dob", "ver"]), st.one_of(st.lists(ENTRY, max_size=3), CBOR_VALUE)
    ),
)


def _tagged(value):
    try:
        return cbor2.dumps(value)
    except Exception:  # a tag whose content cbor2 refuses to encode: not an input a visitor can send anyway
        return None


@FUZZ
@given(st.one_of(CBOR_VALUE, st.builds(lambda x: cbor2.CBORTag(18, x), st.lists(CBOR_VALUE, min_size=4, max_size=4))))
def test_random_cbor_as_the_cose_message(value):
    blob = _tagged(value)
    if blob is not None:
        outcome(encode(blob))


@FUZZ
@given(
    HCERT,
    st.one_of(st.integers(-(2**40), 2**40), st.floats(), st.text(max_size=5), st.none()),
    st.one_of(st.integers(-(2**40), 2**40), st.floats(), st.none()),
)
def test_signed_hostile_payloads(hcert, iat, exp):
    # The hardest case: a trusted signer signed nonsense. Everything after the signature must still be type-checked.
    payload = claims(hcert)
    payload[6], payload[4] = iat, exp
    blob = _tagged(payload)
    if blob is not None:
        outcome(hc1_code(SIGNER, blob))
    sane = claims(hcert)
    blob = _tagged(sane)
    if blob is not None:
        outcome(hc1_code(SIGNER, blob))


@FUZZ
@given(st.lists(ENTRY, min_size=1, max_size=2), st.sampled_from(["v", "t", "r"]), st.integers(-400, 400))
def test_signed_entries_any_decision_time(entries, kind, hours):
    outcome(hc1_code(SIGNER, claims({kind: entries})), now=NOW + timedelta(hours=hours))


@pytest.mark.parametrize("code", [None, 42, b"HC1:\xff", bytearray(b"HC1:"), ["HC1:"]])
def test_non_text_input(code):
    outcome(code)
