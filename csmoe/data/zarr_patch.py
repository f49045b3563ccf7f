"""Read one S1/S2 pair of SSL4EO-S12 v1.1 from its zarr zip files onto the shard grid.

v1.1 stores every band at 10 m on 264 x 264 px (2,640 m). Shards hold 120 x 120 px at
10 m (1,200 m, a BigEarthNet patch), so the pair is the centre 120 px crop: the same
ground resolution and patch size as BigEarthNet, no resampling. The pair is found by its
``patch_id`` (the release's ``sample_id``, ``<location>_<timestamp>``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from csmoe.data.patch import SIDE, PairArrays
from csmoe.errors import InputError
from csmoe.finite import problem_under, repair
from csmoe.zarr_zip import open_zarr_zip

FULL_SIDE = 264
_CROP = slice((FULL_SIDE - SIDE) // 2, (FULL_SIDE - SIDE) // 2 + SIDE)


# Rows of a shard come from a few files, in any order: keep the last ones open.
_dataset = functools.lru_cache(maxsize=4)(open_zarr_zip)


def _bands(path: str, patch_id: str, names: tuple[str, ...], non_finite: str) -> np.ndarray:
    """(bands, 120, 120) float32: the centre crop of `patch_id`'s bands `names`."""
    dataset = _dataset(path)
    location, _, timestamp = patch_id.rpartition("_")
    try:
        selected = (
            dataset["bands"]
            .sel(sample=location, band=list(names))
            .isel(time=int(timestamp), y=_CROP, x=_CROP)
        )
        values = selected.values.astype(np.float32)
    except (KeyError, ValueError, IndexError) as error:
        raise InputError(path, f"no sample {patch_id} with bands {list(names)} ({error})") from None
    for band, pixels in zip(names, values, strict=True):
        problem = problem_under(non_finite, pixels)
        if problem:
            raise InputError(path, f"{patch_id} {band}: {problem}")
    return np.stack([repair(v) for v in values]) if non_finite == "repair" else values


def read_zarr_pair(
    s2_path: str, s1_path: str, patch_id: str, s2_bands: tuple[str, ...],
    s1_bands: tuple[str, ...] = ("VV", "VH"), non_finite: str = "reject",
) -> PairArrays:  # fmt: skip
    """The pair's S2 bands (requested order) and S1 bands (``vv``, ``vh`` in the files)."""
    s2 = _bands(str(Path(s2_path)), patch_id, s2_bands, non_finite)
    s1 = _bands(str(Path(s1_path)), patch_id, tuple(b.lower() for b in s1_bands), non_finite)
    return PairArrays(s2, s1, None)
