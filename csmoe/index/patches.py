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
from csmoe.progress import progress

T = TypeVar("T")
Skipped = tuple[str, str, str, str]  # (patch_id or "", item name, file, reason)


class PatchProblem(Exception):
    """What is wrong with one patch; `patch_id` is the index id once the reader knows it."""

    def __init__(
        self, path: str | PathLike[str], problem: str, patch_id: str | None = None
    ) -> None:
        self.path = str(path)
        self.problem = problem
        self.patch_id = patch_id
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        # Crosses process boundaries as its fields; see InputError.__reduce__.
        return type(self), (self.path, self.problem, self.patch_id)


@dataclass(frozen=True)
class Outcome:
    item: str
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
    names_are_ids: bool = True,
) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """Read every item; return the records and the skipped ones.

    `names` label the items; unless `names_are_ids` they are not the index's patch ids (a
    BigEarthNet v1 pair is read from its S1 folder but indexed by its S2 name), and a
    skipped item's id is what its reader put into the `PatchProblem`, if anything.
    """
    if workers > 1 and len(items) > 1:
        with process_pool(workers) as pool:
            chunk = max(1, min(len(items) // (workers * 8), 64))
            done = pool.map(_attempt, [reader] * len(items), names, items, chunksize=chunk)
            outcomes = list(progress(done, len(items), "index", "patches"))
    else:
        done = map(_attempt, [reader] * len(items), names, items)
        outcomes = list(progress(done, len(items), "index", "patches"))
    records, skipped = [], []
    for outcome in outcomes:
        if outcome.problem is None:
            records.append(outcome.record)
        elif skip_bad:
            problem = outcome.problem
            patch_id = problem.patch_id or (outcome.item if names_are_ids else "")
            skipped.append((patch_id, outcome.item, problem.path, problem.problem))
        else:
            raise InputError(outcome.problem.path, outcome.problem.problem)
    return records, skipped
