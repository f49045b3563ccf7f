"""Index of an SSL4EO-S12 v1 archive (unlabelled, global, four seasons per location).

Layout::

    <root>/s1/<location>/<acquisition>/VV.tif, VH.tif
    <root>/s2a/<location>/<acquisition>/B1.tif ... B12.tif, B8A.tif   (L2A, 12 bands)
    <root>/s2c/<location>/<acquisition>/B1.tif ... B12.tif, B8A.tif   (L1C, 13 bands)

``<location>`` is a 7-digit id; acquisition folders carry their date
(``YYYYMMDDTHHMMSS``) in their name. S1 and S2 acquisitions of a location are matched by
season (meteorological, flipped in the southern hemisphere), the S1 scene closest in time
to the S2 scene. Footprints come from the S2 10 m rasters' georeferencing. The archive
has no official splits: every pair is a pretraining (``train``) sample.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyproj

from csmoe.bigearthnet.names import acquisition_times
from csmoe.errors import InputError
from csmoe.footprints import meteorological_season
from csmoe.index.patches import PatchProblem, Skipped, collect
from csmoe.index.rasters import check_band

PRODUCTS = {"l2a": "s2a", "l1c": "s2c"}
# Metres per pixel of each band; SSL4EO-S12 patches cover 2,640 m (264 px at 10 m).
S2_BANDS = {
    "B1": 60, "B2": 10, "B3": 10, "B4": 10, "B5": 20, "B6": 20, "B7": 20, "B8": 10,
    "B8A": 20, "B9": 60, "B11": 20, "B12": 20,
}  # fmt: skip
L1C_EXTRA_BANDS = {"B10": 60}
S1_BANDS = ("VV", "VH")
LOCATION = re.compile(r"^\d{7}$")
STAMP = re.compile(r"\d{8}T\d{6}")


def season_of(month: int, latitude: float) -> str:
    return str(meteorological_season(month, southern=latitude < 0))


def acquisitions(folder: Path) -> list[tuple[str, pd.Timestamp]]:
    """(name, time) of every dated acquisition folder in a location folder."""
    found = []
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        if child.is_dir() and STAMP.search(child.name):
            found.append((child.name, pd.Timestamp(acquisition_times([child.name])[0])))
    return found


def read_location(location: str, root: Path, product: str, check: str) -> dict[str, Any]:
    """All season-matched pairs of one location, and how many S2 scenes found no partner.

    One pair per season: a second S2 scene in the same season counts as unpaired.
    """
    s2_loc = root / PRODUCTS[product] / location
    s1_loc = root / "s1" / location
    s2_acq, s1_acq = acquisitions(s2_loc), acquisitions(s1_loc)
    if not s2_acq:
        raise PatchProblem(s2_loc, "no dated S2 acquisition folders")
    bands = S2_BANDS | (L1C_EXTRA_BANDS if product == "l1c" else {})
    records = []
    for s2_name, s2_time in s2_acq:
        s2_dir = s2_loc / s2_name
        ref = check_band(s2_dir / "B4.tif", shape=None, dtype=None, check=check)
        if ref.epsg is None:
            raise PatchProblem(s2_dir / "B4.tif", "raster has no CRS")
        left, bottom, right, top = ref.bounds
        for band, metres in bands.items():
            pixels = round((right - left) / metres), round((top - bottom) / metres)
            check_band(s2_dir / f"{band}.tif", shape=pixels[::-1], dtype=None, check=check)
        latitude = _centre_latitude(ref.epsg, ref.bounds)
        season = season_of(s2_time.month, latitude)
        if any(r["season"] == season for r in records):
            continue
        same_season = [
            (abs((t - s2_time).total_seconds()), name)
            for name, t in s1_acq
            if season_of(t.month, latitude) == season
        ]
        if not same_season:
            continue  # an S2 scene without S1 partner in its season: not a pair
        s1_name = min(same_season)[1]
        s1_dir = s1_loc / s1_name
        for band in S1_BANDS:
            check_band(s1_dir / f"{band}.tif", shape=ref.shape, dtype=None, check=check)
        records.append(
            {
                "patch_id": f"{location}_{season.lower()}",
                "s1_name": s1_name,
                "s2_name": s2_name,
                "s1_dir": str(s1_dir),
                "s2_dir": str(s2_dir),
                "utm_epsg": ref.epsg,
                "utm_ulx": left,
                "utm_uly": top,
                "utm_lrx": right,
                "utm_lry": bottom,
                "s1_time": acquisition_times([s1_name])[0],
                "s2_time": s2_time.to_datetime64(),
                "season": season,
                "split": "train",
            }
        )
    return {"pairs": records, "unpaired": len(s2_acq) - len(records)}


def _centre_latitude(epsg: int, bounds: tuple[float, float, float, float]) -> float:
    to_wgs84 = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    _, lat = to_wgs84.transform((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    return float(lat)


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
    skip_bad: bool = False,
    workers: int = 1,
) -> tuple[pd.DataFrame, list[Skipped]]:
    root = Path(root)
    if s2_product not in PRODUCTS:
        raise InputError("s2_product", f"expected one of {sorted(PRODUCTS)}, got {s2_product!r}")
    found = locations(root, s2_product)
    reader = functools.partial(read_location, root=root, product=s2_product, check=check)
    results, skipped = collect(  # items are locations; their pairs' ids are unknown
        reader, found, found, skip_bad=skip_bad, workers=workers, names_are_ids=False
    )
    records = [pair for result in results for pair in result["pairs"]]
    if not records:
        raise InputError(root, "no S1/S2 pair with matching seasons: nothing to index")
    unpaired = sum(result["unpaired"] for result in results)
    if unpaired:
        print(
            f"ssl4eo-s12: {unpaired} S2 acquisition(s) without S1 in their season", file=sys.stderr
        )
    return pd.DataFrame.from_records(records), skipped
