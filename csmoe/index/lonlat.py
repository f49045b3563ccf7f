"""Ground distances of longitude/latitude raster bounds (WGS84 geodesics, in metres).

Rasters stored in degrees (SSL4EO-S12 v1) have pixels whose size in degrees depends on
the latitude, so their footprints are compared on the ground: the distance between two
footprints is the largest distance between their corresponding edges, measured along
the other footprint's centre line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyproj

GEOD = pyproj.Geod(ellps="WGS84")
Bounds = tuple[float, float, float, float]  # west, south, east, north (degrees)


def ground_size_m(bounds: Bounds) -> tuple[float, float]:
    """(width, height) in metres of a box, along its centre lines."""
    west, south, east, north = bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    _, _, distances = GEOD.inv([west, lon], [lat, south], [east, lon], [lat, north])
    return float(distances[0]), float(distances[1])


def pixel_size_m(bounds: Bounds, shape: tuple[int, int]) -> float:
    """The larger side, in metres, of a pixel of a raster of `shape` (rows, columns)."""
    width, height = ground_size_m(bounds)
    return max(width / shape[1], height / shape[0])


def edge_offset_m(bounds: Bounds, reference: Bounds) -> float:
    """The largest ground distance between an edge of `bounds` and the same edge of
    `reference` (west and east along its centre latitude, south and north along its
    centre longitude)."""
    lon, lat = (reference[0] + reference[2]) / 2, (reference[1] + reference[3]) / 2
    west, south, east, north = bounds
    ref_west, ref_south, ref_east, ref_north = reference
    _, _, distances = GEOD.inv(
        [west, east, lon, lon], [lat, lat, south, north],
        [ref_west, ref_east, lon, lon], [lat, lat, ref_south, ref_north],
    )  # fmt: skip
    return float(np.max(distances))


def utm_square(bounds: Bounds) -> dict[str, Any]:
    """The square of a longitude/latitude box in the UTM zone of its centre: centred on the
    box's centre, as wide and high on the ground as the box."""
    west, south, east, north = bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    epsg = (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) % 60 + 1
    width, height = ground_size_m(bounds)
    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return {"utm_epsg": epsg, "utm_ulx": x - width / 2, "utm_uly": y + height / 2,
            "utm_lrx": x + width / 2, "utm_lry": y - height / 2}  # fmt: skip
