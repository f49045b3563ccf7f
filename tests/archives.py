"""Writers of small archives in the published on-disk layouts, used as test fixtures.

- BigEarthNet v2 (reBEN): built from the six real v1 example pairs, renamed and moved into
  the v2 layout, with a metadata.parquet and CORINE-coded reference maps.
- SSL4EO-S12: generated rasters (UTM, 10/20/60 m bands) for a few locations and seasons.
"""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import from_origin

from csmoe.bigearthnet import nomenclature, packaged


def v2_patch_id(s2_name: str, tile_source: str) -> str:
    """v1 ``S2A_MSIL2A_20170613T101031_87_48`` -> v2 ``..._N9999_R022_T33UUP_87_48``."""
    mission, _, stamp, col, row = s2_name.split("_")
    source = tile_source.split("_")
    orbit, tile = source[4], source[5]
    return f"{mission}_MSIL2A_{source[2]}_N9999_{orbit}_{tile}_{col}_{row}"


def write_v2_archive(examples: Path, root: Path) -> pd.DataFrame:
    """A BigEarthNet v2 archive holding the six example pairs; returns its metadata."""
    rows = []
    for s1_dir in sorted((examples / "BigEarthNet-S1-v1.0").iterdir()):
        s1_name = s1_dir.name
        s1_meta = json.loads((s1_dir / f"{s1_name}_labels_metadata.json").read_text())
        s2_name = s1_meta["corresponding_s2_patch"]
        s2_dir = examples / "BigEarthNet-v1.0" / s2_name
        s2_meta = json.loads((s2_dir / f"{s2_name}_labels_metadata.json").read_text())
        patch_id = v2_patch_id(s2_name, s2_meta["tile_source"])
        tile = patch_id.rsplit("_", 2)[0]
        dst_s2 = root / "BigEarthNet-S2" / tile / patch_id
        dst_s2.mkdir(parents=True)
        for band in sorted(s2_dir.glob("*.tif")):
            suffix = band.name.rsplit("_", 1)[1]
            shutil.copy(band, dst_s2 / f"{patch_id}_{suffix}")
        dst_s1 = root / "BigEarthNet-S1" / s1_name.rsplit("_", 3)[0] / s1_name
        dst_s1.mkdir(parents=True)
        for band in sorted(s1_dir.glob("*.tif")):
            shutil.copy(band, dst_s1 / band.name)
        write_reference_map(
            dst_s2 / f"{patch_id}_B02.tif",
            root / "Reference_Maps" / tile / patch_id / f"{patch_id}_reference_map.tif",
            [nomenclature.CLC_LEVEL3_CODES[name] for name in s2_meta["labels"]],
        )
        meta = packaged.annotate(pd.Series([s2_name])).iloc[0]
        rows.append(
            {
                "patch_id": patch_id,
                "labels": np.array(nomenclature.clc_to_ben19(s2_meta["labels"]), dtype=object),
                "split": "validation" if meta["split"] is pd.NA else str(meta["split"]),
                "country": str(meta["country"]),
                "s1_name": s1_name,
                "s2v1_name": s2_name,
                "contains_seasonal_snow": bool(meta["snow"]),
                "contains_cloud_or_shadow": bool(meta["cloud"]),
            }
        )
    metadata = pd.DataFrame(rows)
    metadata.to_parquet(root / "metadata.parquet", index=False)
    return metadata


def write_reference_map(grid_of: Path, path: Path, codes: list[int]) -> None:
    """A 120x120 uint16 map of CLC codes: vertical stripes, one per label."""
    with rasterio.open(grid_of) as src:
        profile = src.profile | {"dtype": "uint16", "count": 1}
    stripes = np.array_split(np.arange(120), len(codes))
    pixels = np.zeros((120, 120), dtype=np.uint16)
    for code, cols in zip(codes, stripes, strict=True):
        pixels[:, cols] = code
    path.parent.mkdir(parents=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(pixels, 1)


SSL4EO_S2_BANDS = {
    "B1": 60, "B2": 10, "B3": 10, "B4": 10, "B5": 20, "B6": 20, "B7": 20, "B8": 10,
    "B8A": 20, "B9": 60, "B11": 20, "B12": 20,
}  # fmt: skip
# location id -> (EPSG, upper-left x, upper-left y, S2 dates, S1 dates)
SSL4EO_LOCATIONS = {
    "0000001": (
        32632, 500000.0, 5300000.0,  # northern Italy
        ["20200402T101021", "20200711T101031", "20201019T101031", "20210117T101321"],
        ["20200405T053404", "20200709T053410", "20201023T053412", "20210121T053409"],
    ),
    "0000002": (
        32734, 300000.0, 7300000.0,  # southern hemisphere: seasons flip
        ["20200110T080611", "20200419T080609", "20200718T080611", "20201026T080609"],
        ["20200112T170423", "20200421T170431", "20200722T170431"],  # no S1 in one season
    ),
}  # fmt: skip


def _write_band(path: Path, epsg: int, ulx: float, uly: float, metres: int, dtype: str) -> None:
    side = 2640 // metres
    rng = np.random.default_rng(zlib.crc32(f"{path.parent.name}/{path.name}".encode()))
    pixels = rng.integers(100, 3000, size=(side, side)).astype(dtype)
    profile = {
        "driver": "GTiff", "height": side, "width": side, "count": 1, "dtype": dtype,
        "crs": f"EPSG:{epsg}", "transform": from_origin(ulx, uly, metres, metres),
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(pixels, 1)


def write_ssl4eo_archive(root: Path) -> None:
    for location, (epsg, ulx, uly, s2_dates, s1_dates) in SSL4EO_LOCATIONS.items():
        for stamp in s2_dates:
            folder = root / "s2a" / location / f"{stamp}_{stamp}_T32TNR"
            for band, metres in SSL4EO_S2_BANDS.items():
                _write_band(folder / f"{band}.tif", epsg, ulx, uly, metres, "uint16")
        for stamp in s1_dates:
            folder = root / "s1" / location / f"S1A_IW_GRDH_1SDV_{stamp}_{stamp}_032003_03B2AE"
            for band in ("VV", "VH"):
                _write_band(folder / f"{band}.tif", epsg, ulx, uly, 10, "float32")
