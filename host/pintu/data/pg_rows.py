"""PostgreSQL's rows and values made to look as SQLite's do to the SQL modules: rows like sqlite3.Row, booleans as the
0/1 integers SQLite stores (pg_store.py registers both on every connection)."""

import psycopg
from psycopg.adapt import Dumper


class Row:
    """A result row as sqlite3.Row behaves: by position, by column name, keys(), iterable over its values."""

    __slots__ = ("_names", "_index", "_values")

    def __init__(self, names, index, values):
        self._names = names
        self._index = index
        self._values = values

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._values[self._index[key.lower()]]
        return self._values[key]

    def keys(self):
        return list(self._names)

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __eq__(self, other):
        return isinstance(other, Row) and self._names == other._names and tuple(self) == tuple(other)

    __hash__ = None

    def __repr__(self):
        return "Row(%r)" % dict(zip(self._names, self._values, strict=True))


def row_factory(cursor):
    names = tuple(column.name for column in cursor.description or ())
    index = {}
    for i, name in enumerate(names):
        index.setdefault(name.lower(), i)  # a repeated name means its first column, as in sqlite3.Row
    return lambda values: Row(names, index, values)


class BoolAsInteger(Dumper):
    """True/False into the INTEGER (BIGINT) flag columns, as SQLite stores them."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj):
        return b"1" if obj else b"0"

    def quote(self, obj):
        return self.dump(obj)
