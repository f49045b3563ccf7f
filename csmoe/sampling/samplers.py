"""The three samplers and the manifest they write.

- ``thematic_climatic``: strata = climate class (Köppen-Geiger main group or full class)
  x dominant land-cover class (CLC level 1, 2, 3 or BigEarthNet-19; or climate alone);
  budgets by power allocation (`allocation`); a spread-out choice inside each stratum
  (`spread`). Weight = N_h / n_h (inverse inclusion probability).
- ``random``: a uniform sample of the same size; weight N / n.
- ``full``: the whole pool; weight 1.

Every sampler is deterministic given its seed. The manifest is sorted by ``order``, the
selection order: any prefix of a thematic-climatic manifest is itself a stratified,
spread-out sample.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import shapely

from csmoe.descriptors.landcover import level_columns
from csmoe.errors import InputError
from csmoe.sampling.allocation import allocate
from csmoe.sampling.spread import spread_selection

SAMPLERS = ("thematic_climatic", "random", "full")
CLIMATE_LEVELS = {"group": "climate_group", "class": "climate"}
LANDCOVER_LEVELS = {
    "1": "landcover_l1", "2": "landcover_l2", "3": "landcover_l3", "19": "landcover_19",
    "none": None,
}  # fmt: skip
MANIFEST_COLUMNS = [
    "order", "patch_id", "stratum", "weight", "s1_name", "s2_name", "s1_dir", "s2_dir",
    "reference_map", "split", "labels_19", "multi_hot_19", "climate", "climate_group",
    "landcover_l3", "geometry",
]  # fmt: skip


def strata(table: pd.DataFrame, climate_level: str, landcover_level: str) -> pd.Series:
    """Stratum key per patch, e.g. ``C|231``; an error if a patch lacks a descriptor."""
    climate = table[CLIMATE_LEVELS[climate_level]].astype("string")
    column = LANDCOVER_LEVELS[landcover_level]
    if column is not None and column not in table:
        raise InputError(
            "sampling.thematic_climatic.landcover_level",
            f"level {landcover_level} needs land-cover descriptors; this archive has none",
        )
    keys = climate if column is None else climate + "|" + table[column].astype("string")
    missing = keys.isna()
    if missing.any():
        raise InputError(
            "descriptors",
            f"{int(missing.sum())} pool patches have no stratum (missing descriptor), "
            f"e.g. {table['patch_id'][missing].iloc[0]}",
        )
    return keys.astype(str)


def descriptor_matrix(table: pd.DataFrame) -> np.ndarray:
    """Climate fractions and CLC level-2 fractions (when present), as one float matrix."""
    columns = [c for c in table.columns if c.startswith("kg_")]
    columns += [c for c in level_columns("2") if c in table]
    return table[columns].to_numpy(dtype=np.float32)


def lonlat(table: pd.DataFrame) -> np.ndarray:
    return shapely.get_coordinates(shapely.centroid(table.geometry.to_numpy()))


def thematic_climatic(
    pool: pd.DataFrame,
    n: int,
    *,
    seed: int,
    climate_level: str = "group",
    landcover_level: str = "2",
    alpha: float = 0.5,
) -> pd.DataFrame:
    keys = strata(pool, climate_level, landcover_level)
    budget = allocate(keys.value_counts(), n, alpha)
    positions = lonlat(pool)
    features = descriptor_matrix(pool)
    parts = []
    codes, uniques = pd.factorize(keys, sort=True)
    members = np.split(np.argsort(codes, kind="stable"), np.cumsum(np.bincount(codes))[:-1])
    for stratum, rows in zip(uniques, members, strict=True):
        size = int(budget[stratum])
        if size == 0:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(stratum.encode())])
        picked = rows[spread_selection(positions[rows], features[rows], size, rng)]
        parts.append(
            pd.DataFrame(
                {
                    "row": picked,
                    "stratum": stratum,
                    "progress": (np.arange(size) + 0.5) / size,
                    "weight": len(rows) / size,
                }
            )
        )
    chosen = pd.concat(parts).sort_values(["progress", "stratum"], kind="stable")
    return to_manifest(pool, chosen["row"].to_numpy(), chosen["stratum"], chosen["weight"])


def random_sample(
    pool: pd.DataFrame, n: int, *, seed: int, climate_level: str, landcover_level: str
) -> pd.DataFrame:
    rows = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
    keys = strata(pool, climate_level, landcover_level).to_numpy()
    return to_manifest(pool, rows, keys[rows], np.full(n, len(pool) / n))


def full_pool(pool: pd.DataFrame, *, climate_level: str, landcover_level: str) -> pd.DataFrame:
    rows = np.argsort(pool["patch_id"].to_numpy(), kind="stable")
    keys = strata(pool, climate_level, landcover_level).to_numpy()
    return to_manifest(pool, rows, keys[rows], np.ones(len(pool)))


def to_manifest(pool: pd.DataFrame, rows: np.ndarray, stratum, weight) -> pd.DataFrame:
    if len(np.unique(rows)) != len(rows):  # a sampler's bug, never the user's input
        raise AssertionError("a manifest may not hold a pool row twice")
    manifest = pool.iloc[rows].reset_index(drop=True)
    manifest["stratum"] = np.asarray(stratum)
    manifest["weight"] = np.asarray(weight, dtype=np.float64)
    manifest["order"] = np.arange(len(rows), dtype=np.int64)
    return manifest[[c for c in MANIFEST_COLUMNS if c in manifest]]


def sample(
    sampler: str,
    pool: pd.DataFrame,
    n: int | None,
    *,
    seed: int,
    climate_level: str = "group",
    landcover_level: str = "2",
    alpha: float = 0.5,
) -> pd.DataFrame:
    """Run one sampler on the pool; `n` is ignored by ``full``."""
    levels = {"climate_level": climate_level, "landcover_level": landcover_level}
    if sampler == "full":
        return full_pool(pool, **levels)
    if n is None or n < 1:
        raise InputError("sampling.size", "must be a positive number of patches")
    if n > len(pool):
        raise InputError(
            "sampling.size", f"{n} patches requested, but the pool holds only {len(pool)}"
        )
    if sampler == "thematic_climatic":
        return thematic_climatic(pool, n, seed=seed, alpha=alpha, **levels)
    if sampler == "random":
        return random_sample(pool, n, seed=seed, **levels)
    raise InputError("sampler", f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
