"""Float pixels that are NaN or infinite: the check every band reader applies, so that
no such value reaches a sample, a band statistic or ``stats.json``.

Policy ``reject`` (the default) makes such a band bad input. Policy ``repair`` fills its
non-finite pixels with the median of the band's finite pixels in the same patch (a band
with no finite pixel stays bad input); the index counts the repaired pixels per pair.
"""

from __future__ import annotations

import numpy as np

POLICIES = ("reject", "repair")


def non_finite(pixels: np.ndarray) -> str | None:
    """What is wrong with the pixels, or None when every one is finite."""
    bad = count_non_finite(pixels)
    return f"{bad} of {pixels.size} pixels are NaN or infinite" if bad else None


def count_non_finite(pixels: np.ndarray) -> int:
    if not np.issubdtype(pixels.dtype, np.floating):
        return 0
    return int(np.count_nonzero(~np.isfinite(pixels)))


def problem_under(policy: str, pixels: np.ndarray) -> str | None:
    """The reason `pixels` are bad input under `policy`, or None."""
    bad = count_non_finite(pixels)
    if bad == 0 or (policy == "repair" and bad < pixels.size):
        return None
    return non_finite(pixels)


def repair(pixels: np.ndarray) -> np.ndarray:
    """A copy with every non-finite pixel set to the median of the finite ones."""
    finite = np.isfinite(pixels)
    if finite.all():
        return pixels
    out = pixels.copy()
    out[~finite] = np.median(pixels[finite])
    return out
