"""Run mutated inputs through their readers, each case under a timeout, in worker
processes that a crash or a hang cannot take down with the run.

A case is (target, seed, number): its random generator is seeded from all three, so any
case can be replayed alone. A worker process keeps each target's valid seed input built
once, copies it for every case, applies one mutation (sometimes two), runs the stage and
classifies what happened:

- ``pass``: the stage accepted the input and its output passed the target's checks;
- ``clean_error``: `InputError` in one line, naming a file (or the config key) and
  leaving no output behind;
- ``malformed_error``: `InputError` in several lines, or naming no input file;
- ``half_written``: `InputError`, but output files were left;
- ``wrong``: accepted, but the output broke the contract (`targets.Wrong`);
- ``crash``: any other exception (a traceback for the user);
- ``signal``: the worker died (e.g. SIGSEGV); ``hang``: the case ran past the timeout;
- ``worker_error``: the harness itself failed (never expected).

Only ``pass`` and ``clean_error`` are acceptable.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import shutil
import tempfile
import time
import traceback
import zlib
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

ACCEPTABLE = ("pass", "clean_error")
OUTCOMES = ("pass", "clean_error", "malformed_error", "half_written", "wrong", "crash",
            "signal", "hang", "worker_error")  # fmt: skip


@dataclass
class Result:
    target: str
    seed: int
    case: int
    workers: int
    outcome: str
    mutation: str
    detail: str = ""


def case_rng(target: str, seed: int, case: int) -> random.Random:
    return random.Random(zlib.crc32(f"{target}/{seed}/{case}".encode()))


def _names_input(where: str) -> bool:
    """The error names a file (an absolute path: of the input, or one the input names)
    or a config key or option (a word)."""
    return where.startswith("/") or (bool(where) and " " not in where)


def run_case(target, template: Path, scratch: Path, seed: int, case: int,
             workers: int) -> Result:  # fmt: skip
    from csmoe.errors import InputError
    from fuzzing.mutations import mutate_file_bytes
    from fuzzing.targets import Wrong

    rng = case_rng(target.name, seed, case)
    folder = scratch / "input" / template.name
    out = scratch / "out"
    shutil.copytree(template.parent, scratch / "input", symlinks=True)
    out.mkdir()
    files = [f for f in target.files(folder) if f.exists()]
    mutations = []
    for _ in range(1 if rng.random() < 0.8 else 2):
        chosen = rng.choice(files) if files else folder
        try:
            what = target.mutate(rng, chosen, folder)
        except Exception as error:  # noqa: BLE001 - a structured edit that does not apply
            what = f"({type(error).__name__}) " + mutate_file_bytes(rng, chosen)
        mutations.append(f"{chosen.relative_to(scratch)}: {what}")
    mutation = "; ".join(mutations)

    def result(outcome: str, detail: str = "") -> Result:
        return Result(target.name, seed, case, workers, outcome, mutation, detail[:8000])

    try:
        produced = target.run(folder, out, workers)
        target.check(produced, out)
    except InputError as error:
        text = str(error)
        left = [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()]
        if "\n" in text or not _names_input(error.where):
            return result("malformed_error", text)
        if left:
            return result("half_written", f"{text} (left: {left[:5]})")
        return result("clean_error", text)
    except Wrong as wrong:
        return result("wrong", str(wrong))
    except Exception:  # noqa: BLE001 - what the fuzzer looks for
        return result("crash", traceback.format_exc()[-6000:])
    return result("pass")


def worker_main(connection, seed_root: str) -> None:
    """Serve cases from the parent until told to stop."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from fuzzing.targets import TARGETS

    templates: dict[str, Path] = {}
    while True:
        request = connection.recv()
        if request is None:
            return
        name, seed, case, workers = request
        target = TARGETS[name]
        if name not in templates:
            base = Path(seed_root) / name
            if not (base / "ready").exists():
                shutil.rmtree(base, ignore_errors=True)
                (base / "input").mkdir(parents=True)
                target.seed(base / "input" / "data")
                (base / "ready").touch()
            templates[name] = base / "input" / "data"
        with tempfile.TemporaryDirectory(prefix="case-") as scratch:
            outcome = run_case(target, templates[name], Path(scratch), seed, case, workers)
        connection.send(outcome)


class Worker:
    def __init__(self, seed_root: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        # Not a daemon: the stages under test start reader processes of their own.
        self.process = context.Process(target=worker_main, args=(child, str(seed_root)))
        self.process.start()

    def run(self, request: tuple, timeout: float) -> Result | str:
        try:
            self.connection.send(request)
            if self.connection.poll(timeout):
                return self.connection.recv()
        except (EOFError, OSError):  # the worker is gone
            pass
        self.process.join(timeout=5)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
            return "hang"
        return "signal" if self.process.exitcode < 0 else "worker_error"

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.connection.send(None)
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()


def _serve(requests: list[tuple], seed_root: Path, timeout: float) -> list[Result]:
    """Run `requests` one by one in a worker process, replaced when it dies or hangs."""
    worker = Worker(seed_root)
    results: list[Result] = []
    seeded: set[str] = set()
    try:
        for request in requests:
            name = request[0]
            start = time.monotonic()
            answer = worker.run(request, timeout + (300 if name not in seeded else 0))
            seeded.add(name)
            if isinstance(answer, str):  # the worker died or hung: a new one
                results.append(Result(name, request[1], request[2], request[3], answer,
                                      "(replay the case)",
                                      f"after {time.monotonic() - start:.0f} s"))  # fmt: skip
                worker = Worker(seed_root)
            else:
                results.append(answer)
    finally:
        worker.stop()
    return results


def fuzz(targets: list[str], cases: int, seed: int, seed_root: Path, *, timeout: float = 120.0,
         jobs: int = 1, replay: list[tuple[str, int, int, int]] = (),
         default_workers_share: float = 0.1) -> list[Result]:  # fmt: skip
    """`cases` mutated inputs per target, then the `replay` cases (target, seed, case,
    workers), in `jobs` worker processes, targets split between them. A share of the
    cases of targets with reader processes run with 2 of them (the workflow's default),
    the rest with one."""
    from fuzzing.targets import TARGETS

    requests: dict[str, list[tuple]] = {}
    for name in targets:
        for case in range(cases):
            parallel = TARGETS[name].uses_workers and (
                case_rng(name, seed, -case - 1).random() < default_workers_share
            )
            requests.setdefault(name, []).append((name, seed, case, 2 if parallel else 1))
    for request in replay:
        requests.setdefault(request[0], []).append(tuple(request))
    parts = [[] for _ in range(max(1, jobs))]
    for i, name in enumerate(requests):
        parts[i % len(parts)] += requests[name]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(parts)) as pool:
        done = pool.map(lambda j: _serve(parts[j], Path(seed_root) / f"job{j}", timeout),
                        range(len(parts)))  # fmt: skip
        return [result for part in done for result in part]


def summary(results: list[Result]) -> dict:
    by_target: dict[str, Counter] = {}
    for result in results:
        by_target.setdefault(result.target, Counter())[result.outcome] += 1
    totals = Counter(r.outcome for r in results)
    bad = [asdict(r) for r in results if r.outcome not in ACCEPTABLE]
    return {
        "inputs": len(results),
        "formats": len(by_target),
        "outcomes": {o: totals.get(o, 0) for o in OUTCOMES},
        "by_format": {t: {o: c for o, c in counts.items()} for t, counts in by_target.items()},
        "unacceptable": bad[:50],
    }
