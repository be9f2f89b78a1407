"""Where the door unit's files are: the firmware sources, the vendored MicroPython libraries (umqtt), the board files
and the protocol package. The only code that knows; the simulator, the demo and `pintu deploy` ask it.

Two places, tried in this order:

    installed from a wheel     <site-packages>/pintu/_unit/{firmware,lib,boards}   (package data, pyproject.toml)
    a checkout (editable)      <checkout>/firmware, <checkout>/firmware/lib, <checkout>/boards

In a wheel they sit under pintu/_unit, not at the top of site-packages: the firmware imports itself as `firmware.x`
(as it must on the board, under /lib/firmware), and a top-level `firmware` package in site-packages would claim a
name every other project could use. Only the process that runs units (the simulator) puts the folder on sys.path.
The protocol package is the installed `pintu_protocol`, in both cases the same files the host imports."""

import sys
from pathlib import Path

import pintu_protocol
from pintu.errors import PintuError

_PACKAGED = Path(__file__).resolve().parents[1] / "_unit"  # pintu/_unit in a wheel
_CHECKOUT = Path(__file__).resolve().parents[3]  # host/pintu/tech/unit_files.py -> the checkout


class UnitFilesMissing(PintuError):
    """Neither an installed copy nor a checkout holds the firmware: a broken install."""


class UnitFiles:
    """The folders of one copy of the door unit's files.

    import_root: the folder that holds the `firmware` package (what goes on sys.path to import it); lib: the vendored
    libraries (umqtt/); boards: <board>.json files; protocol: the pintu_protocol package; origin: the folder that
    labels are relative to."""

    def __init__(self, import_root, lib, boards, origin):
        self.import_root = Path(import_root)
        self.firmware = self.import_root / "firmware"
        self.lib = Path(lib)
        self.boards = Path(boards)
        self.protocol = Path(pintu_protocol.__file__).resolve().parent
        self.origin = Path(origin)

    def board_path(self, name):
        """boards/<name>.json, or None when there is no such board."""
        path = self.boards / ("%s.json" % name)
        return path if path.is_file() else None

    def board_names(self):
        return sorted(path.stem for path in self.boards.glob("*.json"))

    def label(self, path):
        """A short name for `path` in messages: relative to its copy, without the install location."""
        path = Path(path)
        for base, prefix in ((self.protocol, "pintu_protocol"), (self.origin, "")):
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            return "%s/%s" % (prefix, rel) if prefix else rel
        return path.name

    def put_on_sys_path(self):
        """Make `import firmware` and `import umqtt` work in this process (the simulator runs the real firmware)."""
        for folder in (str(self.import_root), str(self.lib)):
            if folder not in sys.path:
                sys.path.append(folder)

    def __repr__(self):
        return "UnitFiles(%s)" % self.origin


def _find():
    if (_PACKAGED / "firmware" / "app.py").is_file():
        return UnitFiles(_PACKAGED, _PACKAGED / "lib", _PACKAGED / "boards", _PACKAGED)
    if (_CHECKOUT / "firmware" / "app.py").is_file():
        return UnitFiles(_CHECKOUT, _CHECKOUT / "firmware" / "lib", _CHECKOUT / "boards", _CHECKOUT)
    raise UnitFilesMissing("the door unit's firmware is missing from this install (looked in %s and %s): "
                           "reinstall pintu" % (_PACKAGED, _CHECKOUT))


_FOUND = None


def locate():
    """The door unit's files of this install. -> UnitFiles. Raises UnitFilesMissing."""
    global _FOUND
    if _FOUND is None:
        _FOUND = _find()
    return _FOUND
