"""Pure decisions, no I/O and no clock: the site policy (policy.py, one profile table for cards and EU certificates),
visitor cards (credentials.py), NIK hashing (nik.py), and EU certificates (cose.py -> dcc_schema.py -> signer.py ->
eu_rules.py, put together by hc1.py)."""
