"""Worker processes that are safe next to PyTorch.

Forking a process whose OpenMP thread pool is already running (any torch operation
starts it) can deadlock the child; workers are therefore started with "spawn": a fresh
interpreter that imports what it needs.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def process_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
