"""Hostile input against the real host parts: frames, serial streams, codes, CSV rows, MQTT clients.

Budget: the hypothesis profile of tests/conftest.py — 150 examples per property by default (CI), 5,000 with
PINTU_HYPOTHESIS=long; the seeded campaign runs 30 rounds by default and 500 with PINTU_HYPOTHESIS=long
(bench/hostile.py prints the same campaign's figures)."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pintu_protocol as p
from pintu import checkin
from pintu_protocol.verdicts import GREEN
from tests.conftest import require_program
from tests.reliability.hostile import ADMITS, SQL, Tally, Target, mqtt_campaign, run_campaign
from tests.reliability.hostile_decoders import run_decoders

LONG = os.environ.get("PINTU_HYPOTHESIS") == "long"
ROUNDS = 500 if LONG else 30
# The target is built once per test, not per example: hypothesis must not complain that it is a fixture.
FIXTURE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def target(tmp_path):
    target = Target(tmp_path / "data")
    yield target
    target.close()


def test_seeded_campaign_accepts_nothing_and_never_crashes(tmp_path):
    tally = run_campaign(tmp_path / "data", ROUNDS, seed=int(os.environ.get("PINTU_SEED", "1")))
    totals = tally.totals()
    assert totals["tried"] > 15 * ROUNDS
    assert (totals["wrongly_accepted"], totals["crashes"]) == (0, 0), tally.examples
    assert len(tally.tried) >= 25  # every kind of attack ran


def test_decoder_campaign_accepts_nothing_and_never_crashes():
    """The short CI version of the campaign at scale (bench/hostile.py --decoders 1000000)."""
    tally = run_decoders(Tally(), 100_000 if LONG else 5_000, seed=int(os.environ.get("PINTU_SEED", "1")))
    totals = tally.totals()
    assert totals["tried"] == (100_000 if LONG else 5_000)
    assert (totals["wrongly_accepted"], totals["crashes"]) == (0, 0), tally.examples
    assert len(tally.tried) >= 10  # every kind ran


def test_controls_the_attacks_start_from_are_accepted(target):
    """The attacks edit things that work: a valid frame is answered, a valid card admitted."""
    # The dry run first: once the card's holder is inside, anti-passback refuses the card at an entry door.
    assert checkin.decide_scan(target.data, target.valid, door="lobby", dry_run=True).verdict == GREEN
    frame = target.send("door-1", p.Scan(1, "lobby", p.IN, target.valid))
    answers, crashed = target.handle(frame)
    assert not crashed and target.sessions["door-1"].receive(answers[0]).verdict == GREEN


@FIXTURE
@given(st.binary(max_size=p.MAX_FRAME + 100))
def test_arbitrary_bytes_as_a_frame_are_dropped(target, data):
    answers, crashed = target.handle(data)
    assert answers == [] and not crashed


@FIXTURE
@given(st.data())
def test_any_mutation_of_a_valid_frame_is_dropped(target, data):
    frame = bytearray(target.send("door-1", p.Scan(1, "lobby", p.IN, target.valid)))
    positions = data.draw(st.lists(st.integers(0, len(frame) - 1), min_size=1, max_size=4, unique=True))
    for i in positions:
        frame[i] ^= data.draw(st.integers(1, 255))
    answers, crashed = target.handle(bytes(frame))
    assert not crashed
    for answer in answers:  # only an ERROR may come back, for a frame whose header alone was changed to a newer one
        assert type(target.sessions["door-1"].receive(answer)) is p.Error


@FIXTURE
@given(st.one_of(st.binary(max_size=1200), st.text(max_size=1200).map(str.encode),
                 st.sampled_from(SQL).map(str.encode), st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:",
                                                              max_size=200).map(lambda s: ("PN1:" + s).encode())))
def test_no_made_up_code_is_admitted(target, code):
    decision = checkin.decide_scan(target.data, code, door="lobby")
    assert decision.verdict not in ADMITS


@FIXTURE
@given(st.lists(st.binary(max_size=600), max_size=8))
def test_stream_decoder_survives_any_chunks(target, chunks):
    decoder = p.StreamDecoder()
    for chunk in chunks:
        decoder.feed(chunk)
        for frame in decoder.frames():
            assert len(frame) <= p.MAX_FRAME
            answers, crashed = target.handle(frame)
            assert answers == [] and not crashed


def test_huge_and_empty_codes_at_the_cli(tmp_path, target):
    import subprocess

    from tests.gateway.test_serve import PINTU

    env = dict(os.environ, PINTU_DATA=target.office.path)
    for code in ("", "PN1:" + "A" * 10000, "'; DROP TABLE persons; --"):
        result = subprocess.run(PINTU + ["check", "--door", "lobby", "-"], input=code, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode in (2, 3), result.stderr
        assert "GREEN" not in result.stdout and "Traceback" not in result.stderr


def test_sql_in_the_csv_of_person_import_is_data(tmp_path, target):
    import csv
    import subprocess

    from tests.gateway.test_serve import PINTU

    path = tmp_path / "persons.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["nik", "name", "role", "dose1", "dose2", "dose3", "status", "status_until"])
        w.writerow(["3275019999000001", SQL[0], "visitor", "2021-03-01", "", "", "", ""])
        w.writerow(["3275019999000002", "Ana", SQL[1], "", "", "", "", ""])  # a bad role: refused by line
        w.writerow([SQL[2], "Ana", "visitor", "", "", "", "", ""])  # a bad NIK: refused by line
        w.writerow(["3275019999000003", "Ana", "visitor", SQL[3], "", "", "", ""])  # a bad date
    env = dict(os.environ, PINTU_DATA=target.office.path)
    refused = subprocess.run(PINTU + ["person", "import", str(path)], env=env, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    for line in (3, 4, 5):
        assert "line %d" % line in refused.stderr or "%d" % line in refused.stderr, refused.stderr
    done = subprocess.run(PINTU + ["person", "import", str(path), "--skip-bad"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    row = target.data.store.find_person(target.data.nik.hash("3275019999000001"))
    assert row["name"] == SQL[0]  # stored verbatim, as text
    assert target.data.store.count_persons() == 6  # the office's four, the revoked one, and this row
    assert target.data.store.get_site("kantor")["capacity"] == 50


@pytest.mark.mosquitto
def test_mqtt_other_topic_no_credentials_revoked(tmp_path):
    require_program("mosquitto", "apt-get install mosquitto (make test does it)")
    tally = Tally()
    mqtt_campaign(str(tmp_path), tally, rounds=2)
    assert tally.totals() == {"tried": 8, "wrongly_accepted": 0, "crashes": 0}, tally.examples
