"""Map context for the sampling figures: land and sea from the Köppen-Geiger raster.

The Köppen raster is already an input of the workflow and covers the globe, so its land
mask (every class except the water symbols) gives coastlines and land for any archive,
offline, with no extra map data. It is read at screen resolution over the plotted extent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import from_bounds

from csmoe.descriptors.legend import read_legend

LAND, SEA = "#ece8dc", "#d6e6f2"
COAST = "0.55"


@dataclass(frozen=True)
class Extent:
    west: float
    south: float
    east: float
    north: float

    @classmethod
    def around(cls, lonlat: np.ndarray, margin: float = 1.0, share: float = 0.06) -> Extent:
        """The points' bounding box grown by `margin` degrees or `share` of its span,
        whichever is more (so that no marker is cut at an edge), clipped to the globe."""
        low, high = lonlat.min(axis=0), lonlat.max(axis=0)
        grow = np.maximum(margin, share * (high - low))
        west, south = low - grow
        east, north = high + grow
        return cls(max(west, -180), max(south, -90), min(east, 180), min(north, 90))

    @property
    def aspect(self) -> float:
        """Axes aspect (y per x unit) that keeps distances true at the mid-latitude."""
        return 1.0 / max(np.cos(np.radians((self.south + self.north) / 2)), 0.1)


@dataclass(frozen=True)
class LandMask:
    land: np.ndarray  # bool (rows, cols), north up
    extent: Extent


def land_mask(
    koppen: str | os.PathLike[str],
    legend: str | os.PathLike[str],
    water: tuple[str, ...],
    extent: Extent,
    pixels: int = 900,
) -> LandMask:
    """Land (True) over `extent`, resampled to about `pixels` columns."""
    symbols = read_legend(legend)
    water_codes = [c for c, s in zip(symbols.codes, symbols.symbols, strict=True) if s in water]
    with rasterio.open(koppen) as src:
        window = from_bounds(extent.west, extent.south, extent.east, extent.north, src.transform)
        cols = max(int(pixels), 1)
        rows = max(int(round(cols * window.height / max(window.width, 1e-9))), 1)
        codes = src.read(
            1, window=window, out_shape=(rows, cols), resampling=Resampling.nearest,
            boundless=True, fill_value=src.nodata or 0,
        )  # fmt: skip
        nodata = src.nodata
    land = ~np.isin(codes, water_codes)
    if nodata is not None:
        land &= codes != nodata
    return LandMask(land, extent)


def draw(ax, mask: LandMask) -> None:
    """Sea, land and coastline under the data, with the map's aspect and limits."""
    from matplotlib.colors import ListedColormap

    e = mask.extent
    ax.imshow(
        mask.land.astype(np.uint8), cmap=ListedColormap([SEA, LAND]), vmin=0, vmax=1,
        extent=(e.west, e.east, e.south, e.north), origin="upper", interpolation="nearest",
        zorder=0,
    )  # fmt: skip
    if mask.land.any() and not mask.land.all():
        rows, cols = mask.land.shape
        x = np.linspace(e.west, e.east, cols)
        y = np.linspace(e.north, e.south, rows)
        ax.contour(x, y, mask.land.astype(float), levels=[0.5], colors=COAST,
                   linewidths=0.5, zorder=1)  # fmt: skip
    ax.set_xlim(e.west, e.east)
    ax.set_ylim(e.south, e.north)
    ax.set_aspect(e.aspect)
    ax.set_xlabel("longitude (°E)")
