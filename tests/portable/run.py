"""Run the portable tests under MicroPython (or any Python) without pytest; prints one line per test and a
closing 'N passed, N failed' line. Usage: run.py MODULE [MODULE ...] (dotted names under tests.portable)."""

import sys


def run(modules):
    passed = failed = 0
    for name in modules:
        module = __import__(name, None, None, ["x"])
        for attr in sorted(dir(module)):
            fn = getattr(module, attr)
            if not attr.startswith("test_") or not callable(fn):
                continue
            try:
                fn()
            except Exception as e:  # report and go on: one failure must not hide the others
                failed += 1
                print("FAIL %s.%s: %s %s" % (name, attr, type(e).__name__, e))
                if hasattr(sys, "print_exception"):  # MicroPython's traceback printer
                    sys.print_exception(e)
            else:
                passed += 1
                print("PASS %s.%s" % (name, attr))
    print("%d passed, %d failed" % (passed, failed))
    return failed


if __name__ == "__main__":
    sys.exit(1 if run(sys.argv[1:]) else 0)
