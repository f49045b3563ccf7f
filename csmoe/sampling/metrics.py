"""How representative and diverse a selection is, against its pool.

- ``strata_covered``: pool strata with at least one selected patch (of ``strata_total``).
- ``js_climate``, ``js_landcover``: Jensen-Shannon divergence (base 2, 0 = identical)
  between the selection's and the pool's climate-class and land-cover-class shares
  (majority classes): low means representative.
- ``entropy_strata``, ``entropy_climate``, ``entropy_landcover``: Shannon entropy in bits
  of the selection's class shares: high means balanced.
- ``mean_nn_distance``: mean Euclidean distance from a selected patch to its nearest
  other selected patch in descriptor space (climate fractions + CLC level-2 fractions),
  over up to 5,000 seeded query patches: high means diverse.
- ``cells_1deg``: distinct 1 x 1 degree cells holding a selected patch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from csmoe.sampling.samplers import descriptor_matrix, lonlat

NN_QUERIES = 5000
NN_CHUNK = 256


def shares(values: pd.Series, categories: pd.Index) -> np.ndarray:
    counts = values.astype("string").value_counts().reindex(categories, fill_value=0)
    return counts.to_numpy(dtype=np.float64) / max(counts.sum(), 1)


def entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def js(p: np.ndarray, q: np.ndarray) -> float:
    return float(jensenshannon(p, q, base=2) ** 2)


def mean_nn_distance(features: np.ndarray, seed: int = 0) -> float:
    """Mean distance to the nearest other row, over a seeded subset of query rows."""
    n = len(features)
    if n < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    queries = rng.choice(n, size=min(n, NN_QUERIES), replace=False)
    features = features.astype(np.float64)
    norms = (features**2).sum(axis=1)
    best = []
    for chunk in np.array_split(queries, -(-len(queries) // NN_CHUNK)):
        d2 = norms[chunk, None] + norms[None, :] - 2.0 * features[chunk] @ features.T
        d2[np.arange(len(chunk)), chunk] = np.inf  # not its own neighbour
        best.append(np.sqrt(np.maximum(d2.min(axis=1), 0.0)))
    return float(np.concatenate(best).mean())


def landcover_column(table: pd.DataFrame) -> str | None:
    for column in ("landcover_l3", "landcover_19", "landcover_l2"):
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
    metrics["mean_nn_distance"] = mean_nn_distance(descriptor_matrix(selected), seed)
    cells = np.floor(lonlat(selected)).astype(np.int64)
    metrics["cells_1deg"] = int(len(np.unique(cells, axis=0)))
    return metrics
