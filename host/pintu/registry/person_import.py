"""Importing persons from a CSV file: strict parsing, every row checked before anything is written, then short
write transactions so door decisions go on during a million-row import.

What a row means (issue 15: a routine re-import of last week's roster must not release a positive person):
- an empty cell leaves that field as it is; a new person gets role `visitor`, no name, status `clear`;
- `status` `clear` clears a status; `positive`/`contact` start today, until `status_until` (empty: until cleared);
- doses are only added: a dose already recorded with the same date is unchanged, one with another date is an error
  (remove it first with `pintu person dose remove`).
"""

import csv
import time
from collections import namedtuple

from pintu.errors import PintuError
from pintu.registry.validate import check_choice, check_dose_date, check_name, parse_date
from pintu.rules import policy
from pintu.rules.nik import normalise_nik
from pintu.times import local_date

IMPORT_COLUMNS = ("nik", "name", "role", "dose1", "dose2", "dose3", "status", "status_until")
DOSE_COLUMNS = ("dose1", "dose2", "dose3")
# Rows per write transaction: each holds the write lock for a few milliseconds, and a door decision waiting for
# the lock gets it between two of them (bench/import_wait.py measures the wait).
BATCH = 500
GAP_S = 0.002  # the lock stays free this long after each write transaction: waiting writers try every 0.5 ms
# Lower rank = less restricted: a change to a lower rank releases someone and is called out in the summary.
_STATUS_RANK = {"clear": 0, "contact": 1, "positive": 2}

Row = namedtuple("Row", ("line", "nik_hash", "name", "role", "doses", "status", "until"))
Row.__doc__ = "One checked CSV row; None means 'leave as it is'. doses: ((number, date), ...)."

ImportReport = namedtuple(
    "ImportReport", ("rows", "imported", "bad", "added", "updated", "unchanged", "statuses", "lowered", "doses_added",
                     "dry_run")
)
ImportReport.__doc__ = """rows: data rows read; imported: rows applied (or that would be, in a dry run); bad:
[(line, message)]; added/updated/unchanged: persons; statuses: status changes; lowered: [line] whose status went
down from positive or contact; doses_added: doses added."""


# -- reading the file


def read_import_file(path):
    """Open a persons CSV. -> (rows iterator of (line number, dict), total data rows). The iterator raises
    PintuError with the line number when the file cannot be read as CSV (then nothing may be imported)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            total = max(sum(1 for _ in f) - 1, 0)
    except OSError as exc:
        raise PintuError("cannot read %s: %s" % (path, exc.strerror)) from None
    except UnicodeDecodeError:
        raise PintuError("%s is not UTF-8 text" % path) from None
    return _rows(path), total


def _rows(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, strict=True)
        header, line = None, 0
        while True:
            start = line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # An unterminated quote reaches the end of the file; a field may exceed csv's 128 KiB limit.
                raise PintuError("%s: line %d: %s (nothing imported)" % (path, start, _csv_error(exc))) from None
            line = reader.line_num
            if line != start:
                # A quoted field spanning lines: a stray `"` would swallow the rows after it into one name.
                raise PintuError(
                    "%s: line %d: a quoted field runs on to line %d (a stray \" ?); nothing imported"
                    % (path, start, line)
                )
            if not fields:
                continue
            if header is None:
                header = _header(path, fields)
                continue
            row = dict(zip(header, fields, strict=False))  # fewer fields: the rest are empty
            if len(fields) > len(header):
                row[None] = fields[len(header):]  # as csv.DictReader does: the row is refused below
            yield line, row


def _csv_error(exc):
    text = str(exc)
    if "field larger" in text:
        return "a field is longer than %d bytes" % csv.field_size_limit()
    if "unexpected end of data" in text or "EOF" in text:
        return "a quote is not closed"
    return text


def _header(path, fields):
    header = [name.strip().lower() for name in fields]
    if "nik" not in header:
        raise PintuError("%s: no header row with a 'nik' column (expected %s)" % (path, ",".join(IMPORT_COLUMNS)))
    unknown = [name for name in header if name not in IMPORT_COLUMNS]
    if unknown:
        shown = ", ".join(repr(name) for name in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise PintuError("%s: %d unknown column(s): %s" % (path, len(unknown), shown))
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise PintuError("%s: column(s) given twice: %s" % (path, ", ".join(repeated)))
    return header


# -- checking one row, then one change against the person as stored


def _cell(row, column):
    value = row.get(column)
    return value.strip() if value else ""


def parse_row(data, line, row, today):
    """Check one CSV row on its own. -> Row; raises PintuError."""
    extra = row.get(None)
    if extra:
        raise PintuError("%d more field(s) than the header has columns" % len(extra))
    nik_hash = data.nik.hash_valid(normalise_nik(_cell(row, "nik")))
    name = _cell(row, "name")
    name = check_name(name) if name else None
    role = _cell(row, "role").lower() or None
    if role is not None:
        check_choice("role", role, policy.ROLES)
    doses = []
    for number, column in enumerate(DOSE_COLUMNS, 1):
        value = _cell(row, column)
        if value:
            day = check_dose_date(value, today, column)
            if doses and day < doses[-1][1]:
                raise PintuError("%s is before the previous dose" % column)
            doses.append((number, day))
    status = _cell(row, "status").lower() or None
    until = _cell(row, "status_until") or None
    if status is not None:
        check_choice("status", status, policy.STATUSES)
    if until is not None:
        if status is None:
            raise PintuError("status_until given without a status")
        if status == "clear":
            raise PintuError("status_until given for status clear")
        until = parse_date(until, "status_until")
        # Same rule as `pintu person status --until`: a window that ended before it starts is refused.
        if until < today:
            raise PintuError("status_until %s is in the past" % until)
    return Row(line, nik_hash, name, role, tuple(doses), status, until)


def plan_change(row, person, dose_dates, today):
    """What applying `row` to `person` (a stored row, or None for a new person) with its recorded dose dates
    changes. -> (fields to set, doses to add [(number, date)], status change: None or (old, new)); raises
    PintuError when the row contradicts the record."""
    fields, new_doses = {}, []
    if person is None:
        fields = {"name": row.name or "", "role": row.role or "visitor", "status": "clear"}
    else:
        if row.name is not None and row.name != person["name"]:
            fields["name"] = row.name
        if row.role is not None and row.role != person["role"]:
            fields["role"] = row.role
    for number, day in row.doses:
        if number <= len(dose_dates):
            if dose_dates[number - 1] != day:
                raise PintuError(
                    "dose%d %s differs from the recorded %s (pintu person dose remove first)"
                    % (number, day, dose_dates[number - 1])
                )
            continue
        known = len(dose_dates) + len(new_doses)
        if number != known + 1:
            raise PintuError("dose%d given without the earlier dose" % number)
        previous = new_doses[-1][1] if new_doses else (dose_dates[-1] if dose_dates else None)
        if previous is not None and day < previous:
            raise PintuError("dose%d %s is before the previous dose (%s)" % (number, day, previous))
        new_doses.append((number, day))
    change = None
    old = "clear" if person is None else person["status"]
    old_until = None if person is None else person["status_until"]
    if row.status is not None and (row.status != old or (row.status != "clear" and row.until != old_until)):
        change = (old, row.status)
        if row.status == "clear":
            fields.update(status="clear", status_since=today, status_until=None)
        else:
            same = person is not None and row.status == old
            since = person["status_since"] if same and person["status_since"] else today
            fields.update(status=row.status, status_since=since, status_until=row.until)
    return fields, new_doses, change


# -- the import


class _Tally:
    def __init__(self):
        self.added = self.updated = self.unchanged = self.statuses = self.doses = 0
        self.lowered = []

    def count(self, row, person, fields, doses, change):
        if person is None:
            self.added += 1
        elif fields or doses:
            self.updated += 1
        else:
            self.unchanged += 1
        self.doses += len(doses)
        if change is not None and person is not None:
            self.statuses += 1
            if _STATUS_RANK[change[1]] < _STATUS_RANK[change[0]]:
                self.lowered.append(row.line)
        elif change is not None and change[1] != "clear":
            self.statuses += 1


def _batches(items, size=BATCH):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def import_persons(data, rows, skip_bad=False, progress=None, at=None, dry_run=False, between_batches=None):
    """Check every row (alone, then against the record), then write in transactions of BATCH rows.
    rows: iterable of (line number, dict with IMPORT_COLUMNS). With bad rows nothing is written unless skip_bad;
    dry_run writes nothing and reports what would change. progress(n) is called as rows are checked;
    between_batches() after each write transaction. -> ImportReport; raises PintuError (with .report) when bad
    rows stop the import."""
    now = time.time() if at is None else at
    today = local_date(now)
    store = data.store
    good, bad, seen = [], [], {}
    count = 0
    for line, raw in rows:
        count += 1
        try:
            row = parse_row(data, line, raw, today)
            if row.nik_hash in seen:
                raise PintuError("NIK repeats line %d" % seen[row.nik_hash])
            seen[row.nik_hash] = line
            good.append(row)
        except PintuError as exc:
            bad.append((line, str(exc)))
        if progress is not None and count % 1000 == 0:
            progress(1000)
    if progress is not None and count % 1000:
        progress(count % 1000)
    seen = None
    # Against the record, read without the write lock (WAL readers do not block the doors).
    tally, checked = _Tally(), []
    for batch in _batches(good):
        known = store.persons_by_hash(row.nik_hash for row in batch)
        doses = store.dose_dates_of(person["id"] for person in known.values())
        for row in batch:
            person = known.get(row.nik_hash)
            try:
                fields, new_doses, change = plan_change(row, person, doses.get(person["id"], []) if person else [],
                                                        today)
            except PintuError as exc:
                bad.append((row.line, str(exc)))
                continue
            tally.count(row, person, fields, new_doses, change)
            checked.append(row)
    bad.sort()
    report = ImportReport(count, 0 if (bad and not skip_bad) else len(checked), bad, tally.added, tally.updated,
                          tally.unchanged, tally.statuses, tally.lowered, tally.doses, dry_run)
    if bad and not skip_bad:
        error = PintuError(
            "%d bad row(s); nothing imported (fix them, or use --skip-bad to import the %d good rows)"
            % (len(bad), len(checked))
        )
        error.report = report
        raise error
    if dry_run:
        return report
    for batch in _batches(checked):
        with store.write():
            _write_batch(store, batch, today, now)
        if between_batches is not None:
            between_batches()
        time.sleep(GAP_S)
    return report


def _write_batch(store, batch, today, now):
    """Inside a write transaction: apply each row's change to the person as stored now (a guard may have changed a
    status since the check; the row's empty cells leave that change alone)."""
    known = store.persons_by_hash(row.nik_hash for row in batch)
    doses = store.dose_dates_of(person["id"] for person in known.values())
    new_persons, new_doses = [], []
    for row in batch:
        person = known.get(row.nik_hash)
        try:
            fields, added, _ = plan_change(row, person, doses.get(person["id"], []) if person else [], today)
        except PintuError:
            continue  # the record changed under the import in a way this row contradicts: leave the record
        if person is None:
            new_persons.append((row.nik_hash, fields["name"], fields["role"], fields.get("status", "clear"),
                                fields.get("status_since"), fields.get("status_until")))
        else:
            store.update_person(person["id"], fields)
        new_doses.extend((row.nik_hash, number, day) for number, day in added)
    store.insert_imported(new_persons, new_doses, now)
