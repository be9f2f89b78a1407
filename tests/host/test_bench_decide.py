"""bench/decide.py runs at a small size and ends with its JSON figures (no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_decide_bench_prints_its_figures():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "decide.py"), "--persons", "300", "--decisions", "100"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == {"persons", "import_s", "decisions_per_s", "p50_us", "p99_us", "sqlite_lookups_per_s"}
    assert figures["persons"] == 300 and figures["decisions_per_s"] > 0
