"""Bootstrap intervals against an independent loop over resampled data, and the expert
specialisation permutation test on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

from csmoe.evaluation.experts import permutation_test
from csmoe.study import bootstrap as bs

RESAMPLES = 200


def loop_interval(metric, n: int, seed: int) -> tuple[float, float]:
    """The definition: draw n items with replacement, compute the metric on the copy."""
    rng = np.random.default_rng(seed)
    values = [metric(rng.integers(0, n, size=n)) for _ in range(RESAMPLES)]
    return bs.interval(np.array(values))


def present(y: np.ndarray) -> np.ndarray:
    return y.sum(axis=0) > 0


def sklearn_micro_map(y, s, idx):
    keep = present(y[idx])
    return average_precision_score(y[idx][:, keep], s[idx][:, keep], average="micro")


def sklearn_macro_map(y, s, idx):
    keep = present(y[idx])
    return average_precision_score(y[idx][:, keep], s[idx][:, keep], average="macro")


def sklearn_f1(y, s, idx, average):
    keep = present(y[idx])
    return f1_score(y[idx][:, keep], s[idx][:, keep] >= 0.5, average=average, zero_division=0)


@pytest.fixture(scope="module")
def multilabel():
    rng = np.random.default_rng(0)
    y = (rng.random((60, 7)) < 0.25).astype(np.uint8)
    y[:, 6] = 0
    y[3, 6] = 1  # a rare class: absent from many resamples
    scores = np.clip(y * 0.3 + rng.random(y.shape) * 0.7, 0, 1)
    scores[::5] = np.round(scores[::5], 1)  # ties
    return y, scores


@pytest.mark.parametrize(
    "name, ours, reference",
    [("micro mAP", bs.micro_map, sklearn_micro_map),
     ("macro mAP", bs.macro_map, sklearn_macro_map),
     ("micro F1", bs.micro_f1, lambda y, s, i: sklearn_f1(y, s, i, "micro")),
     ("macro F1", bs.macro_f1, lambda y, s, i: sklearn_f1(y, s, i, "macro"))],
)  # fmt: skip
def test_classification_intervals_match_a_loop_over_resampled_copies(
    multilabel, name, ours, reference
) -> None:
    y, scores = multilabel
    n = len(y)
    weights = bs.resample_weights(n, RESAMPLES, seed=3)
    fast = bs.interval(ours(y, scores, weights))
    slow = loop_interval(lambda idx: reference(y, scores, idx), n, seed=3)
    assert fast == pytest.approx(slow, abs=1e-9), name
    full = ours(y, scores, np.ones((1, n)))[0]
    assert full == pytest.approx(reference(y, scores, np.arange(n)), abs=1e-12)


def test_weighted_average_precision_is_sklearns_with_sample_weights(multilabel) -> None:
    y, scores = multilabel
    weights = bs.resample_weights(len(y), 5, seed=1)
    ours = bs.weighted_average_precision(y[:, 0], scores[:, 0], weights)
    for row, value in zip(weights, ours, strict=True):
        assert value == pytest.approx(
            average_precision_score(y[:, 0], scores[:, 0], sample_weight=row), abs=1e-12
        )


def test_segmentation_and_retrieval_intervals_match_loops() -> None:
    rng = np.random.default_rng(2)
    n, classes = 40, 5
    true = rng.integers(0, 50, (n, classes))
    pred = rng.integers(0, 50, (n, classes))
    inter = np.minimum(true, pred) // 2
    true[:, 4] = 0
    true[7, 4] = 9  # a class seen in one patch only

    def loop_miou(idx):
        i, p, t = inter[idx].sum(0), pred[idx].sum(0), true[idx].sum(0)
        union = p + t - i
        return np.mean([a / u for a, u in zip(i, union, strict=True) if u > 0])

    weights = bs.resample_weights(n, RESAMPLES, seed=5)
    assert bs.interval(bs.miou(inter, pred, true, weights)) == pytest.approx(
        loop_interval(loop_miou, n, seed=5), abs=1e-12
    )
    precision, recall, ap = rng.random((3, n))

    def loop_f1(idx):
        p, r = precision[idx].mean(), recall[idx].mean()
        return 2 * p * r / (p + r)

    assert bs.interval(bs.retrieval_f1(precision, recall, weights)) == pytest.approx(
        loop_interval(loop_f1, n, seed=5), abs=1e-12
    )
    assert bs.interval(bs.mean(ap, weights)) == pytest.approx(
        loop_interval(lambda idx: ap[idx].mean(), n, seed=5), abs=1e-12
    )


def test_intervals_cover_the_truth_of_a_known_mean() -> None:
    """A bootstrap interval of a mean of n = 400 draws holds the true mean about 95 % of
    the time (binomial tolerance over 60 experiments)."""
    hits = 0
    for experiment in range(60):
        values = np.random.default_rng(experiment).normal(1.0, 2.0, 400)
        low, high = bs.interval(bs.mean(values, bs.resample_weights(400, 400, experiment)))
        hits += low <= 1.0 <= high
    assert 50 <= hits <= 60


# ------------------------------------------------------------------ specialisation
def shares(rng: np.random.Generator, tokens: int, favoured: int, strength: float):
    logits = rng.normal(size=(tokens, 4))
    logits[:, favoured] += strength
    values = np.exp(logits)
    return values / values.sum(axis=1, keepdims=True)


def test_experts_that_differ_by_sensor_give_a_small_p_value() -> None:
    rng = np.random.default_rng(0)
    result = permutation_test(shares(rng, 300, 0, 1.0), shares(rng, 300, 3, 1.0), seed=1)
    assert result["p_value"] < 0.01 and result["divergence_bits"] > 0.01
    assert result["tokens"] == {"s1": 300, "s2": 300} and len(result["s1"]) == 4


def test_experts_used_alike_give_a_large_p_value() -> None:
    rng = np.random.default_rng(0)
    same = shares(rng, 300, 1, 1.0)
    identical = permutation_test(same, same.copy(), seed=1)
    assert identical["divergence_bits"] == 0 and identical["p_value"] > 0.1
    alike = permutation_test(shares(rng, 300, 1, 1.0), shares(rng, 300, 1, 1.0), seed=1)
    assert alike["p_value"] > 0.1
