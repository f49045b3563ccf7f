"""Atomic file output: write to a temporary name beside the target, rename on success.

A crash or an error while writing leaves no half-written file under the final name.
Temporary names carry the host and process id of their writer (``.<name>.<host>-<pid>.
<random>.tmp``), so that the leftovers of a killed run can be told from the temporary
folder of a run that is still writing (`remove_stale`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to `target` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(target), suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # After writing: some libraries re-create the file with private permissions.
        tmp_path.chmod(0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; it replaces `target` on success.

    An existing `target` is swapped with the new folder in one step where the system can
    (Linux ``renameat2(RENAME_EXCHANGE)``), so that readers always find a complete folder;
    elsewhere the old folder is moved aside just before the new one moves in.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(target), suffix=".tmp", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        if not target.exists():
            os.replace(tmp, target)
        elif not exchange(tmp, target):
            aside = Path(tempfile.mkdtemp(prefix=_prefix(target), suffix=".tmp", dir=target.parent))
            os.replace(target, aside / target.name)
            os.replace(tmp, target)
            shutil.rmtree(aside)
    finally:
        if tmp.exists():  # the failed new folder, or the old one after an exchange
            shutil.rmtree(tmp)


def _prefix(target: Path) -> str:
    return f".{target.name}.{socket.gethostname()}-{os.getpid()}."


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a C library without renameat2
        return False
    at_cwd, rename_exchange = -100, 2
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # e.g. a file system without it
        return False
    raise OSError(code, os.strerror(code), str(b))


def remove_stale(target: str | os.PathLike[str]) -> None:
    """Remove the temporary files and folders of `target` that killed runs on this host
    left behind; those of live processes, and of other hosts, are kept."""
    target = Path(target)
    host = socket.gethostname()
    for stale in target.parent.glob(f".{target.name}.{host}-*.tmp"):
        pid = stale.name[len(f".{target.name}.{host}-") :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write a whole text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def publish_mode(path: str | os.PathLike[str]) -> None:
    """Give a file written by a library with private permissions the usual ones."""
    Path(path).chmod(0o666 & ~_umask())
