"""Index of an SSL4EO-S12 v1 archive (unlabelled, global, four acquisition windows).

Layout::

    <root>/s1/<location>/<S1 product id>/VV.tif, VH.tif
    <root>/s2a/<location>/<S2 scene id>/B1.tif ... B12.tif, B8A.tif   (L2A, 12 bands)
    <root>/s2c/<location>/<S2 scene id>/B1.tif ... B12.tif, B8A.tif   (L1C, 13 bands)

``<location>`` is a 7-digit id. S2 scene folders are named like
``20200604T054639_20200604T054831_T43RCP`` (sensing time, granule time, tile), S1 folders
by the full product id (``S1A_IW_GRDH_1SDV_20200903T004317_...``); the first stamp of a
name is its acquisition time.

Rasters are in EPSG:4326 (longitude/latitude; the files declare ``+proj=latlong``, which
reads as EPSG:4326): 264 px for the 10 m bands and S1, 132 px for 20 m, 44 px for 60 m.

**Footprints.** The archive's download script (zhu-xlab/SSL4EO-S12,
``src/download_data/ssl4eo_s12_downloader.py``) samples a rectangle of 1,320 m radius
around the location from one S2 image and one S1 image per window, centre-crops every
band to its pixel count, crops the rectangle's corners with the first band's sizes
(``adjust_coords``), and writes every band with those corners but an origin shifted
left and up by half of *that band's own* pixel (``save_geotiff``). So the bands of one
scene lie on footprints up to half the coarsest pixel apart (25 m between a 60 m and a
10 m band), and S1, cropped from its own image, on its own footprint some tens of
metres off. Footprints are therefore compared on the ground, in metres (`lonlat`):

- within a scene, every band within half the scene's coarsest pixel of the first 10 m
  band (S2: B2; S1: VV), whose bounds are the patch footprint in the index (the
  ``utm_*`` columns are its square in the UTM zone of its centre, as wide and high on
  the ground);
- the S1 scene of a pair, and the S2 scenes of the location's other windows, within
  `SCENE_TOLERANCE_M` of the S2 footprint. S1 stays on its own grid: the pair is made
  by window, and the shard stage crops each sensor's own centre.

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
import shapely

from csmoe.bigearthnet.names import acquisition_times
from csmoe.errors import InputError
from csmoe.footprints import meteorological_season
from csmoe.index.lonlat import edge_offset_m, pixel_size_m, utm_square
from csmoe.index.patches import PatchProblem, Skipped, collect
from csmoe.index.rasters import BandInfo, check_band

PRODUCTS = {"l2a": "s2a", "l1c": "s2c"}
# Band -> pixels per side of a 2,640 m patch (10, 20, 60 m).
S2_BANDS = {
    "B1": 44, "B2": 264, "B3": 264, "B4": 264, "B5": 132, "B6": 132, "B7": 132, "B8": 264,
    "B8A": 132, "B9": 44, "B11": 132, "B12": 132,
}  # fmt: skip
L1C_EXTRA_BANDS = {"B10": 44}
S1_BANDS = ("VV", "VH")
S1_SIDE = 264
# The band whose bounds are the scene's footprint: the first 10 m band.
FOOTPRINT_BAND = {"s2": "B2", "s1": "VV"}
LOCATION = re.compile(r"^\d{7}$")
STAMP = re.compile(r"\d{8}T\d{6}")
WINDOW = pd.Timedelta(days=30)
# Two images of one location (S1 and S2 of a pair, S2 of two windows) agree within
# 150 m: each image's corners are cropped with its own first band's pixel count, which
# moves them by up to two 60 m pixels where the rectangle is turned against the image's
# UTM grid; locations are at least 1.98 km apart (the script refuses a location within
# 1.5 x 1,320 m of another), so a folder of another location is far outside.
SCENE_TOLERANCE_M = 150.0


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


def _check_lonlat(path: Path, info: BandInfo) -> None:
    if not info.has_crs:
        raise PatchProblem(path, "raster has no CRS")
    if info.epsg != 4326:
        raise PatchProblem(path, f"expected EPSG:4326 (SSL4EO-S12 v1), found EPSG:{info.epsg}")


def check_scene(
    folder: Path, bands: dict[str, int], reference: str, check: str, non_finite: str
) -> tuple[tuple[Path, BandInfo], int]:
    """Every band of one scene at its pixel count, in EPSG:4326, within half the scene's
    coarsest pixel of the `reference` band; that band (the scene's footprint), and the
    scene's non-finite pixels (policy ``repair``)."""
    infos, repaired = {}, 0
    for band, side in bands.items():
        path = folder / f"{band}.tif"
        info = check_band(path, shape=(side, side), dtype=None, check=check,
                          non_finite=non_finite)  # fmt: skip
        _check_lonlat(path, info)
        infos[path] = info
        repaired += info.non_finite
    first = folder / f"{reference}.tif"
    first_info = infos[first]
    tolerance = max(pixel_size_m(i.bounds, i.shape) for i in infos.values()) / 2
    for path, info in infos.items():
        offset = edge_offset_m(info.bounds, first_info.bounds)
        if offset > tolerance:
            raise PatchProblem(path, f"raster bounds {info.bounds} lie {offset:.0f} m from "
                               f"those of {first.name} {first_info.bounds} (more than half "
                               f"the scene's coarsest pixel, {tolerance:.0f} m)")  # fmt: skip
    return (first, first_info), repaired


def check_near(path: Path, info: BandInfo, what: str, reference: tuple[Path, BandInfo]) -> None:
    """`info`'s footprint within `SCENE_TOLERANCE_M` of the `reference` band's."""
    offset = edge_offset_m(info.bounds, reference[1].bounds)
    if offset > SCENE_TOLERANCE_M:
        where = f"{reference[0].parent.name}/{reference[0].name}"
        raise PatchProblem(path, f"{what} {info.bounds} lies {offset:.0f} m from the S2 "
                           f"footprint of {where} {reference[1].bounds} (more than "
                           f"{SCENE_TOLERANCE_M:.0f} m)")  # fmt: skip


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
        footprint, repaired = check_pair(s2_dir, s1_dir, bands, check, non_finite)
        first = first or footprint
        check_near(*footprint, "footprint", first)  # the location's windows
        records.append(_record(location, s2_dir, s1_dir, s2_time, s1_time, footprint[1]))
        records[-1]["non_finite_pixels"] = repaired if check == "full" else None
    return {"pairs": records, "unpaired": len(s2_acq) - len(records)}


def check_pair(s2_dir: Path, s1_dir: Path, bands: dict[str, int], check: str,
               non_finite: str) -> tuple[tuple[Path, BandInfo], int]:  # fmt: skip
    """Both scenes of a pair, S1 near the S2 footprint; that footprint's band, and the
    pair's non-finite pixels."""
    footprint, s2_repaired = check_scene(s2_dir, bands, FOOTPRINT_BAND["s2"], check, non_finite)
    s1_bands = dict.fromkeys(S1_BANDS, S1_SIDE)
    s1, s1_repaired = check_scene(s1_dir, s1_bands, FOOTPRINT_BAND["s1"], check, non_finite)
    check_near(*s1, "S1 footprint", footprint)
    return footprint, s2_repaired + s1_repaired


def _record(location: str, s2_dir: Path, s1_dir: Path, s2_time: pd.Timestamp,
            s1_time: pd.Timestamp, footprint: BandInfo) -> dict[str, Any]:  # fmt: skip
    bounds = footprint.bounds
    latitude = (bounds[1] + bounds[3]) / 2
    return {
        "patch_id": f"{location}_{s2_time:%Y%m%d}",
        "s1_name": s1_dir.name,
        "s2_name": s2_dir.name,
        "s1_dir": str(s1_dir),
        "s2_dir": str(s2_dir),
        "tile": _tile(s2_dir.name),
        **utm_square(bounds),
        "geometry": shapely.box(*bounds),
        "s1_time": s1_time.to_datetime64(),
        "s2_time": s2_time.to_datetime64(),
        "season": str(meteorological_season(s2_time.month, southern=latitude < 0)),
        "split": "train",
    }


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
    """The pairs of every location, and the skipped locations (an empty frame when every
    location was skipped: the caller lists them, then stops)."""
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
    if not records and not skipped:
        raise InputError(root, "no S1/S2 pair within one acquisition window: nothing to index")
    unpaired = sum(result["unpaired"] for result in results)
    if unpaired:
        print(
            f"ssl4eo-s12: {unpaired} S2 acquisition(s) without an S1 scene in their window",
            file=sys.stderr,
        )
    return pd.DataFrame.from_records(records), skipped
