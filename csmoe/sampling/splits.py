"""Evaluation manifests: one official split of an archive, optionally capped.

Every labelled patch of the split (BigEarthNet-19 labels; snow and cloud patches are
outside the official splits already) is taken; with a cap, a stratified subset: each
patch's stratum is its rarest label in the split, strata get proportional shares
(largest remainders, at least one patch per stratum while the cap allows), and a seeded
random choice fills each share. Rare classes thus stay in capped evaluation sets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csmoe.errors import InputError
from csmoe.sampling.samplers import to_manifest

SPLITS = ("train", "validation", "test")


def rarest_label(labels: pd.Series) -> pd.Series:
    counts = pd.Series([name for names in labels for name in names]).value_counts()
    return labels.map(lambda names: min(names, key=lambda n: (counts[n], n)))


def allocate(sizes: pd.Series, cap: int) -> pd.Series:
    """Proportional shares of `cap` over strata, at least one each while possible."""
    exact = sizes / sizes.sum() * cap
    share = np.floor(exact).astype(int).clip(lower=min(1, cap // len(sizes)))
    share = np.minimum(share, sizes)
    left = cap - int(share.sum())
    order = (exact - np.floor(exact)).sort_values(ascending=False, kind="stable").index
    for stratum in order:
        if left <= 0:
            break
        if share[stratum] < sizes[stratum]:
            share[stratum] += 1
            left -= 1
    return share


def evaluation_manifest(table: pd.DataFrame, split: str, size: int | None, seed: int,
                        source: str = "index") -> pd.DataFrame:  # fmt: skip
    labelled = table["labels_19"].map(lambda names: names is not None and len(names) > 0)
    pool = table[(table["split"] == split).fillna(False) & labelled].reset_index(drop=True)
    if pool.empty:
        raise InputError(source, f"no labelled patch in the {split} split")
    pool = pool.sort_values("patch_id", kind="stable").reset_index(drop=True)
    stratum = rarest_label(pool["labels_19"])
    if size is None or size >= len(pool):
        return to_manifest(pool, np.arange(len(pool)), stratum, np.ones(len(pool)))
    sizes = stratum.value_counts().sort_index()
    shares = allocate(sizes, size)
    rng = np.random.default_rng(seed)
    rows = []
    for name, share in shares.items():
        members = np.flatnonzero(stratum.to_numpy() == name)
        rows.extend(sorted(rng.choice(members, size=int(share), replace=False)))
    rows = np.array(sorted(rows))
    weight = stratum.map(sizes / shares).to_numpy()[rows]
    return to_manifest(pool, rows, stratum.to_numpy()[rows], weight)
