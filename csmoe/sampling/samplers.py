"""The three samplers and the manifest they write.

- ``thematic_climatic``: strata = climate class (Köppen-Geiger main group or full class)
  x dominant land-cover class (CLC level 1, 2, 3 or BigEarthNet-19, ESA WorldCover's 11
  classes; or climate alone); a patch without a land-cover descriptor (outside the
  product's coverage) follows the `NO_LANDCOVER` policy;
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
from csmoe.descriptors.worldcover import COLUMNS as WORLDCOVER_COLUMNS
from csmoe.errors import InputError
from csmoe.sampling.allocation import allocate
from csmoe.sampling.spread import spread_selection

SAMPLERS = ("thematic_climatic", "random", "full")
CLIMATE_LEVELS = {"group": "climate_group", "class": "climate"}
LANDCOVER_LEVELS = {  # the levels a config names
    "1": "landcover_l1", "2": "landcover_l2", "3": "landcover_l3", "19": "landcover_19",
    "none": None,
}  # fmt: skip
# ... and the one an archive described with ESA WorldCover gets (`run.effective_landcover_level`)
LEVEL_COLUMNS = LANDCOVER_LEVELS | {"worldcover": "landcover_wc"}
# Pool patches without a land-cover descriptor: a stratum of their climate alone
# (``<climate>|none``), left out of the pool (`csmoe.sampling.run`), or an error.
NO_LANDCOVER = ("climate_only", "exclude", "error")
UNCOVERED = "none"
MANIFEST_COLUMNS = [
    "order", "patch_id", "stratum", "weight", "s1_name", "s2_name", "s1_dir", "s2_dir",
    "reference_map", "split", "labels_19", "multi_hot_19", "climate", "climate_group",
    "landcover_l3", "landcover_wc", "landcover_valid", "geometry",
]  # fmt: skip


def uncovered(table: pd.DataFrame, landcover_level: str) -> pd.Series:
    """Patches without a land-cover descriptor at `landcover_level` (all False for none)."""
    column = LEVEL_COLUMNS[landcover_level]
    if column is None or column not in table:
        return pd.Series(False, index=table.index)
    return table[column].isna()


def strata(
    table: pd.DataFrame, climate_level: str, landcover_level: str,
    no_landcover: str = "climate_only",
) -> pd.Series:  # fmt: skip
    """Stratum key per patch, e.g. ``C|231`` (``C|none`` without land cover, policy
    climate_only); an error if a patch lacks a climate descriptor."""
    climate = table[CLIMATE_LEVELS[climate_level]].astype("string")
    column = LEVEL_COLUMNS[landcover_level]
    if column is not None and column not in table:
        raise InputError(
            "sampling.landcover_level",
            f"level {landcover_level} needs land-cover descriptors; this archive has none",
        )
    keys = climate
    if column is not None:
        lacking = uncovered(table, landcover_level)
        if lacking.any() and no_landcover != "climate_only":
            raise InputError(
                "descriptors",
                f"{int(lacking.sum())} pool patches have no land-cover descriptor (less than "
                "descriptors.landcover_min_valid of their pixels inside the product's "
                f"coverage), e.g. {table['patch_id'][lacking].iloc[0]}; sampling.no_landcover "
                "climate_only or exclude samples them by climate or leaves them out",
            )
        landcover = table[column].astype("string").fillna(UNCOVERED)
        keys = climate + "|" + landcover
    missing = keys.isna()
    if missing.any():
        raise InputError(
            "descriptors",
            f"{int(missing.sum())} pool patches have no climate descriptor, "
            f"e.g. {table['patch_id'][missing].iloc[0]}",
        )
    return keys.astype(str)


def descriptor_matrix(table: pd.DataFrame) -> np.ndarray:
    """Climate fractions and land-cover fractions (CLC level 2 or WorldCover, when
    present), as one float matrix."""
    columns = [c for c in table.columns if c.startswith("kg_")]
    columns += [c for c in level_columns("2") + list(WORLDCOVER_COLUMNS) if c in table]
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
    no_landcover: str = "climate_only",
    alpha: float = 0.5,
) -> pd.DataFrame:
    keys = strata(pool, climate_level, landcover_level, no_landcover)
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
    pool: pd.DataFrame, n: int, *, seed: int, climate_level: str, landcover_level: str,
    no_landcover: str = "climate_only",
) -> pd.DataFrame:  # fmt: skip
    rows = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
    keys = strata(pool, climate_level, landcover_level, no_landcover).to_numpy()
    return to_manifest(pool, rows, keys[rows], np.full(n, len(pool) / n))


def full_pool(
    pool: pd.DataFrame, *, climate_level: str, landcover_level: str,
    no_landcover: str = "climate_only",
) -> pd.DataFrame:  # fmt: skip
    rows = np.argsort(pool["patch_id"].to_numpy(), kind="stable")
    keys = strata(pool, climate_level, landcover_level, no_landcover).to_numpy()
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
    no_landcover: str = "climate_only",
    alpha: float = 0.5,
) -> pd.DataFrame:
    """Run one sampler on the pool; `n` is ignored by ``full``."""
    levels = {"climate_level": climate_level, "landcover_level": landcover_level,
              "no_landcover": no_landcover}  # fmt: skip
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
