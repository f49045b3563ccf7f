"""Progress of long stages on stderr: a tqdm bar on a terminal, and in a log file (no
terminal, e.g. a Snakemake job) a plain line at every tenth of the work or minute.
Short runs (fewer than `LONG` items) stay silent."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
LONG = 200


def progress(items: Iterable[T], total: int, what: str, units: str = "items") -> Iterator[T]:
    """Yield `items`, reporting how many of `total` are done."""
    if total < LONG:
        yield from items
        return
    if sys.stderr.isatty():
        from tqdm import tqdm

        yield from tqdm(items, total=total, desc=what, unit=f" {units}", dynamic_ncols=True)
        return
    start = last = time.monotonic()
    every = max(total // 10, 1)
    for done, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if done % every == 0 or done == total or now - last > 60:
            last = now
            rate = done / max(now - start, 1e-9)
            print(f"{what}: {done:,}/{total:,} {units} ({rate:,.1f}/s)", file=sys.stderr,
                  flush=True)  # fmt: skip
