"""Index of a BigEarthNet v2.0 (reBEN) archive.

Layout::

    <root>/metadata.parquet          patch_id, s1_name, labels (19-class names), split,
                                     country, contains_seasonal_snow, contains_cloud_or_shadow
    <root>/metadata_for_patches_with_snow_cloud_or_shadow.parquet   (optional, same columns)
    <root>/BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_B01.tif ... _B12.tif, _B8A.tif
    <root>/BigEarthNet-S1/<s1 stem>/<s1_name>/<s1_name>_VV.tif, _VH.tif
    <root>/Reference_Maps/<tile>/<patch_id>/<patch_id>_reference_map.tif   (CLC codes)

with ``<tile>`` the patch id without its last two ``_`` parts and ``<s1 stem>`` the S1
name without its last three. Footprints come from the S2 rasters' georeferencing.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csmoe.bigearthnet import names, nomenclature, packaged
from csmoe.errors import InputError
from csmoe.footprints import meteorological_season
from csmoe.index.bigearthnet_v1 import S1_BANDS, S2_BANDS
from csmoe.index.patches import PatchProblem, Skipped, collect
from csmoe.index.rasters import check_band, check_same_grid
from csmoe.parquet import read_table

METADATA_FILES = ("metadata.parquet", "metadata_for_patches_with_snow_cloud_or_shadow.parquet")
REQUIRED_COLUMNS = ("patch_id", "s1_name", "labels", "split")
# Ids become folder names: only ids of the published form are read (v1 S2 hours may lack
# the leading zero, as in ``T93020``).
PATCH_ID = re.compile(r"^S2[AB]_MSIL2A_\d{8}T\d{5,6}_N\d{4}_R\d{3}_T\d{2}[A-Z]{3}_\d{2}_\d{2}$")
S1_NAME = re.compile(r"^S1[AB]_IW_GRDH_1SDV_\d{8}T\d{6}_\d{2}[A-Z]{3}_\d+_\d+$")
FLAGS = ("contains_seasonal_snow", "contains_cloud_or_shadow")
SPLIT_NAMES = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}


def patch_folders(root: Path, patch_id: str, s1_name: str) -> tuple[Path, Path, Path]:
    tile = patch_id.rsplit("_", 2)[0]
    s2_dir = root / "BigEarthNet-S2" / tile / patch_id
    s1_dir = root / "BigEarthNet-S1" / s1_name.rsplit("_", 3)[0] / s1_name
    reference_map = root / "Reference_Maps" / tile / patch_id / f"{patch_id}_reference_map.tif"
    return s1_dir, s2_dir, reference_map


def read_metadata(root: Path) -> pd.DataFrame:
    """The metadata table(s), checked for the columns and split values we rely on."""
    if not root.is_dir():
        raise InputError(root, "BigEarthNet v2 root folder does not exist")
    paths = [root / name for name in METADATA_FILES if (root / name).is_file()]
    if not paths:
        raise InputError(root / METADATA_FILES[0], "missing: not a BigEarthNet v2 root folder")
    tables = []
    for path in paths:
        table = read_table(path, "BigEarthNet v2 metadata file")
        missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(path, f"missing column(s) {missing}; has {list(table.columns)}")
        unknown = sorted(set(table["split"].astype(str)) - set(SPLIT_NAMES))
        if unknown:
            raise InputError(path, f"unknown split value(s) {unknown[:5]}")
        _check_values(path, table)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    duplicated = table["patch_id"].duplicated()
    if duplicated.any():
        raise InputError(paths[-1], f"patch {table['patch_id'][duplicated].iloc[0]!r} repeated")
    return table


def _check_values(path: Path, table: pd.DataFrame) -> None:
    """Ids of the published form (they become paths), label lists of names, flags that
    are booleans, countries that are text."""

    def refuse(column: str, bad: pd.Series, what: str) -> None:
        if bad.any():
            value = str(table[column][bad.to_numpy()].iloc[0])[:80]
            raise InputError(path, f"column {column!r}: {value!r} is not {what}")

    for column, pattern in (("patch_id", PATCH_ID), ("s1_name", S1_NAME)):
        named = table[column].map(functools.partial(_matches, pattern))
        refuse(column, ~named, "a BigEarthNet v2 name")
    refuse("labels", ~table["labels"].map(_names), "a list of class names")
    for column in FLAGS:
        if column in table:
            refuse(column, ~table[column].map(lambda v: v is None or v is pd.NA or isinstance(
                v, bool | np.bool_)), "true or false")  # fmt: skip
    for column in ("country", "s2v1_name"):
        if column in table:
            refuse(column, ~table[column].map(lambda v: v is None or isinstance(v, str)), "text")


def _matches(pattern: re.Pattern, value) -> bool:
    return isinstance(value, str) and bool(pattern.match(value))


def _names(value) -> bool:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def read_pair(
    row: tuple[str, str, list[str]], root: Path, check: str, non_finite: str = "reject"
) -> dict[str, Any]:
    patch_id, s1_name, labels_19 = row
    s1_dir, s2_dir, reference_map = patch_folders(root, patch_id, s1_name)
    for folder in (s2_dir, s1_dir):
        if not folder.is_dir():
            raise PatchProblem(folder, "patch folder is missing")
    unknown = [x for x in labels_19 if not nomenclature.is_ben19(x)]
    if unknown:
        raise PatchProblem(root / METADATA_FILES[0], f"{patch_id}: unknown label {unknown[0]!r}")
    reference, first, repaired = None, None, 0
    for band, pixels in S2_BANDS.items():
        path = s2_dir / f"{patch_id}_{band}.tif"
        info = check_band(path, shape=(pixels, pixels), dtype="uint16", check=check)
        first = first or (path, info)
        check_same_grid(path, info, *first)
    for band in S1_BANDS:
        path = s1_dir / f"{s1_name}_{band}.tif"
        info = check_band(path, shape=(120, 120), dtype=None, check=check, non_finite=non_finite)
        check_same_grid(path, info, *first)
        repaired += info.non_finite
    if reference_map.parent.parent.parent.is_dir():  # the archive ships reference maps
        info = check_band(reference_map, shape=(120, 120), dtype=None, check=check)
        check_same_grid(reference_map, info, *first)
        reference = str(reference_map)
    s2_info = first[1]
    if s2_info.epsg is None:
        raise PatchProblem(first[0], "raster CRS has no EPSG code (a UTM zone is expected)")
    left, bottom, right, top = s2_info.bounds
    return {
        "patch_id": patch_id,
        "s1_name": s1_name,
        "s2_name": patch_id,
        "s1_dir": str(s1_dir),
        "s2_dir": str(s2_dir),
        "reference_map": reference,
        "tile": patch_id.rsplit("_", 3)[1].removeprefix("T"),
        "utm_epsg": s2_info.epsg,
        "utm_ulx": left,
        "utm_uly": top,
        "utm_lrx": right,
        "utm_lry": bottom,
        "labels_19": sorted(labels_19),
        "multi_hot_19": nomenclature.ben19_multi_hot(labels_19),
        "non_finite_pixels": repaired if check == "full" else None,
    }


def _flag(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table:
        return pd.Series(pd.NA, index=table.index, dtype="boolean")
    return table[column].astype("boolean")


def _season(table: pd.DataFrame) -> pd.Series:
    """Season from the metadata, else from the v1 name table, else from the month."""
    if "season" in table:
        return table["season"].astype("string")
    season = pd.Series(pd.NA, index=table.index, dtype="string")
    if "s2v1_name" in table:
        season = packaged.annotate(table["s2v1_name"].astype(str))["season"]
    months = pd.DatetimeIndex(names.acquisition_times(table["patch_id"])).month
    by_month = meteorological_season(months.to_numpy())
    return season.fillna(pd.Series(by_month, index=table.index, dtype="string"))


def index_bigearthnet_v2(
    root: Path,
    *,
    check: str = "full",
    non_finite: str = "reject",
    skip_bad: bool = False,
    workers: int = 1,
) -> tuple[pd.DataFrame, list[Skipped]]:
    root = Path(root)
    table = read_metadata(root)
    for folder in ("BigEarthNet-S2", "BigEarthNet-S1"):
        if not (root / folder).is_dir():
            raise InputError(root / folder, "missing: not a BigEarthNet v2 root folder")
    rows = [
        (str(p), str(s), [str(x) for x in labels])
        for p, s, labels in zip(table["patch_id"], table["s1_name"], table["labels"], strict=True)
    ]
    reader = functools.partial(read_pair, root=root, check=check, non_finite=non_finite)
    records, skipped = collect(
        reader, rows, [r[0] for r in rows], skip_bad=skip_bad, workers=workers
    )
    if not records:  # every patch was skipped: the caller lists them and stops
        return pd.DataFrame(), skipped
    frame = pd.DataFrame.from_records(records)
    meta = table.set_index("patch_id").loc[frame["patch_id"]].reset_index()
    frame["s1_time"] = names.acquisition_times(frame["s1_name"])
    frame["s2_time"] = names.acquisition_times(frame["s2_name"])
    frame["season"] = _season(meta).to_numpy()
    frame["country"] = meta["country"].astype("string").to_numpy() if "country" in meta else None
    frame["split"] = meta["split"].astype(str).map(SPLIT_NAMES).to_numpy()
    frame["snow"] = _flag(meta, "contains_seasonal_snow").to_numpy()
    frame["cloud"] = _flag(meta, "contains_cloud_or_shadow").to_numpy()
    return frame, skipped
