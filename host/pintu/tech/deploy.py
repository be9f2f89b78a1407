"""`pintu deploy`: copy the door-unit application and one unit's config to a MicroPython board through mpremote's
raw REPL, skipping files whose hash already matches, then reset the board and wait for the unit's HELLO.

manifest.py says which files go where and in which form (.mpy or .py); board_repl.py talks to the board."""

from pintu.tech.board_repl import HELLO_TIMEOUT_S, Board
from pintu.tech.manifest import DeployError, board_files, choose_form, device_config, tls_note

__all__ = ["DeployError", "deploy"]


def deploy(data_path, device_id, port, dry_run=False, wait_hello=True, hello_timeout=HELLO_TIMEOUT_S,
           log=None, board_factory=Board, source=False):
    """Copy what the unit needs to the board on `port`. -> dict(form="mpy"|"py", copied=[targets],
    unchanged=[targets], removed=[targets], hello=...). source: install the /lib modules as .py sources.
    dry_run: compare only; nothing is written or removed and the board is not reset."""
    log = log or (lambda text: None)
    cfg, path = device_config(data_path, device_id)
    config_bytes = path.read_bytes()
    note = tls_note(cfg)
    if note:
        log(note)
    # Compiled before the board is touched: a file mpy-cross rejects stops the deploy with the board as it was.
    compiled = None if source else board_files(cfg, config_bytes, compiled=True)
    board = board_factory(port, log=log)
    try:
        board_mpy = None if source else board.mpy_version()
        header = b"" if source else next(f.data for f in compiled if f.target.endswith(".mpy"))[:4]
        form, warning = choose_form(board_mpy, header, source)
        if warning:
            log(warning)
        files = compiled if form == "mpy" else board_files(cfg, config_bytes)
        others = [f.other for f in files if f.other]
        on_board = board.hashes([f.target for f in files] + others)
        changed = [f for f in files if on_board.get(f.target) != f.sha256]
        unchanged = [f for f in files if on_board.get(f.target) == f.sha256]
        stale = [other for other in others if on_board.get(other) is not None]
        result = {"device": device_id, "port": port, "form": form, "board_mpy": board_mpy, "copied": [],
                  "unchanged": [f.target for f in unchanged], "removed": [], "hello": None, "dry_run": dry_run}
        if dry_run:
            result["would_copy"] = [f.target for f in changed]
            result["would_remove"] = stale
            board.soft_reset()  # leave it running its app, if it has one, as it was found
            return result
        for f in changed:
            log("copy %s -> %s (%d bytes)" % (f.source, f.target, len(f.data)))
            board.write(f.target, f.data)
            result["copied"].append(f.target)
        if stale:
            # After the new files are in place: MicroPython would import foo.py before foo.mpy.
            log("remove %s (replaced by the other form)" % ", ".join(stale))
            board.remove(stale)
            result["removed"] = stale
        if changed or stale:
            after = board.hashes([f.target for f in changed] + stale)
            bad = [f.target for f in changed if after.get(f.target) != f.sha256]
            if bad:
                raise DeployError("the board's copy of %s does not match (flash full?)" % ", ".join(bad))
            left = [t for t in stale if after.get(t) is not None]
            if left:
                raise DeployError("could not remove %s from the board" % ", ".join(left))
        board.soft_reset()
        if wait_hello:
            hello = board.wait_hello(device_id, bytes.fromhex(cfg["key"]), hello_timeout)
            result["hello"] = {"firmware": hello.firmware, "board": hello.board}
        return result
    finally:
        board.close()
