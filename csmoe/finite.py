"""Float pixels that are NaN or infinite: the check every band reader applies, so that
no such value reaches a sample, a band statistic or ``stats.json``."""

from __future__ import annotations

import numpy as np


def non_finite(pixels: np.ndarray) -> str | None:
    """What is wrong with the pixels, or None when every one is finite."""
    if not np.issubdtype(pixels.dtype, np.floating):
        return None
    bad = int(np.count_nonzero(~np.isfinite(pixels)))
    return f"{bad} of {pixels.size} pixels are NaN or infinite" if bad else None
