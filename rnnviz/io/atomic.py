"""Atomic file writes: the target either keeps its old content or gets the complete new one.

A write killed half-way (``kill -9``, a crash, a power cut) must not leave a file behind that
looks like a real one. Where the system allows it (Linux, with ``O_TMPFILE`` and ``/proc``),
the new content goes to an *unnamed* file in the target's folder: killed mid-write, it simply
vanishes. Only when it is complete and on disk does it get a name: the target's own, by
``link`` when there is no old file, else a temporary name renamed over the target at once.
Elsewhere the temporary file is named ``.NAME.PID-RANDOM.rnnviz-tmp`` (hidden, clearly
temporary, never ending in a real extension), removed on every error, and such leftovers of a
process that no longer runs (and untouched for a minute) are deleted by the next write into
the same folder.

Errors are OSErrors that name the target, never the temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import time
from typing import Callable

_TEMP = ".rnnviz-tmp"
#: Seconds a leftover temporary file must have been untouched before another write removes it.
_STALE_AGE = 60
_STALE = re.compile(r"^\..*\.(\d+)-[0-9a-f]{8}" + re.escape(_TEMP) + r"$")


class Cancelled(Exception):
    """The user cancelled a long export; raised inside a ``write`` it leaves the target as it was."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], suffix: str = "") -> None:
    """Call ``write(tmp_path)`` to fill a temporary file beside ``path``, then put it in place.

    ``write`` must open ``tmp_path`` by name and write to it (``open(tmp_path, "wb")``, Qt's
    ``QImage.save(tmp_path, "PNG")``); the name may have no extension at all (on Linux it is
    ``/proc/self/fd/N``), so writers that choose a format from the extension must be given
    the format, or a file object (``numpy.savez`` appends ``.npz`` to a name without it).
    ``suffix`` is accepted for compatibility and no longer used. On any error or
    :class:`Cancelled` nothing is left behind and ``path`` is untouched; OSErrors name ``path``.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        _clean_stale(folder)
        fd = _unnamed(folder)
        if fd is not None:
            _write_unnamed(fd, path, folder, write)
        else:
            _write_named(path, folder, write)
    except OSError as err:
        if err.filename == path and err.filename2 is None:
            raise
        raise OSError(err.errno, err.strerror or str(err), path) from err


def _unnamed(folder: str) -> int | None:
    """An O_TMPFILE descriptor in ``folder``, or None where the system or file system has none."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError:
        return None  # not supported here (EOPNOTSUPP, EISDIR…); a real problem shows again below


def _write_unnamed(fd: int, path: str, folder: str, write: Callable[[str], None]) -> None:
    source = f"/proc/self/fd/{fd}"
    try:
        write(source)
        os.fsync(fd)
        dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            name = os.path.basename(path)
            try:
                # linkat(AT_SYMLINK_FOLLOW) through the dir fd; plain link() would not follow /proc's link
                os.link(source, name, dst_dir_fd=dir_fd, follow_symlinks=True)  # no old file
            except FileExistsError:
                tmp = os.path.basename(_temp_name(path))
                os.link(source, tmp, dst_dir_fd=dir_fd, follow_symlinks=True)
                try:
                    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp, dir_fd=dir_fd)
                    raise
            except OSError as err:
                if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS, errno.EACCES):
                    raise
                # linking an unnamed file is refused here: copy it to a named temporary instead
                os.lseek(fd, 0, os.SEEK_SET)
                _write_named(path, folder, lambda tmp: _copy_fd(fd, tmp))
                return
            with contextlib.suppress(OSError):
                os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        os.close(fd)


def _copy_fd(fd: int, tmp: str) -> None:
    with open(tmp, "wb") as out:
        while True:
            block = os.read(fd, 1 << 20)
            if not block:
                return
            out.write(block)


def _write_named(path: str, folder: str, write: Callable[[str], None]) -> None:
    tmp = _temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _temp_name(path: str) -> str:
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(4)}{_TEMP}")


def _clean_stale(folder: str) -> None:
    """Delete temporary files a killed rnnviz left in ``folder`` (their writer no longer runs)."""
    if os.name != "posix":  # os.kill(pid, 0) is a test only on POSIX
        return
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        m = _STALE.match(entry.name)
        if not m or int(m[1]) == os.getpid() or _alive(int(m[1])):
            continue
        with contextlib.suppress(OSError):
            # untouched for a while too: a writer in another PID namespace (a container, another
            # machine on a shared folder) may be alive and still writing
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > _STALE_AGE:
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or cannot tell: leave its file alone
    return True


def _fsync_dir(folder: str) -> None:
    """Make the rename itself durable (not possible on every platform, hence best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
