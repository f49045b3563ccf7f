"""Index of all 590,326 BigEarthNet v1 pairs from packaged metadata alone (no pixels).

Footprints come from the S1 names (see `csmoe.bigearthnet.names`), times from the names,
country and season from the packaged name table, split and flags from the packaged lists.
Labels are not packaged: those columns stay null.
"""

from __future__ import annotations

import pandas as pd

from csmoe.bigearthnet import names, packaged
from csmoe.index.patches import Skipped


def index_bigearthnet_names() -> tuple[pd.DataFrame, list[Skipped]]:
    meta = packaged.load()
    pairs = meta.names
    frame = names.utm_bounds_from_s1_names(pairs["s1_name"])
    frame.insert(0, "patch_id", pairs["s2_name"].to_numpy())
    frame["s1_name"] = pairs["s1_name"].to_numpy()
    frame["s2_name"] = pairs["s2_name"].to_numpy()
    frame["s1_time"] = names.acquisition_times(pairs["s1_name"])
    frame["s2_time"] = names.acquisition_times(pairs["s2_name"])
    flags = packaged.annotate(pairs["s2_name"]).reset_index(drop=True)
    return pd.concat([frame, flags], axis=1), []
