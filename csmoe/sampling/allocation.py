"""Budget allocation over strata: n_h proportional to N_h ** alpha, capped by N_h.

alpha = 1 is proportional allocation (the sample mirrors the pool), alpha = 0 uniform
(every stratum gets the same share); in between is the power allocation of survey
sampling. Strata that cannot fill their share give the remainder to the others
(repeated until no stratum is over its cap); integer budgets by largest remainder,
ties broken by stratum key, so the result is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def allocate(sizes: pd.Series, n: int, alpha: float) -> pd.Series:
    """Integer budget per stratum (index of `sizes`), summing to `n` <= sizes.sum()."""
    if n > sizes.sum():
        raise ValueError(f"cannot draw {n} from {sizes.sum()}")
    sizes = sizes.sort_index()
    capacity = sizes.to_numpy(dtype=np.float64)
    weights = capacity**alpha
    share = np.zeros_like(capacity)
    open_ = capacity > 0
    remaining = float(n)
    while remaining > 1e-9 and open_.any():
        proposal = remaining * weights * open_ / weights[open_].sum()
        room = capacity - share
        full = open_ & (proposal >= room)
        if not full.any():
            share += proposal
            break
        share[full] = capacity[full]
        remaining = n - share.sum()
        open_ &= ~full
    budget = np.floor(share + 1e-9).astype(np.int64)
    short = n - budget.sum()
    if short:
        fraction = np.where(budget < capacity, share - budget, -1.0)
        order = np.lexsort((np.arange(len(fraction)), -fraction))
        budget[order[:short]] += 1
    return pd.Series(budget, index=sizes.index)
