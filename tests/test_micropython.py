"""The protocol under the real MicroPython interpreter: same tests, byte-identical results to CPython."""

import pytest

from tests.conftest import run_portable_suite
from tests.portable.common import dump_frames

pytestmark = pytest.mark.micropython

PROTOCOL_SUITES = [
    "tests.portable.test_protocol_auth",
    "tests.portable.test_protocol_vectors",
    "tests.portable.test_protocol_session",
    "tests.portable.test_protocol_stream",
    "tests.portable.test_protocol_topics",
]


def test_protocol_suite_passes_under_micropython(micropython):
    passed, failed, output = run_portable_suite(micropython, PROTOCOL_SUITES)
    assert failed == 0, output
    assert passed >= 25, output


def test_micropython_encodes_byte_identical_frames(micropython):
    code = (
        "import sys\nsys.path.insert(0, '/t')\nopen('/t/tests/__init__.py', 'w').close()\n"
        "from tests.portable.common import dump_frames\n"
        "for line in dump_frames(400):\n    print(line)\n"
    )
    from tests.conftest import ROOT

    result = micropython.run(code, mounts={str(ROOT / "tests" / "portable"): "/t/tests/portable"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == dump_frames(400)


def test_interpreter_really_is_micropython(micropython):
    result = micropython.run("import sys\nprint(sys.implementation.name)")
    assert result.stdout.strip() == "micropython"
