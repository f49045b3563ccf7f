"""Worker processes that are safe next to PyTorch and end with their parent.

Forking a process whose OpenMP thread pool is already running (any torch operation
starts it) can deadlock the child; workers are therefore started with "spawn": a fresh
interpreter that imports what it needs. A spawned worker outlives a parent that is
killed (SIGKILL leaves no chance to clean up) and would go on writing; on Linux each
worker asks the kernel to send it SIGTERM when its parent dies.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1


def end_with_parent(parent: int) -> None:
    """Worker initializer: SIGTERM when the parent process dies (Linux)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=end_with_parent,
        initargs=(os.getpid(),),
    )
