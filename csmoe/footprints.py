"""Patch footprints: the UTM squares of an index, transformed into another CRS, and the
season of an acquisition month."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj

SEASONS = ("Winter", "Spring", "Summer", "Fall")


def utm_corners(index: pd.DataFrame, crs) -> np.ndarray:
    """(n, 4, 2) corners (ul, ur, lr, ll) of the index's UTM squares, transformed to `crs`
    (one transformer per UTM zone)."""
    epsg = index["utm_epsg"].to_numpy()
    ulx, uly = index["utm_ulx"].to_numpy(), index["utm_uly"].to_numpy()
    lrx, lry = index["utm_lrx"].to_numpy(), index["utm_lry"].to_numpy()
    xs = np.stack([ulx, lrx, lrx, ulx], axis=1).astype(np.float64)
    ys = np.stack([uly, uly, lry, lry], axis=1).astype(np.float64)
    out = np.empty(xs.shape + (2,))
    target = pyproj.CRS.from_user_input(crs)
    for code in np.unique(epsg):
        rows = epsg == code
        transformer = pyproj.Transformer.from_crs(int(code), target, always_xy=True)
        out[rows, :, 0], out[rows, :, 1] = transformer.transform(xs[rows], ys[rows])
    return out


def meteorological_season(months: np.ndarray, southern: np.ndarray | bool = False) -> np.ndarray:
    """Season names of calendar months (DJF winter, ...), flipped south of the equator."""
    index = (np.asarray(months) % 12) // 3
    index = np.where(southern, (index + 2) % 4, index)
    return np.asarray(SEASONS)[index]
