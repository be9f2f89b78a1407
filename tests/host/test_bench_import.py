"""bench/import_wait.py runs at a small size and ends with its JSON figures (no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_wait_bench_prints_its_figures():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_wait.py"), "--persons", "2000", "--baseline-seconds", "0.3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["persons"] == 2000 and figures["decisions_during_import"] > 0
    assert {"wait_max_ms", "wait_p99_ms", "baseline_p50_ms", "baseline_max_ms", "import_s"} <= set(figures)
