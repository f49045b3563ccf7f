"""The study's numbers with their uncertainty: every metric of every encoder as a mean
over its runs (pretraining seeds) with a bootstrap interval and the spread of the runs,
and the paired comparisons the study is about.

An evaluation is read from its ``metrics.json`` and the ``predictions.safetensors``
beside it (`csmoe.evaluation.predictions`); nothing is re-run. Classification and
segmentation metrics resample the test patches, retrieval metrics the queries
(`csmoe.study.bootstrap`); runs that are compared must share their test patches and
queries, which the comparison checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csmoe.errors import InputError
from csmoe.evaluation.predictions import PREDICTIONS, read_predictions
from csmoe.study import bootstrap as bs

DIRECTIONS = ("s1->s1", "s2->s2", "s1->s2", "s2->s1")
K = 10
BASELINE = "baseline"


@dataclass
class Evaluation:
    archive: str
    sampler: str
    model: str
    seed: int | None
    metrics: dict
    arrays: dict[str, np.ndarray]
    ids: dict[str, list[str]]

    @property
    def key(self) -> tuple[str, str, str]:
        return self.archive, self.sampler, self.model

    @property
    def is_moe(self) -> bool:
        return bool(self.metrics.get("experts"))


def read_metrics(path: str | Path) -> dict:
    """An evaluation's metrics.json, with the run it belongs to (``run``)."""
    path = Path(path)
    try:
        metrics = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(path, f"unreadable metrics ({error})") from None
    run = metrics.get("run") if isinstance(metrics, dict) else None
    if not isinstance(run, dict) or not all(run.get(k) for k in ("archive", "sampler", "model")):
        raise InputError(path, "records no run (archive, sampler, model): evaluate with "
                         "--archive, --sampler and --model")  # fmt: skip
    return metrics


def run_name(metrics: dict) -> str:
    run = metrics["run"]
    seed = "" if run.get("seed") is None else f" seed {run['seed']}"
    return f"{run['model']} on {run['archive']} / {run['sampler']}{seed}"


def load(path: str | Path) -> Evaluation:
    metrics = read_metrics(path)
    arrays, ids = read_predictions(Path(path).with_name(PREDICTIONS))
    run = metrics["run"]
    return Evaluation(run["archive"], run["sampler"], run["model"], run.get("seed"), metrics,
                      arrays, ids)  # fmt: skip


# -------------------------------------------------------------------- metrics
Statistic = Callable[[np.ndarray], np.ndarray]


def _classification(arrays: dict, sensor: str, metric) -> Statistic:
    labels, scores = arrays["cls_labels"], arrays[f"cls_{sensor}_scores"]
    return lambda weights: metric(labels, scores, weights)


def _segmentation(arrays: dict) -> Statistic:
    counts, rows = arrays["seg_counts"], arrays["seg_rows"]

    def statistic(weights: np.ndarray) -> np.ndarray:
        w = weights[:, rows]
        return np.mean([bs.miou(c[:, 0], c[:, 1], c[:, 2], w) for c in counts], axis=0)

    return statistic


def _retrieval(arrays: dict, direction: str, kind: str) -> Statistic | None:
    prefix = f"ret_{direction.replace('->', '_to_')}_k{K}_"
    if prefix + "ap" not in arrays:
        return None
    if kind == "map":
        return lambda weights: bs.mean(arrays[prefix + "ap"], weights)
    return lambda weights: bs.retrieval_f1(arrays[prefix + "precision"],
                                           arrays[prefix + "recall"], weights)  # fmt: skip


def statistics(evaluation: Evaluation) -> dict[str, tuple[str, Statistic]]:
    """Metric column -> (what it resamples: "test" or "queries", weights -> values)."""
    arrays, out = evaluation.arrays, {}
    for sensor in ("s2", "s1"):
        for name, metric in (("micro_map", bs.micro_map), ("macro_map", bs.macro_map),
                             ("micro_f1", bs.micro_f1), ("macro_f1", bs.macro_f1)):  # fmt: skip
            out[f"cls_{sensor}_{name}"] = ("test", _classification(arrays, sensor, metric))
    if "seg_counts" in arrays:
        out["seg_miou"] = ("test", _segmentation(arrays))
    for direction in DIRECTIONS:
        name = direction.replace("->", "_to_")
        for kind in ("map", "f1"):
            found = _retrieval(arrays, direction, kind)
            if found is not None:
                out[f"ret_{name}_{kind}@{K}"] = ("queries", found)
    return out


METRICS = [f"cls_{s}_{m}" for s in ("s2", "s1") for m in ("micro_map", "macro_map", "micro_f1",
           "macro_f1")] + ["seg_miou"] + [f"ret_{d.replace('->', '_to_')}_{k}@{K}"
           for d in DIRECTIONS for k in ("map", "f1")]  # fmt: skip


def _sizes(runs: list[Evaluation]) -> dict[str, int]:
    first = runs[0]
    for run in runs[1:]:
        if run.ids != first.ids:
            raise InputError(f"{run.archive}/{run.sampler}/{run.model}",
                             "runs compared on different test patches or queries")  # fmt: skip
    return {"test": len(first.ids["test"]), "queries": len(first.ids["queries"])}


class Bootstrap:
    """One set of resamples per unit (test patches, queries), shared by every run, so
    that any two runs are paired; each run's metric values under them computed once."""

    def __init__(self, seed: int = 0, resamples: int = bs.RESAMPLES) -> None:
        self.seed, self.resamples = seed, resamples
        self._weights: dict[tuple[str, int], np.ndarray] = {}
        self._values: dict[tuple[int, str], tuple[float, np.ndarray]] = {}

    def weights(self, unit: str, n: int) -> np.ndarray:
        if (unit, n) not in self._weights:  # queries resampled independently of patches
            seed = self.seed if unit == "test" else self.seed + 1
            self._weights[unit, n] = bs.resample_weights(n, self.resamples, seed)
        return self._weights[unit, n]

    def values(self, run: Evaluation, metric: str) -> tuple[float, np.ndarray] | None:
        """(value on the whole test set, values under the resamples) of one run."""
        key = (id(run), metric)
        if key not in self._values:
            found = statistics(run).get(metric)
            if found is None:
                return None
            unit, statistic = found
            n = len(run.ids["test" if unit == "test" else "queries"])
            point = float(statistic(np.ones((1, n)))[0])
            self._values[key] = (point, statistic(self.weights(unit, n)))
        return self._values[key]

    def summarise(self, runs: list[Evaluation]) -> dict[str, dict]:
        """Per metric: value (mean over runs), interval of that mean, seed spread."""
        _sizes(runs)
        out = {}
        for metric in statistics(runs[0]):
            found = [self.values(run, metric) for run in runs]
            points = np.array([p for p, _ in found])
            low, high = bs.interval(np.mean([v for _, v in found], axis=0))
            spread = float(np.std(points, ddof=1)) if len(points) > 1 else None
            out[metric] = {"value": float(points.mean()), "low": low, "high": high,
                           "seed_sd": spread, "runs": len(runs)}  # fmt: skip
        return out

    def compare(self, first: list[Evaluation], second: list[Evaluation],
                metric: str) -> dict | None:  # fmt: skip
        """Mean of `first` minus mean of `second` on `metric` under the same resamples
        of their shared patches (or queries); None where one side lacks the metric."""
        _sizes(first + second)
        a = [self.values(run, metric) for run in first]
        b = [self.values(run, metric) for run in second]
        if any(x is None for x in a + b):
            return None
        point = np.mean([p for p, _ in a]) - np.mean([p for p, _ in b])
        values = np.mean([v for _, v in a], axis=0) - np.mean([v for _, v in b], axis=0)
        low, high = bs.interval(values)
        return {"difference": float(point), "low": low, "high": high}
