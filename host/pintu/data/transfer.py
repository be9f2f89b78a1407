"""`pintu migrate --to postgresql://...`: an SQLite data directory's database copied into PostgreSQL.

Row by row, table by table in the order their references need, in one PostgreSQL transaction: either the whole
record arrives or nothing does. Ids are copied as they are (cards, events and visits keep referring to the same
rows), then PostgreSQL's id counters are moved past them. The keys stay where they are: the data directory gets the
URL in its config.json and from then on opens PostgreSQL. The SQLite file is left in place, unused; it holds personal
data, so the operator deletes it once satisfied (the command says so)."""

import json
import os

from pintu.data import dialect
from pintu.data.files import write_private
from pintu.errors import PintuError

# Every table of the record, parents before children (foreign keys); pintu_schema is written by create_schema.
# A table missing here would be lost by a migration without a word: tests/host/test_migrate.py compares this list
# with the tables a new database has.
TABLES = ("sites", "doors", "devices", "persons", "doses", "credentials", "guards", "visits", "events", "holds",
          "scans", "users", "user_sites", "alert_acks")
# Tables whose rows create_schema makes itself, not copied: the registry cache's counter (data/batching.py).
MADE_BY_SCHEMA = ("registry_generation",)
BATCH = 1000


def copy_database(source, target):
    """Copy every row of source (a Store) into target (an empty PgStore whose schema is made here).
    -> {table: rows copied}."""
    target.create_schema()  # refuses a database that holds pintu data already
    counts = {}
    with target.write():
        for table in TABLES:
            columns = [row[1] for row in source._all("PRAGMA table_info(%s)" % table)]
            order = " ORDER BY rowid" if table == "credentials" else ""  # cards of one second keep their order
            rows = source._all("SELECT %s FROM %s%s" % (", ".join(columns), table, order))
            sql = "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(columns), ", ".join("?" * len(columns)))
            for i in range(0, len(rows), BATCH):
                target._many(sql, [tuple(row) for row in rows[i : i + BATCH]])
            counts[table] = len(rows)
        for table in dialect.ID_TABLES:  # new rows are numbered after the copied ones
            target._one("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE(MAX(id), 0) + 1, false)"
                        " FROM %s" % (table, table))
        for table in TABLES:
            copied = target._one("SELECT COUNT(*) FROM %s" % table)[0]
            if copied != counts[table]:
                raise PintuError("%s: %d rows copied of %d; nothing kept" % (table, copied, counts[table]))
    return counts


def migrate_data_dir(data_dir, url, config_name, open_source, open_target):
    """Copy data_dir's SQLite database into the PostgreSQL database at url and point data_dir at it.
    open_source()/open_target(url) open the stores (datadir.py knows where they are)."""
    config = os.path.join(data_dir, config_name)
    if os.path.exists(config):
        raise PintuError("%s already uses PostgreSQL (%s)" % (data_dir, config))
    source = open_source()
    try:
        target = open_target(url)
        try:
            counts = copy_database(source, target)
        finally:
            target.close()
    finally:
        source.close()
    write_private(config, json.dumps({"database": url}, indent=1) + "\n")
    return counts
