"""Climate descriptor: Köppen-Geiger class fractions within each footprint.

Fractions are over the footprint's valid pixels (see `zonal` for the inclusion rule).
The majority class is taken over land classes only. A footprint whose pixels are all
water (the legend's Ocean class) or nodata — about 9 % of BigEarthNet at 1/36 degree:
Finnish lakes and coasts — gets the class of the nearest land pixel instead (within
`fallback_radius_px`; nearest in ground distance), its fraction vector one-hot on that
class, and ``climate_fallback = True`` with the distance in ``climate_fallback_km``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
from scipy import ndimage

from csmoe.descriptors import zonal
from csmoe.descriptors.legend import Legend

WATER_SYMBOLS = ("Ocean",)


def climate_columns(legend: Legend) -> list[str]:
    return [f"kg_{symbol}" for symbol in legend.symbols]


def main_group(symbol: str | None) -> str | None:
    """Köppen-Geiger main group (A tropical, B arid, C temperate, D cold, E polar)."""
    if symbol is None or symbol[:1] not in "ABCDE":
        return None
    return symbol[0]


def climate_descriptors(
    index: pd.DataFrame,
    raster: str | os.PathLike[str],
    legend: Legend,
    *,
    water_symbols: tuple[str, ...] = WATER_SYMBOLS,
    fallback_radius_px: int = 60,
) -> pd.DataFrame:
    raster = Path(raster)
    quads = zonal.footprint_quads(index, zonal.raster_crs(raster))
    class_of_value = {code: i for i, code in enumerate(legend.codes)}
    counts = zonal.class_counts(
        raster, quads, class_of_value, len(legend.codes), names=index["patch_id"].to_numpy()
    ).counts
    water = np.array([s in water_symbols for s in legend.symbols])
    land_counts = np.where(water[None, :], 0, counts)
    total = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, total, out=np.zeros(counts.shape), where=total > 0)
    majority = np.where(land_counts.sum(axis=1) > 0, land_counts.argmax(axis=1), -1)
    distance_km = np.zeros(len(index))
    needs = np.flatnonzero(majority < 0)
    if len(needs):
        found, km = nearest_land(raster, quads[needs], class_of_value, water, fallback_radius_px)
        majority[needs], distance_km[needs] = found, km
        fractions[needs] = 0.0
        ok = found >= 0
        fractions[needs[ok], found[ok]] = 1.0
    symbols = np.array(legend.symbols + (None,), dtype=object)[majority]
    frame = pd.DataFrame(fractions.astype(np.float32), columns=climate_columns(legend))
    frame["climate"] = pd.array(symbols, dtype="string")
    frame["climate_group"] = pd.array([main_group(s) for s in symbols], dtype="string")
    frame["climate_fallback"] = np.isin(np.arange(len(index)), needs)
    frame["climate_fallback_km"] = distance_km.astype(np.float32)
    return frame.set_index(index.index)


def nearest_land(
    raster: Path,
    quads: np.ndarray,
    class_of_value: dict[int, int],
    water: np.ndarray,
    radius: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Class index (-1 if none within `radius` pixels) and ground distance of the land
    pixel nearest to each footprint centre."""
    with rasterio.open(raster) as src:
        t = src.transform
        centre = quads.mean(axis=1)
        col = np.floor((centre[:, 0] - t.c) / t.a).astype(np.int64)
        row = np.floor((centre[:, 1] - t.f) / t.e).astype(np.int64)
        classify = zonal.lookup_table(src, class_of_value)
        land_class = np.flatnonzero(~water)
        found = np.full(len(quads), -1, dtype=np.int64)
        found_rc = np.zeros((len(quads), 2), dtype=np.int64)
        block = (row // zonal.BLOCK) * (src.width // zonal.BLOCK + 2) + col // zonal.BLOCK
        for key in np.unique(block):
            ids = np.flatnonzero(block == key)
            r0, c0 = row[ids].min() - radius, col[ids].min() - radius
            h, w = row[ids].max() + radius + 1 - r0, col[ids].max() + radius + 1 - c0
            values = zonal.read_window(src, int(r0), int(c0), int(h), int(w), 0)
            rr, cc = np.mgrid[r0 : r0 + h, c0 : c0 + w]
            inside = (rr >= 0) & (cc >= 0) & (rr < src.height) & (cc < src.width)
            land = np.isin(classify(values), land_class) & inside
            if not land.any():
                continue
            sampling = _pixel_spacing(src, (r0 + h / 2))
            dist, (near_r, near_c) = ndimage.distance_transform_edt(
                ~land, sampling=sampling, return_indices=True
            )
            local_r, local_c = row[ids] - r0, col[ids] - c0
            within = dist[local_r, local_c] <= radius * max(sampling)
            nr, nc = near_r[local_r, local_c], near_c[local_r, local_c]
            found[ids[within]] = classify(values[nr, nc])[within]
            found_rc[ids, 0], found_rc[ids, 1] = nr + r0, nc + c0
        km = _ground_km(src, centre, found_rc)
    km[found < 0] = np.nan
    return found, km


def _pixel_spacing(src: rasterio.DatasetReader, row: float) -> tuple[float, float]:
    """Relative (row, col) pixel spacing on the ground: columns shrink with latitude."""
    if not src.crs.is_geographic:
        return (abs(src.transform.e), abs(src.transform.a))
    latitude = src.transform.f + row * src.transform.e
    return (abs(src.transform.e), abs(src.transform.a) * max(np.cos(np.radians(latitude)), 0.01))


def _ground_km(src: rasterio.DatasetReader, centre: np.ndarray, rc: np.ndarray) -> np.ndarray:
    t = src.transform
    x = t.c + (rc[:, 1] + 0.5) * t.a
    y = t.f + (rc[:, 0] + 0.5) * t.e
    to_wgs84 = pyproj.Transformer.from_crs(src.crs, 4326, always_xy=True)
    lon0, lat0 = to_wgs84.transform(centre[:, 0], centre[:, 1])
    lon1, lat1 = to_wgs84.transform(x, y)
    _, _, metres = pyproj.Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    return np.asarray(metres) / 1000.0
