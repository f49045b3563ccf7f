"""The candidate pool: described patches minus the exclusions of the config.

Everything outside the official train split is always excluded when the archive has
splits (nothing may leak into evaluation). Snow, cloud and label-less patches are
excluded when asked; a patch whose flag or labels are unknown (null) is kept.
"""

from __future__ import annotations

import pandas as pd

from csmoe.errors import InputError


def training_pool(
    table: pd.DataFrame,
    *,
    snow: bool = True,
    cloud: bool = True,
    no_labels: bool = True,
    source: str = "descriptors",
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The pool and the number of patches each rule removed (in this order)."""
    keep = pd.Series(True, index=table.index)
    removed: dict[str, int] = {}

    def drop(name: str, mask: pd.Series) -> None:
        mask = mask.fillna(False).astype(bool) & keep
        removed[name] = int(mask.sum())
        keep[mask] = False

    drop("outside_train_split", table["split"].ne("train") | table["split"].isna())
    if snow:
        drop("snow", table["snow"])
    if cloud:
        drop("cloud", table["cloud"])
    if no_labels and "labels_19" in table:
        drop("no_labels", table["labels_19"].map(lambda x: x is not None and len(x) == 0))
    pool = table[keep]
    if pool.empty:
        raise InputError(source, f"no patch is left after the exclusions {removed}")
    return pool, removed
