"""bench/firmware_memory.py runs and ends with its JSON line (a smoke test: figures are reported, not asserted)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.micropython
def test_firmware_memory_bench_prints_its_figures(micropython):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "firmware_memory.py")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == {"heap_after_import", "heap_after_scan", "heap_after_scan_display"}
    # After boot the unit frees its boot-only modules, so the figure after a scan may be the smaller one.
    assert figures["heap_after_import"] > 0 and figures["heap_after_scan"] > 0
    # A display board holds at least its framebuffer (128x64 bits) more.
    assert figures["heap_after_scan_display"] >= figures["heap_after_scan"] + 1024
