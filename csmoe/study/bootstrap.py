"""Seeded bootstrap intervals of the study's metrics, from per-patch and per-query scores.

A resample draws the n test patches (or retrieval queries) with replacement:
``rng.integers(0, n, size=(B, n))``, one row per resample, counted per patch into a
weight matrix W (B, n). Every metric has a weighted form that equals the metric of the
resampled (duplicated) set:

- average precision: sklearn's step-wise definition (precision at each distinct score,
  weighted by the recall gained there) with the counts as sample weights; micro over
  the (patch, class) entries of the classes present in the resample, macro the mean
  over those classes; F1 at probability 0.5 from weighted TP, FP and FN;
- segmentation: per-patch intersection, prediction and truth counts per class, summed
  with the weights: IoU per class, mIoU over the classes in truth or prediction;
- retrieval: weighted means of per-query precision, recall and AP@K; F1 the harmonic
  mean of the two mean values.

A metric of several runs (seeds) is their mean under each resample; a paired
comparison is the difference of two such means under the same resamples. The interval
is the 2.5 and 97.5 percentile of the B values (`RESAMPLES` = 1,000).
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
BLOCK = 32  # resamples processed together (bounds memory for large test sets)


def resample_weights(n: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples, n) counts of each item in each resample (rows sum to n)."""
    draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    weights = np.zeros((resamples, n), dtype=np.float64)
    np.add.at(weights, (np.arange(resamples)[:, None], draws), 1.0)
    return weights


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of bootstrap values (NaN resamples left out)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


# ----------------------------------------------------------------- average precision
def weighted_average_precision(y: np.ndarray, scores: np.ndarray, weights: np.ndarray
                               ) -> np.ndarray:  # fmt: skip
    """(B,) average precision of binary labels `y` (m,) ranked by `scores` (m,) under
    each row of `weights` (B, m); NaN where a row weighs no positive."""
    order = np.argsort(-scores, kind="stable")
    y, scores = y[order].astype(np.float64), scores[order]
    ends = np.append(np.flatnonzero(np.diff(scores)), len(scores) - 1)  # last of each tie
    out = np.empty(len(weights))
    for lo in range(0, len(weights), BLOCK):
        w = weights[lo : lo + BLOCK][:, order]
        hits = np.cumsum(w * y, axis=1)[:, ends]
        seen = np.cumsum(w, axis=1)[:, ends]
        positives = hits[:, -1:]
        precision = np.divide(hits, seen, out=np.zeros_like(hits), where=seen > 0)
        recall = np.divide(hits, positives, out=np.zeros_like(hits), where=positives > 0)
        gained = np.diff(recall, axis=1, prepend=0.0)
        ap = (gained * precision).sum(axis=1)
        out[lo : lo + BLOCK] = np.where(positives[:, 0] > 0, ap, np.nan)
    return out


def micro_map(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(B,) micro average precision of multi-label `y` (n, C) over the classes with a
    positive in each resample."""
    present = weights @ y > 0  # (B, C)
    n, classes = y.shape
    out = np.empty(len(weights))
    for lo in range(0, len(weights), BLOCK):
        w = weights[lo : lo + BLOCK]
        entry = (w[:, :, None] * present[lo : lo + BLOCK, None, :]).reshape(len(w), n * classes)
        out[lo : lo + BLOCK] = weighted_average_precision(y.ravel(), scores.ravel(), entry)
    return out


def macro_map(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(B,) mean over the classes present in each resample of their average precision."""
    per_class = np.stack([weighted_average_precision(y[:, c], scores[:, c], weights)
                          for c in range(y.shape[1])], axis=1)  # fmt: skip
    with np.errstate(invalid="ignore"):
        return np.nanmean(per_class, axis=1)


def _confusion(y: np.ndarray, predicted: np.ndarray, weights: np.ndarray):
    tp = weights @ (y & predicted).astype(np.float64)
    fp = weights @ (~y & predicted).astype(np.float64)
    fn = weights @ (y & ~predicted).astype(np.float64)
    return tp, fp, fn, weights @ y.astype(np.float64) > 0


def micro_f1(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    tp, fp, fn, present = _confusion(y.astype(bool), scores >= 0.5, weights)
    tp, fp, fn = (np.where(present, a, 0).sum(axis=1) for a in (tp, fp, fn))
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def macro_f1(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    tp, fp, fn, present = _confusion(y.astype(bool), scores >= 0.5, weights)
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    f1 = np.where(present, f1, np.nan)
    with np.errstate(invalid="ignore"):
        return np.nanmean(f1, axis=1)


# ------------------------------------------------------------------- segmentation
def miou(intersection: np.ndarray, predicted: np.ndarray, truth: np.ndarray,
         weights: np.ndarray) -> np.ndarray:  # fmt: skip
    """(B,) mean IoU from per-patch (n, C) pixel counts: classes with a union."""
    inter, pred, true = (weights @ a.astype(np.float64) for a in (intersection, predicted, truth))
    union = pred + true - inter
    iou = np.divide(inter, union, out=np.full_like(inter, np.nan), where=union > 0)
    with np.errstate(invalid="ignore"):
        return np.nanmean(iou, axis=1)


# ----------------------------------------------------------------------- retrieval
def mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (weights @ values.astype(np.float64)) / weights.sum(axis=1)


def retrieval_f1(precision: np.ndarray, recall: np.ndarray, weights: np.ndarray) -> np.ndarray:
    p, r = mean(precision, weights), mean(recall, weights)
    return np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=p + r > 0)
