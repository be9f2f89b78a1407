"""Owner-only files: the one writer for everything secret or personal the host puts on disk (keys, database, unit
configs, broker passwords, trust anchors, cards)."""

import os


def private_dir(path):
    """Make path (and its parents) a folder only its owner can enter: mkdir's mode is filtered by the umask, and an
    existing folder may be wider."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def write_private(path, data, owner=None):
    """Write data (bytes or text) to path, readable by its owner only, all or nothing: a temporary file beside it is
    written, flushed to disk and renamed over path, so a crash or a full disk never leaves half a file.

    owner: a pwd entry to own the file instead of us (a broker running as another user reads its own files)."""
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(path) or ".", ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)  # O_CREAT's mode is filtered by the umask
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        if owner is not None and owner.pw_uid != os.getuid():
            os.chown(tmp, owner.pw_uid, owner.pw_gid)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
