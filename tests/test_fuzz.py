"""Every reader under a seeded mutation fuzzer (`tests/fuzzing`): each mutated input ends
in valid data or one clean error naming the file — never a traceback, a signal, a hang,
silently wrong output or a half-written output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fuzzing.harness import ACCEPTABLE, fuzz, summary
from fuzzing.targets import TARGETS

FAST_CASES = 6  # per format in `make test`
SLOW_CASES = 1000  # per format in the slow run (`make fuzz`)
# Cases that failed in a fuzz run once, each fixed since: (target, seed, case, workers).
CORPUS = Path(__file__).parent / "fuzzing" / "corpus.json"


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> list:
    """FAST_CASES new cases per format (seed 0) and the regression corpus, one worker."""
    corpus = [tuple(entry) for entry in json.loads(CORPUS.read_text())]
    return fuzz(list(TARGETS), FAST_CASES, seed=0, replay=corpus,
                seed_root=tmp_path_factory.mktemp("seeds"))  # fmt: skip


@pytest.mark.parametrize("target", list(TARGETS))
def test_mutated_inputs_end_in_data_or_one_clean_error(fast_run: list, target: str) -> None:
    results = [r for r in fast_run if r.target == target and r.seed == 0 and r.case < FAST_CASES]
    assert len(results) >= FAST_CASES
    bad = [r for r in results if r.outcome not in ACCEPTABLE]
    assert not bad, bad[0]


def test_the_regression_corpus_stays_fixed(fast_run: list) -> None:
    """Every case a fuzz run once failed on, replayed by its (target, seed, case)."""
    corpus = {tuple(entry[:3]) for entry in json.loads(CORPUS.read_text())}
    replayed = [r for r in fast_run if (r.target, r.seed, r.case) in corpus]
    assert len({(r.target, r.seed, r.case) for r in replayed}) == len(corpus)
    bad = [r for r in replayed if r.outcome not in ACCEPTABLE]
    assert not bad, bad[:1]


@pytest.mark.slow
def test_a_thousand_mutations_per_format(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The long run (`make fuzz`); its JSON summary goes to $FUZZ_SUMMARY when set."""
    seed = int(os.environ.get("FUZZ_SEED", "1"))
    results = fuzz(list(TARGETS), SLOW_CASES, seed=seed, jobs=2,
                   seed_root=tmp_path_factory.mktemp("seeds"))  # fmt: skip
    report = summary(results) | {"seed": seed, "cases_per_format": SLOW_CASES}
    if os.environ.get("FUZZ_SUMMARY"):
        Path(os.environ["FUZZ_SUMMARY"]).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("inputs", "formats", "outcomes")}))
    assert report["inputs"] >= 10_000 and report["formats"] >= 10
    assert sum(report["outcomes"][o] for o in ACCEPTABLE) == report["inputs"], report
