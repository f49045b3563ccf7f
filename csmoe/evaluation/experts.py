"""Do the Soft MoE experts specialise by sensor? A divergence and its permutation test.

For each MoE layer, every output token of a test image has an expert share vector: how
much of the token comes from each expert (its combine weights summed over the expert's
slots; `CrossSensorEncoder.recording_expert_shares`). The S1 and S2 distributions of
expert use are the mean share vectors of the two sensors' tokens; their Jensen-Shannon
divergence (base 2: 0 = the experts serve both sensors alike, 1 = disjoint experts) is
the effect. Its p-value comes from a permutation test: the sensor labels of the tokens
are shuffled (token counts kept) `PERMUTATIONS` times, and p = (1 + the number of
shuffles whose divergence reaches the observed one) / (1 + `PERMUTATIONS`).

Tokens of one image are not independent, so with thousands of tokens even a small
divergence is "significant": read the divergence, not only the p-value.
"""

from __future__ import annotations

import numpy as np

PERMUTATIONS = 1000
MAX_TOKENS = 20_000  # per sensor: a seeded subsample above this
CELLS = 20_000_000  # values gathered per block of permutations (bounds memory)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (bits) of distributions along the last axis."""
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    m = (p + q) / 2

    def kl(a, b):
        return np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / np.where(b > 0, b, 1)), 0.0)

    return (kl(p, m).sum(axis=-1) + kl(q, m).sum(axis=-1)) / 2


def permutation_test(s1: np.ndarray, s2: np.ndarray, *, permutations: int = PERMUTATIONS,
                     seed: int = 0) -> dict:  # fmt: skip
    """Divergence of the mean expert shares of S1 tokens `s1` (T1, n) and S2 tokens
    `s2` (T2, n), and its permutation p-value."""
    rng = np.random.default_rng(seed)
    s1, s2 = _subsample(s1, rng), _subsample(s2, rng)
    pooled = np.concatenate([s1, s2]).astype(np.float64)
    total, first = pooled.sum(axis=0), len(s1)
    observed = float(js_divergence(s1.mean(axis=0), s2.mean(axis=0)))
    reached = 0
    block = max(1, CELLS // max(1, first * pooled.shape[1]))
    for lo in range(0, permutations, block):
        count = min(block, permutations - lo)
        picks = np.argsort(rng.random((count, len(pooled))), axis=1)[:, :first]
        sums = pooled[picks].sum(axis=1)
        a, b = sums / first, (total - sums) / (len(pooled) - first)
        reached += int((js_divergence(a, b) >= observed - 1e-12).sum())
    return {
        "divergence_bits": observed,
        "p_value": (1 + reached) / (1 + permutations),
        "s1": s1.mean(axis=0).tolist(),
        "s2": s2.mean(axis=0).tolist(),
        "tokens": {"s1": int(len(s1)), "s2": int(len(s2))},
        "permutations": permutations,
    }


def _subsample(shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(shares) <= MAX_TOKENS:
        return shares
    return shares[np.sort(rng.choice(len(shares), MAX_TOKENS, replace=False))]


def specialisation(shares: dict[str, list[np.ndarray]], seed: int = 0) -> list[dict] | None:
    """Per MoE layer, the test above; `shares[sensor][layer]` is (tokens, experts)."""
    if not shares["s1"]:
        return None
    return [
        {"layer": i} | permutation_test(a, b, seed=seed + i)
        for i, (a, b) in enumerate(zip(shares["s1"], shares["s2"], strict=True))
    ]


EXPERT_SAMPLES = 256  # test samples whose tokens the specialisation test uses


def token_shares(featurizer, folder, batch_size: int = 32,
                 samples: int = EXPERT_SAMPLES) -> dict[str, list[np.ndarray]]:  # fmt: skip
    """Per sensor and MoE layer, the (tokens, experts) shares of the patch tokens of the
    first `samples` samples of a shard folder."""
    import torch
    from torch.utils.data import DataLoader

    from csmoe.data.loader import ShardDataset

    data = ShardDataset(folder, shuffle=False, flips=False, stats=featurizer.stats())
    encoder = featurizer.encoder
    seen = 0
    with encoder.recording_expert_shares() as record:
        for batch in DataLoader(data, batch_size=batch_size):
            featurizer(batch)
            seen += len(batch["patch_id"])
            if seen >= samples:
                break
    shares = {}
    for sensor, passes in record.items():
        layers = zip(*passes, strict=True)  # per layer, one (B, 1 + L, n) per batch
        shares[sensor] = [
            torch.cat(parts)[:samples, 1:].reshape(-1, parts[0].shape[-1]).cpu().numpy()
            for parts in layers
        ]
    return shares
