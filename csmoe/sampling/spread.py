"""Spatially and thematically balanced selection inside a stratum.

Patches are ordered along a Z-order (Morton) curve through a joint space of geographic
position and the two leading principal components of their descriptors; a systematic
sample along that curve (random start, fixed step) spreads the picks over the whole
space, like the GRTS designs of environmental monitoring. The picks are then put in
bit-reversed curve order, so every prefix of the selection order is spread as well.

Where it is affordable (k picks x candidates <= `FPS_BUDGET`), the curve sample is
only a candidate set of up to 4k patches, from which greedy farthest-point selection
picks k: each next patch is the one farthest from all picked so far, in descriptor
space plus normalised position, starting from the patch closest to the stratum mean.
That maximises the spread directly; its order is itself prefix-diverse.

A row is never picked twice, even where rows coincide in that space (SSL4EO-S12 lists
each location once per timestamp, with the same position and descriptors): once the
distinct points are taken, the remaining coinciding rows follow in row order.
"""

from __future__ import annotations

import numpy as np

BITS = 16  # per dimension: 4 dimensions fit a 64-bit key
FPS_BUDGET = 5_000_000  # picks x candidates for farthest-point selection
FPS_CANDIDATES = 4  # candidates per pick


def _normalise(features: np.ndarray) -> np.ndarray:
    low, high = features.min(axis=0), features.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (features - low) / span


def principal_components(values: np.ndarray, k: int = 2) -> np.ndarray:
    centred = values - values.mean(axis=0)
    if len(values) < 2 or not np.any(centred):
        return np.zeros((len(values), k))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ vt[:k].T
    return np.pad(scores, ((0, 0), (0, k - scores.shape[1])))


def morton_keys(features: np.ndarray) -> np.ndarray:
    """Interleave the bits of up to 4 features scaled to [0, 1] into uint64 keys."""
    grid = np.minimum((_normalise(features) * (1 << BITS)).astype(np.uint64), (1 << BITS) - 1)
    keys = np.zeros(len(features), dtype=np.uint64)
    dims = features.shape[1]
    for bit in range(BITS):
        for d in range(dims):
            value = (grid[:, d] >> np.uint64(bit)) & np.uint64(1)
            keys |= value << np.uint64(bit * dims + d)
    return keys


def bit_reversed_order(n: int) -> np.ndarray:
    """A permutation of range(n) in which every prefix is spread over range(n)."""
    if n <= 1:
        return np.arange(n)
    bits = int(np.ceil(np.log2(n)))
    values = np.arange(1 << bits)
    reversed_ = np.zeros_like(values)
    for b in range(bits):
        reversed_ |= ((values >> b) & 1) << (bits - 1 - b)
    return reversed_[reversed_ < n]


def curve_sample(
    lonlat: np.ndarray, descriptors: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Systematic sample of `k` rows along the Morton curve, in bit-reversed order."""
    n = len(lonlat)
    features = np.column_stack([lonlat, principal_components(descriptors)])
    # Random tie-breaking keeps equal keys (duplicate positions) unbiased but seeded.
    order = np.lexsort((rng.random(n), morton_keys(features)))
    positions = np.floor(rng.random() * n / k + np.arange(k) * n / k).astype(np.int64)
    picked = order[np.minimum(positions, n - 1)]
    return picked[bit_reversed_order(k)]


def farthest_points(features: np.ndarray, k: int) -> np.ndarray:
    """Greedy farthest-point selection of `k` distinct rows, first the one nearest the
    mean (picked rows leave the race: a coinciding row is at distance 0, not below)."""
    first = int(np.argmin(((features - features.mean(axis=0)) ** 2).sum(axis=1)))
    picked = [first]
    nearest = ((features - features[first]) ** 2).sum(axis=1)
    nearest[first] = -np.inf
    for _ in range(k - 1):
        nxt = int(np.argmax(nearest))
        picked.append(nxt)
        nearest = np.minimum(nearest, ((features - features[nxt]) ** 2).sum(axis=1))
        nearest[nxt] = -np.inf
    return np.asarray(picked)


def spread_selection(
    lonlat: np.ndarray, descriptors: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of `k` spread-out rows, in selection order."""
    n = len(lonlat)
    k = min(k, n)
    candidates = min(n, FPS_CANDIDATES * k)
    if k * candidates > FPS_BUDGET:
        return curve_sample(lonlat, descriptors, k, rng)
    pool = curve_sample(lonlat, descriptors, candidates, rng) if candidates < n else np.arange(n)
    features = np.column_stack([_normalise(lonlat[pool]), descriptors[pool]])
    return pool[farthest_points(features, k)]
