"""How representative and diverse a selection is, against its pool.

- ``strata_covered``: pool strata with at least one selected patch (of ``strata_total``).
- ``js_climate``, ``js_landcover``: Jensen-Shannon divergence (base 2, 0 = identical)
  between the selection's and the pool's climate-class and land-cover-class shares
  (majority classes): low means representative.
- ``entropy_strata``, ``entropy_climate``, ``entropy_landcover``: Shannon entropy in bits
  of the selection's class shares: high means balanced.
- ``mean_nn_hellinger``: mean distance from a selected patch to its nearest other
  selected patch in descriptor space, as the Hellinger distance of the descriptor
  compositions (climate fractions, and CLC level-2 fractions where present, each block
  weighted equally): 0 = the same composition, 1 = no class in common. High means
  thematically diverse. It is 0 wherever every patch has a twin, which is the rule for
  single-class climate-only descriptors: use ``mean_nn_km`` there.
- ``mean_nn_km``: the same for patch centres on the sphere (great-circle kilometres):
  high means geographically spread.
  Both query up to 5,000 seeded patches against all selected ones (tree search).
- ``cells_1deg``: distinct 1 x 1 degree cells holding a selected patch.
- ``distinct_footprints``: distinct footprints among the selected patches (fewer than
  ``size`` where an archive lists a location once per acquisition, as SSL4EO-S12 does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from csmoe.descriptors.landcover import level_columns
from csmoe.sampling.samplers import lonlat

NN_QUERIES = 5000
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def shares(values: pd.Series, categories: pd.Index) -> np.ndarray:
    counts = values.astype("string").value_counts().reindex(categories, fill_value=0)
    return counts.to_numpy(dtype=np.float64) / max(counts.sum(), 1)


def entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def js(p: np.ndarray, q: np.ndarray) -> float:
    return float(jensenshannon(p, q, base=2) ** 2)


def nn_distances(points: np.ndarray, metric: str, seed: int) -> np.ndarray:
    """Distance from each of up to NN_QUERIES seeded rows to its nearest other row."""
    from sklearn.neighbors import NearestNeighbors

    if len(points) < 2:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    queries = np.sort(rng.choice(len(points), size=min(len(points), NN_QUERIES), replace=False))
    # The tree holds distinct rows only (descriptors repeat a lot): a row with a twin is
    # at distance 0, any other one's nearest other row is its second neighbour.
    # (Row bytes hashed: np.unique(axis=0) sorts and is ~30x slower.)
    inverse, _ = pd.factorize(np.array([row.tobytes() for row in points], dtype=object))
    counts = np.bincount(inverse)
    distinct = points[np.unique(inverse, return_index=True)[1]]
    rows = inverse[queries]
    if len(distinct) < 2:
        return np.zeros(len(queries))
    tree = NearestNeighbors(n_neighbors=2, metric=metric).fit(distinct)
    distances, _ = tree.kneighbors(distinct[rows])
    return np.where(counts[rows] > 1, 0.0, distances[:, 1])


def hellinger_features(table: pd.DataFrame) -> np.ndarray:
    """Rows whose Euclidean distances are the Hellinger distances of the compositions."""
    blocks = [[c for c in table.columns if c.startswith("kg_")]]
    blocks.append([c for c in level_columns("2") if c in table])
    blocks = [block for block in blocks if block]
    parts = []
    for block in blocks:
        fractions = table[block].to_numpy(dtype=np.float64)
        fractions = fractions / np.maximum(fractions.sum(axis=1, keepdims=True), 1e-12)
        parts.append(np.sqrt(fractions / (2 * len(blocks))))
    return np.hstack(parts)


def mean_nn_hellinger(table: pd.DataFrame, seed: int = 0) -> float:
    distances = nn_distances(hellinger_features(table), "euclidean", seed)
    return float(distances.mean()) if len(distances) else 0.0


def mean_nn_km(table: pd.DataFrame, seed: int = 0) -> float:
    radians = np.radians(lonlat(table)[:, ::-1])  # (latitude, longitude)
    distances = nn_distances(radians, "haversine", seed)
    return float(distances.mean()) * EARTH_RADIUS_KM if len(distances) else 0.0


def landcover_column(table: pd.DataFrame) -> str | None:
    for column in ("landcover_l3", "landcover_19", "landcover_l2", "landcover_wc"):
        if column in table and table[column].notna().any():
            return column
    return None


def selected_rows(pool: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """The pool's rows of a manifest's patches, in manifest order."""
    return pool.set_index("patch_id").loc[manifest["patch_id"]].reset_index()


def selection_metrics(pool: pd.DataFrame, pool_strata: pd.Series, manifest: pd.DataFrame,
                      seed: int = 0) -> dict[str, float | int]:  # fmt: skip
    selected = selected_rows(pool, manifest)
    strata = pd.Index(sorted(pool_strata.unique()))
    climate = pd.Index(sorted(pool["climate"].dropna().astype(str).unique()))
    metrics: dict[str, float | int] = {
        "size": len(manifest),
        "strata_total": len(strata),
        "strata_covered": int(manifest["stratum"].nunique()),
        "js_climate": js(shares(selected["climate"], climate), shares(pool["climate"], climate)),
        "entropy_strata": entropy_bits(shares(manifest["stratum"], strata)),
        "entropy_climate": entropy_bits(shares(selected["climate"], climate)),
    }
    column = landcover_column(pool)
    if column is not None:
        classes = pd.Index(sorted(pool[column].dropna().astype(str).unique()))
        metrics["js_landcover"] = js(
            shares(selected[column], classes), shares(pool[column], classes)
        )
        metrics["entropy_landcover"] = entropy_bits(shares(selected[column], classes))
    metrics["mean_nn_hellinger"] = mean_nn_hellinger(selected, seed)
    metrics["mean_nn_km"] = mean_nn_km(selected, seed)
    cells = np.floor(lonlat(selected)).astype(np.int64)
    metrics["cells_1deg"] = int(len(np.unique(cells, axis=0)))
    metrics["distinct_footprints"] = int(pd.Series(selected.geometry.to_wkb()).nunique())
    return metrics
