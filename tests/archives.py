"""Writers of small archives in the published on-disk layouts, used as test fixtures.

- BigEarthNet v2 (reBEN): built from the six real v1 example pairs, renamed and moved into
  the v2 layout, with a metadata.parquet and CORINE-coded reference maps.
- SSL4EO-S12 v1: generated rasters georeferenced as the archive's download script writes
  them (longitude/latitude, per-band half-pixel shifts, S1 on its own footprint) at six
  locations on six continents, four windows each; SSL4EO-S12 v1.1: zarr zip files.
"""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
from rasterio.transform import Affine

from csmoe.bigearthnet import nomenclature, packaged


def v2_patch_id(s2_name: str, tile_source: str) -> str:
    """v1 ``S2A_MSIL2A_20170613T101031_6_48`` -> v2 ``..._N9999_R022_T33UUP_06_48``: the
    published v2 ids pad column and row to two digits (e.g. ``..._T29SNB_00_45``)."""
    mission, _, stamp, col, row = s2_name.split("_")
    source = tile_source.split("_")
    orbit, tile = source[4], source[5]
    return f"{mission}_MSIL2A_{source[2]}_N9999_{orbit}_{tile}_{int(col):02d}_{int(row):02d}"


def write_v2_archive(examples: Path, root: Path) -> pd.DataFrame:
    """A BigEarthNet v2 archive holding the six example pairs; returns its metadata.

    As the release writes it (kai-tub/bigearthnet-pipeline,
    ``nu-scripts/ben-metadata-finalizer.sql``, and the published files' columns):
    ``metadata.parquet`` holds the patches without snow, cloud or shadow; the flagged ones
    are in ``metadata_for_patches_with_snow_cloud_or_shadow.parquet`` with the same
    columns, and carry split values too (split strings ``train``, ``validation``,
    ``test``). Flagged examples without a v1 split get ``validation`` here."""
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
    flagged = metadata["contains_seasonal_snow"] | metadata["contains_cloud_or_shadow"]
    metadata[~flagged].to_parquet(root / "metadata.parquet", index=False)
    metadata[flagged].to_parquet(root / V2_FLAGGED_METADATA, index=False)
    return metadata


V2_FLAGGED_METADATA = "metadata_for_patches_with_snow_cloud_or_shadow.parquet"


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


# SSL4EO-S12 v1 as its download script writes it (zhu-xlab/SSL4EO-S12,
# src/download_data/ssl4eo_s12_downloader.py): per location and window, one S2 image and
# one S1 image (GEE COPERNICUS/S1_GRD, float32 dB) are sampled over the bounds of a
# 1,320 m buffer around the centre (`get_patch_s2`, `get_patch_s1`); each band is
# centre-cropped (`center_crop`) to 264 px (10 m bands, S1), 132 px (20 m) or 44 px
# (60 m); the corners [[west, north], [east, south]] are cropped with the FIRST band's
# sampled and kept sizes (`adjust_coords`: B1 for S2, VV for S1); and `save_geotiff`
# writes every band with those corners and its own pixel, xres = (east - west) / width,
# yres = (north - south) / height, transform translation(west - xres / 2, north + yres / 2)
# times scale(xres, -yres), CRS '+proj=latlong', no compression. So each band's bounds are
# shifted left and up by half of its own pixel, and S1 lies on its own footprint.
# Folders: ``s2a/<7-digit location>/<GEE system:index>/<band>.tif`` (S2 ``<sensing>_
# <granule>_<tile>``, S1 the product id); four 30-day windows per location, shifted back by
# one offset. How many pixels the sampled rectangle held before the crop depends on the
# image's grid: here 0-2 more than kept, from the folder name.
SSL4EO_S2_BANDS = {
    "B1": 44, "B2": 264, "B3": 264, "B4": 264, "B5": 132, "B6": 132, "B7": 132, "B8": 264,
    "B8A": 132, "B9": 44, "B11": 132, "B12": 132,
}  # fmt: skip
SSL4EO_RADIUS_M = 1320  # the script's radius=1320
SSL4EO_CRS = "+proj=latlong"
# location id -> (centre longitude, latitude, MGRS tile, S2 sensing times, S1 times):
# six continents; tile names in the folders' form.
SSL4EO_LOCATIONS = {
    "0000001": (  # Europe, northern Italy, window offset 40 days: four windows, four pairs
        9.0, 45.5, "T32TMR",
        ["20201124T101301", "20210220T101039", "20210525T101031", "20210826T101031"],
        ["20201120T053404", "20210222T053410", "20210519T053412", "20210824T053409"],
    ),
    "0000002": (  # Asia, Rajasthan: no S1 scene in the window of the 4 June S2 scene; the
        # August S2 scene pairs with a September S1 scene of the same window
        73.5, 27.5, "T43RCP",
        ["20200220T054639", "20200604T054639", "20200813T054639", "20201130T054639"],
        ["20200223T004317", "20200903T004317", "20201128T004317"],
    ),
    "0000003": (  # Africa, near Cape Town: seasons flip south of the equator
        18.5, -33.9, "T34HBH",
        ["20200115T082601", "20200414T082559", "20200713T082601", "20201011T082559"],
        ["20200112T173407", "20200417T173410", "20200716T173411", "20201008T173409"],
    ),
    "0000004": (  # South America, near Manaus, just south of the equator
        -59.9, -3.1, "T21MTS",
        ["20200912T142741", "20201211T142731", "20210311T142729", "20210614T142731"],
        ["20200915T091830", "20201208T091827", "20210314T091826", "20210612T091831"],
    ),
    "0000005": (  # North America, Iowa
        -93.6, 42.0, "T15TVG",
        ["20200604T170851", "20200902T170849", "20201201T171701", "20210306T170901"],
        ["20200606T002012", "20200831T002019", "20201204T002018", "20210303T002015"],
    ),
    "0000006": (  # Australia, New South Wales
        147.4, -35.1, "T55HEB",
        ["20200225T000241", "20200525T000239", "20200823T000241", "20201126T000239"],
        ["20200228T083710", "20200522T083707", "20200826T083712", "20201123T083709"],
    ),
}  # fmt: skip


def _region(lon: float, lat: float) -> tuple[float, float, float, float]:
    """West, north, east, south of the bounds of the centre's 1,320 m geodesic buffer."""
    geod = pyproj.Geod(ellps="WGS84")
    west = geod.fwd(lon, lat, -90, SSL4EO_RADIUS_M)[0]
    east = geod.fwd(lon, lat, 90, SSL4EO_RADIUS_M)[0]
    north = geod.fwd(lon, lat, 0, SSL4EO_RADIUS_M)[1]
    south = geod.fwd(lon, lat, 180, SSL4EO_RADIUS_M)[1]
    return west, north, east, south


def ssl4eo_corners(folder: Path, lon: float, lat: float, kept: int) -> tuple[float, ...]:
    """The scene's corners cropped as `adjust_coords` does, from the first band's sampled
    size (`kept` plus 0-2 pixels, by folder name) to `kept`."""
    west, north, east, south = _region(lon, lat)
    sampled = kept + zlib.crc32(folder.name.encode()) % 3
    xres, yres = (east - west) / sampled, (north - south) / sampled
    offset = (sampled - kept + 1) // 2
    return (west + offset * xres, north - offset * yres,
            west + (offset + kept) * xres, north - (offset + kept) * yres)  # fmt: skip


def write_ssl4eo_band(path: Path, corners: tuple[float, ...], pixels: np.ndarray) -> None:
    """One band as `save_geotiff` writes it: origin shifted by half its own pixel."""
    west, north, east, south = corners
    height, width = pixels.shape
    xres, yres = (east - west) / width, (north - south) / height
    transform = Affine.translation(west - xres / 2, north + yres / 2) @ Affine.scale(xres, -yres)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1,
               "crs": SSL4EO_CRS, "transform": transform, "dtype": pixels.dtype,
               "compress": "None"}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(pixels, 1)


def ssl4eo_pixels(folder: Path, index: int, side: int, s1: bool) -> np.ndarray:
    """Values that tell bands, rows and columns apart: S2 1000 + 100 x band + row +
    column (uint16), S1 -25 + row / 20 + column / 50 dB (float32), plus a per-scene shift."""
    rows, cols = np.mgrid[0:side, 0:side]
    shift = zlib.crc32(folder.name.encode()) % 97
    if s1:
        return (-25 + rows / 20 + cols / 50 + index + shift / 100).astype(np.float32)
    return (1000 + 100 * index + rows + cols + shift).astype(np.uint16)


def _later(stamp: str, seconds: int) -> str:
    return (pd.Timestamp(stamp) + pd.Timedelta(seconds=seconds)).strftime("%Y%m%dT%H%M%S")


def _ssl4eo_scene(folder: Path, lon: float, lat: float, bands: dict[str, int]) -> None:
    first_side = next(iter(bands.values()))
    corners = ssl4eo_corners(folder, lon, lat, first_side)
    s1 = "VV" in bands
    for index, (band, side) in enumerate(bands.items()):
        write_ssl4eo_band(folder / f"{band}.tif", corners, ssl4eo_pixels(folder, index, side, s1))


def write_ssl4eo_archive(root: Path) -> None:
    """An SSL4EO-S12 v1 archive (``s1/``, ``s2a/``) of `SSL4EO_LOCATIONS`."""
    for location, (lon, lat, tile, s2_times, s1_times) in SSL4EO_LOCATIONS.items():
        for stamp in s2_times:
            granule = _later(stamp, 112)  # the granule's time, seconds after sensing
            folder = root / "s2a" / location / f"{stamp}_{granule}_{tile}"
            _ssl4eo_scene(folder, lon, lat, SSL4EO_S2_BANDS)
        for stamp in s1_times:
            end = _later(stamp, 25)  # slice stop time
            folder = root / "s1" / location / f"S1A_IW_GRDH_1SDV_{stamp}_{end}_034203_03F8C4_2B94"
            _ssl4eo_scene(folder, lon, lat, {"VV": 264, "VH": 264})


# SSL4EO-S12 v1.1, Zarr distribution (Hugging Face embed2scale/SSL4EO-S12-v1.1-Zarr; the
# README of DLR-MF-DAS/SSL4EO-S12-v1.1 and its dataset printouts): one zarr format 2 zip
# per 64 locations and modality, ``<split>/<S1GRD|S2L1C|S2L2A>/ssl4eos12_<split>_seasonal_
# data_NNNNNN.zarr.zip``, variables ``bands`` (sample, time, band, y, x) at 264 px, int16
# for S2 and float16 dB for S1 (``vv``, ``vh``), ``sample_id`` ``<location>_<t>``,
# ``file_id`` (S2: ``<sensing>_<granule>_T<tile>``), ``time_``, ``crs`` (UTM EPSG),
# pixel-centre ``x_``/``y_``, ``center_lat``/``center_lon``, and ``cloud_mask`` (uint8)
# in the S2 files with the README's classes: land 0, water 1, snow 2, thin cloud 3,
# thick cloud 4, cloud shadow 5, no data 6. "The timestamps are chunked separately": one
# chunk holds a timestamp of every location of the file. Here: fewer locations per file.
SSL4EO_V11_MASK = {"land": 0, "water": 1, "snow": 2, "thin": 3, "thick": 4, "shadow": 5,
                   "nodata": 6}  # fmt: skip
SSL4EO_V11_S2_BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09",
                       "B11", "B12"]  # fmt: skip
# split -> file number -> [(location, EPSG, centre easting, northing, lat, lon, cloudy rows)]
SSL4EO_V11_FILES = {
    "train": {1: [("0080717", 32651, 715000.0, 4728000.0, 42.66, 125.6, 0),
                  ("0060573", 32751, 540000.0, 6610000.0, -30.64, 121.4, 66)]},
    "val": {1: [("0000173", 32633, 470000.0, 4212000.0, 38.06, 15.66, 0)]},
}  # fmt: skip
SSL4EO_V11_S2_TIMES = ["2020-11-16T02:30:01", "2021-02-14T02:29:51", "2021-05-15T02:30:01",
                       "2021-08-13T02:30:11"]  # fmt: skip


def _ssl4eo_v11_dataset(samples: list, modality: str):
    import xarray as xr

    n, side = len(samples), 264
    s1 = modality == "S1GRD"
    band_names = ["vv", "vh"] if s1 else SSL4EO_V11_S2_BANDS
    # Values that tell bands and columns apart: S2 1000 + 100 * band + column (int16),
    # S1 -30 + row / 10 (float16 dB).
    shape = (n, 4, len(band_names), side, side)
    if s1:
        values = np.broadcast_to(-30 + np.arange(side)[:, None] / 10, shape).astype(np.float16)
    else:
        band = 100 * np.arange(len(band_names))[:, None, None]
        values = np.broadcast_to(1000 + band + np.arange(side), shape).astype(np.int16)
    times = pd.to_datetime(SSL4EO_V11_S2_TIMES) + (pd.Timedelta(days=3) if s1 else pd.Timedelta(0))
    file_ids = [
        [f"S1A_IW_GRDH_1SDV_{t:%Y%m%dT%H%M%S}_{t + pd.Timedelta(seconds=25):%Y%m%dT%H%M%S}"
         f"_035000_041A2B_{i:04X}" if s1 else
         f"{t:%Y%m%dT%H%M%S}_{t + pd.Timedelta(seconds=2):%Y%m%dT%H%M%S}_T51TXG"
         for i, t in enumerate(times)]
        for _ in samples
    ]  # fmt: skip
    data = {
        "bands": (("sample", "time", "band", "y", "x"), values),
        "center_lat": (("sample",), np.array([s[4] for s in samples])),
        "center_lon": (("sample",), np.array([s[5] for s in samples])),
        "crs": (("sample",), np.array([s[1] for s in samples], dtype=np.int64)),
        "file_id": (("sample", "time"), np.array(file_ids)),
        "sample_id": (
            ("sample", "time"),
            np.array([[f"{s[0]}_{t}" for t in range(4)] for s in samples]),
        ),  # fmt: skip
        "time_": (("sample", "time"), np.array([times.values] * n)),
        "x_": (("sample", "x"), np.array([s[2] - 1315 + 10 * np.arange(side) for s in samples])),
        "y_": (("sample", "y"), np.array([s[3] + 1315 - 10 * np.arange(side) for s in samples])),
    }
    if not s1:
        data["cloud_mask"] = (("sample", "time", "y", "x"), _v11_cloud_masks(samples, side))
    coords = {"band": band_names, "sample": [s[0] for s in samples], "time": np.arange(4),
              "x": np.arange(side), "y": np.arange(side)}  # fmt: skip
    dataset = xr.Dataset(data, coords=coords)
    dataset["bands"].encoding["chunks"] = (n, 1, len(band_names), side, side)
    return dataset


def _v11_cloud_masks(samples: list, side: int) -> np.ndarray:
    """Class maps per sample and timestamp: t0 clear land; t1 the sample's cloudy rows of
    thick cloud; t2 water and snow (no cloud); t3 half no data, then a quarter each of
    thin cloud and cloud shadow among the rest (cloud share 0.5 of the pixels with data)."""
    codes = SSL4EO_V11_MASK
    mask = np.full((len(samples), 4, side, side), codes["land"], dtype=np.uint8)
    for i, sample in enumerate(samples):
        mask[i, 1, : sample[6]] = codes["thick"]
        mask[i, 2, :100], mask[i, 2, 100:130] = codes["water"], codes["snow"]
        mask[i, 3, :132], mask[i, 3, 132:165] = codes["nodata"], codes["thin"]
        mask[i, 3, 165:198] = codes["shadow"]
    return mask


def write_zarr_zip(dataset, path: Path) -> None:
    """A zarr format 2 store written by xarray, zipped uncompressed (``.zarr.zip``)."""
    import zipfile

    folder = path.with_suffix("")  # .zarr
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.to_zarr(folder, zarr_format=2, consolidated=True, mode="w")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    shutil.rmtree(folder)


def write_ssl4eo_v11_archive(root: Path) -> None:
    for split, files in SSL4EO_V11_FILES.items():
        for number, samples in files.items():
            name = f"ssl4eos12_{split}_seasonal_data_{number:06d}.zarr.zip"
            for modality in ("S1GRD", "S2L2A"):
                write_zarr_zip(
                    _ssl4eo_v11_dataset(samples, modality), root / split / modality / name
                )


def read_v2_metadata(root: Path) -> pd.DataFrame:
    """Both metadata files of a v2 archive, as one table."""
    files = [root / "metadata.parquet", root / V2_FLAGGED_METADATA]
    return pd.concat([pd.read_parquet(f) for f in files if f.is_file()], ignore_index=True)
