"""The CSV import as an office's IT officer uses it (issue 15): re-imports keep what the roster does not say, strict
parsing with line numbers, a summary of what changed, --dry-run, and short write transactions."""

import json

import pytest
from click.testing import CliRunner

from pintu import checkin, registry
from pintu.cli import main
from pintu.data.store import open_database
from pintu.errors import PintuError
from pintu.registry import cards
from pintu.registry.person_import import BATCH
from pintu_protocol.verdicts import verdict_name

from .conftest import NIK, NOW, make_nik

HEADER = "nik,name,role,dose1,dose2,dose3,status,status_until\n"
ROSTER = HEADER + "%s,Budi,staff,2021-06-01,2021-07-01,,,\n%s,Dewi,asn,2021-05-01,2021-06-01,,,\n" % (
    NIK["budi"],
    NIK["dewi"],
)


def write(tmp_path, text, name="staff.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_import(data, path, **kw):
    rows, _ = registry.read_import_file(path)
    return registry.import_persons(data, rows, at=NOW, **kw)


def verdict(data, nik, site):
    code = cards.issue_card(data, nik, site, at=NOW)["code"]
    return verdict_name(checkin.check(data, "lobby", code, dry_run=True, at=NOW).verdict)


def test_reimporting_the_same_roster_keeps_a_positive_person_refused(data, site, tmp_path):
    path = write(tmp_path, ROSTER)
    run_import(data, path)
    registry.set_status(data, NIK["dewi"], "positive", at=NOW)
    assert verdict(data, NIK["dewi"], site) == "BLACK"
    report = run_import(data, path)  # last week's file again: empty status cells
    assert registry.show_person(data, NIK["dewi"])["status"] == "positive"
    assert verdict(data, NIK["dewi"], site) == "BLACK"
    assert (report.unchanged, report.statuses, report.lowered) == (2, 0, [])


def test_a_roster_without_dose_columns_keeps_every_dose(data, tmp_path):
    run_import(data, write(tmp_path, ROSTER))
    run_import(data, write(tmp_path, "nik,name,role\n%s,Budi Santoso,staff\n" % NIK["budi"], "names.csv"))
    budi = registry.show_person(data, NIK["budi"])
    assert budi["name"] == "Budi Santoso" and [d["date"] for d in budi["doses"]] == ["2021-06-01", "2021-07-01"]


def test_clear_in_the_file_clears_and_the_summary_says_it_was_lowered(data, tmp_path):
    run_import(data, write(tmp_path, ROSTER))
    registry.set_status(data, NIK["dewi"], "contact", at=NOW)
    path = write(tmp_path, HEADER + "%s,,,,,,clear,\n%s,,,,,,positive,2021-09-20\n" % (NIK["dewi"], NIK["budi"]))
    dry = run_import(data, path, dry_run=True)
    assert (dry.lowered, dry.statuses, dry.dry_run) == ([2], 2, True)
    assert registry.show_person(data, NIK["dewi"])["status"] == "contact"  # a dry run writes nothing
    report = run_import(data, path)
    assert (report.lowered, report.statuses, report.updated) == ([2], 2, 2)
    assert registry.show_person(data, NIK["dewi"])["status"] == "clear"
    budi = registry.show_person(data, NIK["budi"])
    assert (budi["status"], budi["status_until"]) == ("positive", "2021-09-20")


def test_doses_are_only_added_and_a_different_date_is_refused(data, tmp_path):
    run_import(data, write(tmp_path, ROSTER))
    report = run_import(data, write(tmp_path, HEADER + "%s,,,2021-06-01,2021-07-01,2021-08-20,,\n" % NIK["budi"]))
    assert report.doses_added == 1
    assert len(registry.show_person(data, NIK["budi"])["doses"]) == 3
    with pytest.raises(PintuError, match="nothing imported") as caught:
        run_import(data, write(tmp_path, HEADER + "%s,,,2021-06-02,,,,\n" % NIK["dewi"]))
    assert "differs from the recorded 2021-05-01" in caught.value.report.bad[0][1]


def test_a_stray_quote_is_an_error_with_its_line_and_nothing_is_imported(data, tmp_path):
    text = HEADER + (
        '%s,"Budi,staff,2021-06-01,,,,\n'  # the stray quote: every row after it would become Budi's name
        "%s,Dewi,asn,,,,positive,\n"
        '%s,Eko,visitor,,,,,\n' % (NIK["budi"], NIK["dewi"], NIK["eko"])
    )
    with pytest.raises(PintuError, match=r"line 2: a quote is not closed|line 2: a quoted field runs on"):
        run_import(data, write(tmp_path, text))
    assert data.store.count_persons() == 0
    closed_later = HEADER + '%s,"Budi,staff\n%s,Dewi",asn,,,,positive,\n' % (NIK["budi"], NIK["dewi"])
    with pytest.raises(PintuError, match="line 2: a quoted field runs on to line 3"):
        run_import(data, write(tmp_path, closed_later))
    assert data.store.count_persons() == 0


def test_a_field_over_the_csv_limit_is_one_line_with_its_line_number(data, tmp_path):
    text = HEADER + '%s,"%s",visitor,,,,,\n' % (NIK["budi"], "x" * 200_000)
    with pytest.raises(PintuError, match="line 2: a field is longer than"):
        run_import(data, write(tmp_path, text))


def test_extra_and_repeated_columns_are_refused(data, tmp_path):
    extra = HEADER + "%s,Budi,staff,,,,,%s\n" % (NIK["budi"], "," * 10_000)
    with pytest.raises(PintuError, match="nothing imported") as caught:
        run_import(data, write(tmp_path, extra))
    assert "10000 more field(s)" in caught.value.report.bad[0][1]
    with pytest.raises(PintuError, match="given twice: name"):
        run_import(data, write(tmp_path, "nik,name,name\n%s,A,B\n" % NIK["budi"]))


@pytest.mark.parametrize(
    "row, message",
    [
        ("%s,X,visitor,,,,positive,2021-08-01", "status_until 2021-08-01 is in the past"),
        ("%s,X,visitor,9999-12-31,,,,", "out of range"),
        ("%s,X,visitor,2021-09-02,,,,", "in the future"),
        ("%s,X,visitor,2019-12-31,,,,", "out of range"),
        ("%s,\x1b[31mX,visitor,,,,,", "control character"),
        ("%s,X\x00,visitor,,,,,", "control character"),
    ],
)
def test_nonsense_in_a_row_is_refused(data, tmp_path, row, message):
    with pytest.raises(PintuError, match="nothing imported") as caught:
        run_import(data, write(tmp_path, HEADER + row % make_nik(1) + "\n"))
    assert message in caught.value.report.bad[0][1]


def test_writes_in_short_transactions_a_door_gets_in_between(data, tmp_path):
    """Between two write transactions of the import, another connection takes the write lock without waiting
    (timeout 0): a door decision never waits for the whole import."""
    total = 5 * BATCH + 1
    rows = "".join("%s,P%d,visitor,2021-06-01,,,,\n" % (make_nik(i), i) for i in range(total))
    other = open_database(data.store.location, timeout=0)
    got_in = []

    def door():
        with other.write():
            got_in.append(other.count_persons())

    try:
        run_import(data, write(tmp_path, HEADER + rows), between_batches=door)
    finally:
        other.close()
    assert got_in == [BATCH, 2 * BATCH, 3 * BATCH, 4 * BATCH, 5 * BATCH, total]


def test_cli_dry_run_and_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def pintu(*args):
        return runner.invoke(main, ["--data", str(tmp_path / "d"), *args])

    assert pintu("init").exit_code == 0
    path = write(tmp_path, ROSTER)
    assert pintu("person", "import", str(path)).exit_code == 0
    assert pintu("person", "status", NIK["dewi"], "positive").exit_code == 0
    clear = write(tmp_path, HEADER + "%s,,,,,,clear,\n" % NIK["dewi"], "clear.csv")
    dry = pintu("person", "import", str(clear), "--dry-run")
    assert dry.exit_code == 0 and "dry run, nothing written" in dry.stdout
    assert "1 status(es) would be lowered from positive or contact (line 2)" in dry.stderr
    assert json.loads(pintu("person", "show", NIK["dewi"], "--json").stdout)["status"] == "positive"
    done = json.loads(pintu("person", "import", str(clear), "--json").stdout)
    assert (done["statuses_lowered"], done["updated"], done["dry_run"]) == ([2], 1, False)
    assert json.loads(pintu("person", "show", NIK["dewi"], "--json").stdout)["status"] == "clear"
