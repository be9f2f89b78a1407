"""bench/decide.py runs at a small size and ends with its JSON figures (no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"backend", "decisions_per_s", "decisions_remembered_per_s", "decisions_batched_per_s", "raw_txn_per_s",
        "p50_us", "p99_us"}


def test_decide_bench_prints_its_figures(backend):
    if backend == "postgresql":
        from tests.conftest import require_postgres

        require_postgres()
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "decide.py"), "--persons", "300", "--decisions", "200",
         "--sessions", "4", "--backend", backend],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert KEYS <= set(figures)
    assert figures["backend"] == backend and figures["persons"] == 300
    assert all(figures[key] > 0 for key in KEYS - {"backend"})
    # The runs recorded their scans: two single runs and three gateway runs of 200 at least.
    assert int(result.stdout.split("events recorded: ")[1].split()[0]) >= 5 * 200
    if backend == "sqlite":
        assert figures["statements_per_batched_decision"] < figures["statements_per_decision"]
    else:
        assert figures["statements_per_decision"] is None


@pytest.mark.parametrize("bad", [["--backend", "oracle"]])
def test_decide_bench_refuses_an_unknown_backend(bad):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "decide.py"), *bad], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice" in result.stderr
