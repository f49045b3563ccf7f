"""Learning rate per optimizer step: linear warm-up from 0, then cosine to `min_lr`."""

from __future__ import annotations

import math

REFERENCE_BATCH = 128  # the published learning rate is for a global batch of 128


def scaled_lr(base_lr: float, global_batch: int) -> float:
    """Linear scaling rule: the base rate is given for a batch of 128."""
    return base_lr * global_batch / REFERENCE_BATCH


def warmup_cosine(step: int, total: int, warmup: int, peak: float, min_lr: float = 0.0) -> float:
    """Rate of optimizer step `step` (0-based) of `total`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return min_lr + (peak - min_lr) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
