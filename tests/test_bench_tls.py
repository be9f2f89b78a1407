"""bench/tls_latency.py runs and ends with one JSON line of figures (no timing is asserted)."""

from tests.test_bench import _last_json


def test_tls_latency_bench_runs_small():
    from tests.conftest import require_program

    require_program("mosquitto", "apt-get install mosquitto")
    figures = _last_json("tls_latency.py", "--samples", "3")
    assert set(figures) == {"connect_plain_ms", "connect_tls_ms", "scan_plain_ms", "scan_tls_ms", "samples"}
    assert figures["samples"] == 3 and all(figures[k] > 0 for k in figures)
