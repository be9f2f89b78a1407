"""Benchmarks run and end with one JSON line of figures (no timing is asserted here)."""

import json
import subprocess
import sys
from pathlib import Path

import pintu_protocol as p

ROOT = Path(__file__).resolve().parents[1]


def _last_json(script, *args):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_wire_size_prints_its_figures():
    figures = _last_json("wire_size.py")
    unit = p.Session("lobby-east-1", bytes(32), p.UNIT)
    scan = unit.send(p.Scan(1042, "lobby-in", p.IN, b"PN1:" + b"K" * 86))
    assert figures["scan_bytes"] == len(scan)
    assert figures["scan_serial_bytes"] == len(p.encode_stream(scan))
    assert figures["json_scan_bytes"] > 90 and figures["json_verdict_bytes"] > 0


E2E_KEYS = {"units", "backend", "workers", "mode", "offered_per_s", "scans_per_s", "p50_ms", "p99_ms",
            "broker_roundtrips_per_s", "sent", "verdicts", "events", "counts_ok"}


def _end_to_end(*args):
    from tests.conftest import require_program

    require_program("mosquitto", "apt-get install mosquitto")
    figures = _last_json("end_to_end.py", "--seconds", "1", *args)
    assert E2E_KEYS <= set(figures)
    # Every scan sent was answered once and recorded once (the bench also exits 1 when not).
    assert figures["counts_ok"] is True and figures["sent"] == figures["verdicts"] == figures["events"] > 0
    assert figures["scans_per_s"] > 0 and figures["broker_roundtrips_per_s"] > 0 and figures["p99_ms"] > 0
    return figures


def test_end_to_end_bench_runs_small_closed_loop():
    figures = _end_to_end("--units", "5")
    assert figures["units"] == 5 and figures["mode"] == "closed" and figures["offered_per_s"] is None
    assert figures["backend"] == "sqlite" and figures["workers"] == 1


def test_end_to_end_bench_open_loop_sends_what_was_offered():
    # Open loop: 150 scans/s for 1 s over 6 units (each on its own broker login), whatever the answers do: exactly
    # 150 scans leave.
    figures = _end_to_end("--units", "6", "--rate", "150", "--generators", "3", "--unit-logins")
    assert figures["mode"] == "open" and figures["offered_per_s"] == 150 and figures["sent"] == 150


def test_end_to_end_bench_on_postgresql_with_two_workers():
    from tests.conftest import require_postgres

    require_postgres()
    figures = _end_to_end("--units", "4", "--backend", "postgresql", "--workers", "2")
    assert figures["backend"] == "postgresql" and figures["workers"] == 2


def test_mqtt_latency_bench_runs_small():
    from tests.conftest import require_program

    require_program("mosquitto", "apt-get install mosquitto")
    figures = _last_json("mqtt_latency.py", "--samples", "3")
    assert set(figures) == {"baseline_ms", "broker_only_ms", "clients_only_ms", "nodelay_ms", "samples"}
    assert figures["samples"] == 3 and all(figures[k] > 0 for k in figures)


def test_console_live_bench_runs_small():
    figures = _last_json("console_live.py", "--samples", "3")
    assert set(figures) == {"samples", "p50_ms", "p95_ms", "max_ms", "decide_p50_ms", "poll_query_p50_ms"}
    assert figures["samples"] == 3 and figures["max_ms"] >= figures["p50_ms"] > 0
