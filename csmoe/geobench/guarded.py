"""GEO-Bench samples read in a helper process, each read under a time limit.

The HDF5 library can loop forever, or crash, on a damaged file: a sample whose global
heap (where the pickled label attribute lives) was partly zeroed made libhdf5 2.0 spin
without end. So the evaluation reads samples through `GuardedTaskReader`: a helper
process holds the `TaskFolder` and answers one request at a time; a read that takes
longer than `timeout` seconds, or kills the helper, ends in an `InputError` naming the
file, and the helper is stopped.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from pathlib import Path

from csmoe.errors import InputError
from csmoe.geobench.tasks import Task

READ_TIMEOUT = 120.0  # seconds for one sample; a healthy one takes milliseconds


def _serve(connection, root: str, task: Task) -> None:
    from csmoe.geobench.reader import TaskFolder

    try:
        folder = TaskFolder(root, task)
    except InputError as error:
        connection.send(("error", error.where, error.problem))
        return
    connection.send(("ready",))
    while True:
        request = connection.recv()
        if request is None:
            return
        method, args = request
        try:
            connection.send(("ok", getattr(folder, method)(*args)))
        except InputError as error:
            connection.send(("error", error.where, error.problem))
        except Exception:  # noqa: BLE001 - a bug, reported in the parent with its trace
            connection.send(("bug", traceback.format_exc()))


class GuardedTaskReader:
    """`TaskFolder.read` and `fit_db_statistics` in a helper process, under a timeout."""

    def __init__(self, root: str | os.PathLike[str], task: Task,
                 timeout: float = READ_TIMEOUT) -> None:  # fmt: skip
        self.folder = Path(root) / task.folder
        self.timeout = timeout
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, str(root), task),
                                         daemon=True)  # fmt: skip
        self._process.start()
        child.close()
        self._answer(self.folder, "opening the task folder")

    def read(self, sample_id: str):
        return self._call("read", sample_id, where=self.folder / f"{sample_id}.hdf5")

    def fit_db_statistics(self, train_ids: list[str]) -> dict[str, tuple[float, float]]:
        return self._call("fit_db_statistics", train_ids, where=self.folder,
                          timeout=self.timeout * max(1, len(train_ids)))  # fmt: skip

    def _call(self, method: str, *args, where: Path, timeout: float | None = None):
        try:
            self._connection.send((method, args))
        except OSError:
            raise InputError(where, "the reader process is gone") from None
        return self._answer(where, f"reading {method}", timeout)

    def _answer(self, where: Path, what: str, timeout: float | None = None):
        timeout = self.timeout if timeout is None else timeout
        try:
            ready = self._connection.poll(timeout)
            reply = self._connection.recv() if ready else None
        except (EOFError, OSError):
            reply = None
        if reply is None:
            code = self._stop()
            if code is None:
                raise InputError(where, f"no answer after {timeout:.0f} s (a damaged HDF5 file "
                                 "can make the HDF5 library loop)")  # fmt: skip
            raise InputError(where, f"the HDF5 library ended the reader (exit {code})")
        if reply[0] == "error":
            raise InputError(reply[1], reply[2])
        if reply[0] == "bug":
            raise RuntimeError(f"GEO-Bench reader failed:\n{reply[1]}")
        return reply[1] if reply[0] == "ok" else None

    def _stop(self) -> int | None:
        """Stop the helper; its exit code, or None if it had to be killed (it hung)."""
        self._process.join(timeout=0.5)
        code = self._process.exitcode
        if code is None:
            self._process.kill()
            self._process.join()
        return code

    def close(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                self._connection.send(None)
            self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def __enter__(self) -> GuardedTaskReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
