"""Evaluation manifests: one official split of an archive, optionally capped.

A split holds every patch the archive assigns to it that has BigEarthNet-19 labels and
no snow or cloud flag. The flags matter for BigEarthNet v2.0 (reBEN): its second
metadata file, ``metadata_for_patches_with_snow_cloud_or_shadow.parquet``, gives its
69,450 flagged patches split values too, but the published splits leave them out (the
release's ``metadata.parquet`` holds train 237,871, validation 122,342, test 119,825
patches; kai-tub/bigearthnet-pipeline, ``nu-scripts/ben-metadata-finalizer.sql``, and
ConfigILM's ``BENv2_DataSet`` with its default ``include_snowy=False,
include_cloudy=False``). In BigEarthNet v1 flagged patches have no split at all.

With a cap, a stratified subset: each patch's stratum is its rarest label in the split,
strata get proportional shares (largest remainders, at least one patch per stratum while
the cap allows), and a seeded random choice fills each share. Rare classes thus stay in
capped evaluation sets.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from csmoe.atomic import atomic_path
from csmoe.errors import InputError
from csmoe.parquet import read_table
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


def _flagged(table: pd.DataFrame) -> pd.Series:
    """Patches flagged with seasonal snow or cloud/shadow (unknown flags: not flagged)."""
    flagged = pd.Series(False, index=table.index)
    for column in ("snow", "cloud"):
        if column in table:
            flagged |= table[column].astype("boolean").fillna(False).astype(bool)
    return flagged


def split_members(table: pd.DataFrame) -> pd.DataFrame:
    """The official evaluation splits: labelled, unflagged patches of each split."""
    labelled = table["labels_19"].map(lambda names: names is not None and len(names) > 0)
    return table[table["split"].isin(SPLITS).fillna(False) & labelled & ~_flagged(table)]


def split_counts(table: pd.DataFrame) -> dict[str, int]:
    """Patches per official split (see `split_members`), in SPLITS order."""
    members = split_members(table)["split"].value_counts()
    return {split: int(members.get(split, 0)) for split in SPLITS}


def evaluation_manifest(table: pd.DataFrame, split: str, size: int | None, seed: int,
                        source: str = "index") -> pd.DataFrame:  # fmt: skip
    members = split_members(table)
    pool = members[members["split"] == split].reset_index(drop=True)
    if pool.empty:
        raise InputError(source, f"no labelled patch without snow or cloud in the {split} split")
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


def split_counts_line(index_path: str | os.PathLike[str]) -> str | None:
    """The official evaluation splits of an index as one line (None without splits)."""
    columns = ["split", "labels_19", "snow", "cloud"]
    counts = split_counts(read_table(index_path, "GeoParquet index", columns=columns))
    if not any(counts.values()):
        return None
    shown = ", ".join(f"{split} {n}" for split, n in counts.items())
    return f"evaluation splits (labelled, no snow or cloud): {shown}"


def write_evaluation_manifest(index_path: str | os.PathLike[str], split: str,
                              size: int | None, seed: int,
                              out: str | os.PathLike[str]) -> pd.DataFrame:  # fmt: skip
    """`evaluation_manifest` of an index file, written atomically to `out` (Parquet)."""
    table = read_table(index_path, "GeoParquet index", geo=True)
    manifest = evaluation_manifest(table, split, size, seed, str(index_path))
    with atomic_path(out) as tmp:
        manifest.to_parquet(tmp, index=False, compression="zstd")
    return manifest
