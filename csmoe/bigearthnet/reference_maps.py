"""Where the 10 m reference maps of BigEarthNet v1 patches are: in the BigEarthNet v2 layout.

Reference maps were published with BigEarthNet v2 (reBEN) only, under v2 patch ids::

    Reference_Maps/<tile>/<v2 id>/<v2 id>_reference_map.tif     (uint16 CLC codes, 120 px)

where ``<tile>`` is the id without its last two fields (``..._N9999_R022_T33UUP``). The v2
``metadata.parquet`` maps each v2 id to the v1 S2 name it came from (``s2v1_name``).
BigEarthNet v2 holds 549,488 of the 590,326 v1 pairs: the others have no map.

A v2 id is made from the v1 name and the L1C product the v1 patch was cut from (its JSON
``tile_source``): mission and sensing time from the v1 name, relative orbit and tile from
the product, processing baseline ``N9999``, and the patch column and row padded to two
digits (``S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_57``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from csmoe.errors import InputError
from csmoe.parquet import read_table

METADATA = "metadata.parquet"
# Beside it, the release lists its 69,450 snow/cloud patches in a second file of the
# same columns (kai-tub/bigearthnet-pipeline, nu-scripts/ben-metadata-finalizer.sql).
FLAGGED_METADATA = "metadata_for_patches_with_snow_cloud_or_shadow.parquet"
_TILE_SOURCE = re.compile(r"_(?P<orbit>R\d{3})_(?P<tile>T\d{2}[A-Z]{3})_")


def v2_patch_id(s2_v1_name: str, tile_source: str) -> str:
    """The BigEarthNet v2 id of a v1 S2 patch cut from L1C product `tile_source`."""
    mission, _, stamp, col, row = s2_v1_name.split("_")
    found = _TILE_SOURCE.search(tile_source)
    if found is None:
        raise ValueError(f"tile_source {tile_source!r} names no relative orbit and tile")
    return (
        f"{mission}_MSIL2A_{stamp}_N9999_{found['orbit']}_{found['tile']}"
        f"_{int(col):02d}_{int(row):02d}"
    )


def map_path(root: str | os.PathLike[str], v2_id: str) -> Path:
    """A v2 patch's reference map under the `Reference_Maps` folder `root`."""
    return Path(root) / v2_id.rsplit("_", 2)[0] / v2_id / f"{v2_id}_reference_map.tif"


def v1_to_v2_ids(metadata: str | os.PathLike[str]) -> dict[str, str]:
    """v1 S2 name -> v2 patch id, from a BigEarthNet v2 ``metadata.parquet`` (and the
    snow/cloud metadata file beside it, when present)."""
    metadata = Path(metadata)
    if not metadata.is_file():
        raise InputError(
            metadata,
            "BigEarthNet v2 metadata.parquet not found: it maps v1 S2 names to the v2 ids "
            "under which reference maps are stored (give it with --reference-metadata)",
        )
    flagged = metadata.with_name(FLAGGED_METADATA)
    paths = [metadata] + ([flagged] if flagged.is_file() and flagged != metadata else [])
    table = pd.concat([_names(path) for path in paths], ignore_index=True)
    twice = table["s2v1_name"].duplicated()
    if twice.any():
        raise InputError(metadata, f"s2v1_name {table['s2v1_name'][twice].iloc[0]} repeated")
    return dict(zip(table["s2v1_name"].astype(str), table["patch_id"].astype(str), strict=True))


def _names(path: Path) -> pd.DataFrame:
    table = read_table(path, "BigEarthNet v2 metadata file with patch_id, s2v1_name",
                       columns=["patch_id", "s2v1_name"])  # fmt: skip
    for column in table.columns:
        if not table[column].map(lambda v: isinstance(v, str)).all():
            raise InputError(path, f"column {column!r} holds a value that is not text")
    return table
