"""The archive index table: one row per S1/S2 pair, written as GeoParquet.

Columns (every index has all of them; unknown values are null):

- ``patch_id``: the pair's id (the S2 patch name for BigEarthNet, ``<location>_<season>``
  for SSL4EO-S12); ``s1_name``, ``s2_name``: the two acquisitions.
- ``s1_dir``, ``s2_dir``, ``reference_map``: absolute paths of the pixels (null for a
  names index).
- ``tile``: MGRS tile or 100 km square.
- ``utm_epsg``, ``utm_ulx``, ``utm_uly``, ``utm_lrx``, ``utm_lry``: the patch square in its
  UTM zone (metres); ``geometry``: the footprint as a polygon in EPSG:4326: the UTM
  square's four corners transformed exactly (edges stay straight in degrees, an error
  far below a pixel for patches of a few kilometres), or, for archives stored in
  degrees (SSL4EO-S12), the raster bounds themselves.
- ``s1_time``, ``s2_time``: acquisition times (UTC); ``season``; ``country``;
  ``split`` (train / validation / test); ``snow``, ``cloud``: quality flags;
  ``cloud_share``: share of cloudy pixels (thin and thick cloud, cloud shadow) among the
  pixels with data, and ``nodata_share``: share of pixels without data, where the
  archive has a cloud mask (SSL4EO-S12 v1.1; its ``cloud`` flag is derived from
  ``cloud_share``);
  ``non_finite_pixels``: NaN or infinite pixels of the pair (0 unless indexed with the
  ``repair`` policy, null where pixels were not decoded).
- ``labels``: CORINE level-3 names; ``labels_19``: BigEarthNet-19 names;
  ``multi_hot_19``: uint8 vector in `csmoe.bigearthnet.nomenclature.BEN19_CLASSES` order.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from csmoe.atomic import atomic_path
from csmoe.errors import InputError
from csmoe.footprints import utm_corners
from csmoe.index.patches import Skipped

COLUMNS: dict[str, str] = {
    "patch_id": "string",
    "s1_name": "string",
    "s2_name": "string",
    "s1_dir": "string",
    "s2_dir": "string",
    "reference_map": "string",
    "tile": "string",
    "utm_epsg": "int32",
    "utm_ulx": "float64",
    "utm_uly": "float64",
    "utm_lrx": "float64",
    "utm_lry": "float64",
    "s1_time": "datetime64[s]",
    "s2_time": "datetime64[s]",
    "season": "string",
    "country": "string",
    "split": "string",
    "snow": "boolean",
    "cloud": "boolean",
    "cloud_share": "float64",
    "nodata_share": "float64",
    "non_finite_pixels": "Int64",
    "labels": "object",
    "labels_19": "object",
    "multi_hot_19": "object",
}
SPLITS = ("train", "validation", "test")


def footprints(frame: pd.DataFrame) -> np.ndarray:
    """EPSG:4326 polygons of the UTM squares in `frame`."""
    return shapely.polygons(utm_corners(frame, 4326))


def finalize(frame: pd.DataFrame, source: str | os.PathLike[str] = "index") -> gpd.GeoDataFrame:
    """Give `frame` every index column in order, sorted by patch id, with footprints: the
    readers' own ``geometry`` where they give one (raster bounds in degrees), else the
    UTM squares."""
    frame = frame.copy()
    if "geometry" not in frame:
        frame["geometry"] = footprints(frame)
    for column, dtype in COLUMNS.items():
        if column not in frame:
            frame[column] = None
        if dtype != "object":
            frame[column] = frame[column].astype(dtype)
    columns = [*COLUMNS, "geometry"]
    frame = frame[columns].sort_values("patch_id", kind="stable").reset_index(drop=True)
    duplicated = frame["patch_id"].duplicated()
    if duplicated.any():
        raise InputError(source, f"patch id {frame['patch_id'][duplicated].iloc[0]!r} is listed "
                         "twice in the archive")  # fmt: skip
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def write_index(index: gpd.GeoDataFrame, out: str | os.PathLike[str]) -> None:
    """Write the index as GeoParquet, atomically."""
    with atomic_path(out) as tmp:
        index.to_parquet(tmp, index=False, compression="zstd", write_covering_bbox=True)


def skipped_path(out: str | os.PathLike[str]) -> Path:
    """Where `--skip-bad` lists the skipped patches: beside the index."""
    out = Path(out)
    return out.with_name(out.name.removesuffix(".parquet") + ".skipped.tsv")


def write_skipped(skipped: list[Skipped], out: str | os.PathLike[str]) -> None:
    """Write (patch_id, item, file, reason) rows as a TSV next to the index, atomically.

    ``patch_id`` is the id the pair would have had in the index (empty where the bad file
    is the one that names it); ``item`` is what was read: the v1 S1 folder, the v2 patch,
    the SSL4EO-S12 location.
    """
    table = pd.DataFrame(sorted(skipped), columns=["patch_id", "item", "file", "reason"])
    with atomic_path(skipped_path(out)) as tmp:
        table.to_csv(tmp, sep="\t", index=False)


def skipped_summary(skipped: list[Skipped], out: str | os.PathLike[str]) -> str:
    """How many items were skipped, where they are listed, and the most common reason
    (reasons that differ only in numbers or in quoting their own file's path count as one;
    the first of them is shown)."""

    def kind(item: Skipped) -> str:
        # A reader's message may quote the file's own path: it tells nothing of the kind.
        reason = str(item[3]).replace(str(item[2]), "FILE")
        return re.sub(r"\d+(\.\d+)?", "#", f"{Path(item[2]).name}: {reason}")

    counts = Counter(kind(item) for item in skipped)
    common, count = counts.most_common(1)[0]
    example = next(item for item in skipped if kind(item) == common)
    reason = f"{Path(example[2]).name}: {example[3]}"
    return (f"{len(skipped)} item(s) skipped, listed in {skipped_path(out)}; most common "
            f"reason ({count} of {len(skipped)}): {reason}")  # fmt: skip


def skipped_line(out: str | os.PathLike[str]) -> str | None:
    """`skipped_summary` of the skipped list beside the index `out`, if it lists any."""
    path = skipped_path(out)
    if not path.is_file():
        return None
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if table.empty:
        return None
    return skipped_summary(list(table.itertuples(index=False, name=None)), out)


def read_index(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    return gpd.read_parquet(path)
