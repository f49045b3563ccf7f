"""Index of an SSL4EO-S12 v1 archive (unlabelled, global, four acquisition windows).

Layout::

    <root>/s1/<location>/<S1 product id>/VV.tif, VH.tif
    <root>/s2a/<location>/<S2 scene id>/B1.tif ... B12.tif, B8A.tif   (L2A, 12 bands)
    <root>/s2c/<location>/<S2 scene id>/B1.tif ... B12.tif, B8A.tif   (L1C, 13 bands)

``<location>`` is a 7-digit id. S2 scene folders are named like
``20200604T054639_20200604T054831_T43RCP`` (sensing time, granule time, tile), S1 folders
by the full product id (``S1A_IW_GRDH_1SDV_20200903T004317_...``); the first stamp of a
name is its acquisition time.

Rasters are in EPSG:4326 (longitude/latitude), every band of a location on the same
footprint: 264 px for the 10 m bands and S1, 132 px for 20 m, 44 px for 60 m. The
footprint in the index is the raster bounds; the ``utm_*`` columns are the patch's
square in the UTM zone of its centre, with the ground width and height of those bounds.

**Pairing.** The archive was downloaded in four 30-day windows per location (centred on
2020-12-21, 2021-03-20, 2021-06-21 and 2021-09-22, all shifted back by one random offset
of 0-364 days per location), keeping the latest scene of each window for S1, L1C and L2A
separately. Windows are about three months apart, so an S1 and an S2 scene of the same
window lie less than 30 days apart and scenes of different windows much further: each S2
scene is paired with the nearest S1 scene within 30 days (closest pairs first, each S1
scene used once). One row per location and window, ``patch_id`` =
``<location>_<S2 date>``; ``season`` is the meteorological season of the S2 date (flipped
south of the equator). The archive has no official splits: every pair is ``train``.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyproj
import shapely

from csmoe.bigearthnet.names import acquisition_times
from csmoe.errors import InputError
from csmoe.footprints import meteorological_season
from csmoe.index.patches import PatchProblem, Skipped, collect
from csmoe.index.rasters import BandInfo, check_band, check_same_grid

PRODUCTS = {"l2a": "s2a", "l1c": "s2c"}
# Band -> pixels per side of a 2,640 m patch (10, 20, 60 m).
S2_BANDS = {
    "B1": 44, "B2": 264, "B3": 264, "B4": 264, "B5": 132, "B6": 132, "B7": 132, "B8": 264,
    "B8A": 132, "B9": 44, "B11": 132, "B12": 132,
}  # fmt: skip
L1C_EXTRA_BANDS = {"B10": 44}
S1_BANDS = ("VV", "VH")
S1_SIDE = 264
LOCATION = re.compile(r"^\d{7}$")
STAMP = re.compile(r"\d{8}T\d{6}")
WINDOW = pd.Timedelta(days=30)
# Footprints of one location agree within a pixel (degrees).
DEGREE_TOLERANCE = 1e-4
GEOD = pyproj.Geod(ellps="WGS84")


def acquisitions(folder: Path) -> list[tuple[str, pd.Timestamp]]:
    """(name, time) of every dated acquisition folder in a location folder, by time."""
    found = []
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        if child.is_dir() and STAMP.search(child.name):
            found.append((child.name, pd.Timestamp(acquisition_times([child.name])[0])))
    return sorted(found, key=lambda item: (item[1], item[0]))


def window_pairs(
    s2: list[tuple[str, pd.Timestamp]], s1: list[tuple[str, pd.Timestamp]]
) -> list[tuple[int, int]]:
    """(S2 index, S1 index) of the scenes of one window: nearest within 30 days, closest
    pairs first, each scene used once; in S2 order."""
    candidates = sorted(
        (abs(t2 - t1), i, j)
        for i, (_, t2) in enumerate(s2)
        for j, (_, t1) in enumerate(s1)
        if abs(t2 - t1) < WINDOW
    )
    used_s2, used_s1, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_s2 and j not in used_s1:
            used_s2.add(i)
            used_s1.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def check_scene(
    folder: Path, bands: dict[str, int], check: str, non_finite: str, first
) -> tuple[tuple[Path, BandInfo], int]:
    """Every band of one scene at its pixel size, in EPSG:4326, on the location's footprint;
    the footprint's first band, and the scene's non-finite pixels (policy ``repair``)."""
    repaired = 0
    for band, side in bands.items():
        path = folder / f"{band}.tif"
        info = check_band(path, shape=(side, side), dtype=None, check=check,
                          non_finite=non_finite)  # fmt: skip
        repaired += info.non_finite
        if first is None:
            if not info.has_crs:
                raise PatchProblem(path, "raster has no CRS")
            if info.epsg != 4326:
                raise PatchProblem(
                    path, f"expected EPSG:4326 (SSL4EO-S12 v1), found EPSG:{info.epsg}"
                )
            first = (path, info)
        check_same_grid(path, info, *first, tolerance=DEGREE_TOLERANCE)
    return first, repaired


def utm_square(bounds: tuple[float, float, float, float]) -> dict[str, Any]:
    """The square of a longitude/latitude box in the UTM zone of its centre: centred on the
    box's centre, as wide and high on the ground as the box."""
    west, south, east, north = bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    epsg = (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) % 60 + 1
    width = GEOD.inv(west, lat, east, lat)[2]
    height = GEOD.inv(lon, south, lon, north)[2]
    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return {"utm_epsg": epsg, "utm_ulx": x - width / 2, "utm_uly": y + height / 2,
            "utm_lrx": x + width / 2, "utm_lry": y - height / 2}  # fmt: skip


def read_location(
    location: str, root: Path, product: str, check: str, non_finite: str = "reject"
) -> dict[str, Any]:
    """Every window pair of one location, and how many S2 scenes found no S1 partner."""
    s2_loc = root / PRODUCTS[product] / location
    s1_loc = root / "s1" / location
    s2_acq, s1_acq = acquisitions(s2_loc), acquisitions(s1_loc)
    if not s2_acq:
        raise PatchProblem(s2_loc, "no dated S2 acquisition folders")
    bands = S2_BANDS | (L1C_EXTRA_BANDS if product == "l1c" else {})
    records, first = [], None
    for i, j in window_pairs(s2_acq, s1_acq):
        (s2_name, s2_time), (s1_name, s1_time) = s2_acq[i], s1_acq[j]
        s2_dir, s1_dir = s2_loc / s2_name, s1_loc / s1_name
        first, s2_repaired = check_scene(s2_dir, bands, check, non_finite, first)
        s1_bands = dict.fromkeys(S1_BANDS, S1_SIDE)
        first, s1_repaired = check_scene(s1_dir, s1_bands, check, non_finite, first)
        bounds = first[1].bounds
        latitude = (bounds[1] + bounds[3]) / 2
        records.append(
            {
                "patch_id": f"{location}_{s2_time:%Y%m%d}",
                "s1_name": s1_name,
                "s2_name": s2_name,
                "s1_dir": str(s1_dir),
                "s2_dir": str(s2_dir),
                "tile": _tile(s2_name),
                **utm_square(bounds),
                "geometry": shapely.box(*bounds),
                "s1_time": s1_time.to_datetime64(),
                "s2_time": s2_time.to_datetime64(),
                "season": str(meteorological_season(s2_time.month, southern=latitude < 0)),
                "split": "train",
                "non_finite_pixels": s2_repaired + s1_repaired if check == "full" else None,
            }
        )
    return {"pairs": records, "unpaired": len(s2_acq) - len(records)}


def _tile(s2_name: str) -> str | None:
    found = re.search(r"_T(\d{2}[A-Z]{3})$", s2_name)
    return found.group(1) if found else None


def locations(root: Path, product: str) -> list[str]:
    if not root.is_dir():
        raise InputError(root, "SSL4EO-S12 root folder does not exist")
    s2_root = root / PRODUCTS[product]
    for folder in (s2_root, root / "s1"):
        if not folder.is_dir():
            raise InputError(
                folder, "missing: expected an SSL4EO-S12 root with s1/ and s2a/ or s2c/"
            )
    found = sorted(p.name for p in s2_root.iterdir() if p.is_dir() and LOCATION.match(p.name))
    if not found:
        raise InputError(s2_root, "no 7-digit location folders")
    return found


def index_ssl4eo_s12(
    root: Path,
    *,
    s2_product: str = "l2a",
    check: str = "full",
    non_finite: str = "reject",
    skip_bad: bool = False,
    workers: int = 1,
) -> tuple[pd.DataFrame, list[Skipped]]:
    root = Path(root)
    if s2_product not in PRODUCTS:
        raise InputError("s2_product", f"expected one of {sorted(PRODUCTS)}, got {s2_product!r}")
    found = locations(root, s2_product)
    reader = functools.partial(read_location, root=root, product=s2_product, check=check,
                               non_finite=non_finite)  # fmt: skip
    results, skipped = collect(  # items are locations; their pairs' ids are unknown
        reader, found, found, skip_bad=skip_bad, workers=workers, names_are_ids=False
    )
    records = [pair for result in results for pair in result["pairs"]]
    if not records:
        raise InputError(root, "no S1/S2 pair within one acquisition window: nothing to index")
    unpaired = sum(result["unpaired"] for result in results)
    if unpaired:
        print(
            f"ssl4eo-s12: {unpaired} S2 acquisition(s) without an S1 scene in their window",
            file=sys.stderr,
        )
    return pd.DataFrame.from_records(records), skipped
