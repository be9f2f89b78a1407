"""Storage and secrets: the data directory and its keys (datadir.py), the one owner-only file writer (files.py), the
schema and its migrations (schema.py), every SQL statement (store.py, sql_registry.py, sql_record.py), and the EU
certificate signers an operator trusts (trust.py)."""
