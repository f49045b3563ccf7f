"""Per-patch reading with one error policy: stop at the first bad patch, or skip and list it.

Readers raise `PatchProblem` for anything wrong with one patch. `collect` runs a reader
over all patches (optionally in worker processes, results in input order) and either turns
the first problem into an `InputError` or returns the problems for the skipped list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any, TypeVar

from csmoe.errors import InputError
from csmoe.parallel import process_pool

T = TypeVar("T")


class PatchProblem(Exception):
    def __init__(self, path: str | PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        # Crosses process boundaries as (path, problem); see InputError.__reduce__.
        return type(self), (self.path, self.problem)


@dataclass(frozen=True)
class Outcome:
    patch: str
    record: dict[str, Any] | None
    problem: PatchProblem | None


def _attempt(reader: Callable[[T], dict[str, Any]], name: str, item: T) -> Outcome:
    try:
        return Outcome(name, reader(item), None)
    except PatchProblem as problem:
        return Outcome(name, None, problem)


def collect(
    reader: Callable[[T], dict[str, Any]],
    items: Sequence[T],
    names: Sequence[str],
    *,
    skip_bad: bool,
    workers: int = 1,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    """Read every item; return the records and the (patch, file, reason) of skipped ones."""
    if workers > 1 and len(items) > 1:
        with process_pool(workers) as pool:
            chunk = max(1, len(items) // (workers * 8))
            outcomes = list(
                pool.map(_attempt, [reader] * len(items), names, items, chunksize=chunk)
            )
    else:
        outcomes = [_attempt(reader, name, item) for name, item in zip(names, items, strict=True)]
    records, skipped = [], []
    for outcome in outcomes:
        if outcome.problem is None:
            records.append(outcome.record)
        elif skip_bad:
            skipped.append((outcome.patch, outcome.problem.path, outcome.problem.problem))
        else:
            raise InputError(outcome.problem.path, outcome.problem.problem)
    return records, skipped
