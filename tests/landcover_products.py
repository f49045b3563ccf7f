"""Writers of land-cover products as they are delivered, used as test fixtures.

- ESA WorldCover 10 m 2021 v200 (Product User Manual v2.0; the tiles' STAC items, e.g.
  ``ESA_WorldCover_10m_2021_v200_N39E012`` with ``proj:transform`` [1/12000, 0, 12, 0,
  -1/12000, 42], ``proj:shape`` [36000, 36000], uint8, nodata 0): 3 x 3 degree tiles in
  EPSG:4326, named by their lower-left corner, inside the folders of the 60 x 60 degree
  download zips (``ESA_WorldCover_10m_2021_v200_60deg_macrotile_N30E000``). Tiles are
  written full size but sparse: only the 1024-pixel blocks near the given points hold
  classes, the rest reads as nodata.
- CORINE Land Cover 2018, 100 m raster (``U2018_CLC2018_V2020_20u1.tif``: EPSG:3035, grid
  origin on whole 100 m, signed 8-bit, nodata -128 outside the mapped area, values 1..44
  in CLC level-3 code order and 48 for the legend's NODATA row), with the legend in the
  product's own columns (``GRID_CODE,CLC_CODE,LABEL3``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from csmoe.bigearthnet import nomenclature
from csmoe.descriptors import worldcover
from csmoe.descriptors.landcover import LEVEL3

WORLDCOVER_SIDE = 36000
BLOCK = 1024
CELL = 16  # pixels per side of one land-cover cell (160 m)


def _macrotile(west: int, south: int) -> str:
    lon, lat = 60 * math.floor(west / 60), 60 * math.floor(south / 60)
    ns, ew = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    return f"ESA_WorldCover_10m_2021_v200_60deg_macrotile_{ns}{abs(lat):02d}{ew}{abs(lon):03d}"


def write_worldcover_tiles(
    folder: Path, points: list[tuple[float, float]], *, radius_px: int = 600, seed: int = 0,
    skip: tuple[tuple[int, int], ...] = (),
) -> list[Path]:  # fmt: skip
    """Tiles holding classes within `radius_px` of each (lon, lat) point; the tiles of
    `skip` (west, south) are left out, as the product leaves out open ocean."""
    blocks: dict[tuple[int, int], set[tuple[int, int]]] = {}
    steps = np.arange(-radius_px, radius_px + 1, 64)
    for lon, lat in points:
        col, row = round((lon + 180) * 12000), round((90 - lat) * 12000)  # global grid
        for rr in row + steps:
            for cc in col + steps:
                west, north = 3 * (cc // 36000) - 180, 90 - 3 * (rr // 36000)
                if (west, north - 3) not in skip:
                    local = ((rr % 36000) // BLOCK, (cc % 36000) // BLOCK)
                    blocks.setdefault((west, north - 3), set()).add(local)
    return [_write_tile(folder, *tile, sorted(b), seed) for tile, b in sorted(blocks.items())]


def _write_tile(folder: Path, west: int, south: int, blocks, seed: int) -> Path:
    path = folder / _macrotile(west, south) / worldcover.tile_name(west, south)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff", "width": WORLDCOVER_SIDE, "height": WORLDCOVER_SIDE, "count": 1,
        "dtype": "uint8", "crs": "EPSG:4326", "nodata": worldcover.NODATA,
        "transform": from_origin(west, south + 3, 1 / 12000, 1 / 12000), "tiled": True,
        "blockxsize": BLOCK, "blockysize": BLOCK, "compress": "deflate", "sparse_ok": True,
    }  # fmt: skip
    codes = np.array(worldcover.CODES, dtype=np.uint8)
    with rasterio.open(path, "w", **profile) as dst:
        for block_row, block_col in blocks:
            rng = np.random.default_rng([seed, west + 180, south + 90, block_row, block_col])
            # A dominant class per block, patchy detail at 160 m.
            weights = rng.dirichlet(np.full(len(codes), 0.3))
            cells = rng.choice(codes, p=weights, size=(BLOCK // CELL, BLOCK // CELL))
            values = np.repeat(np.repeat(cells, CELL, 0), CELL, 1)
            r0, c0 = block_row * BLOCK, block_col * BLOCK
            h, w = min(BLOCK, WORLDCOVER_SIDE - r0), min(BLOCK, WORLDCOVER_SIDE - c0)
            dst.write(values[:h, :w], 1, window=Window(c0, r0, w, h))
    return path


CORINE_NODATA = -128
CORINE_NODATA_ROW = 48  # GRID_CODE of the legend's NODATA row (CLC_CODE 999)


def write_corine_int8(
    path: Path, left: float, top: float, size: int, *, mapped_cols: int, seed: int = 0
) -> tuple[Path, Path]:
    """A `size` x `size` CLC2018-style raster (100 m, EPSG:3035) whose columns from
    `mapped_cols` on are nodata -128 (beyond the mapped area), with a few cells of the
    legend's NODATA class inside; returns the raster and its product-style legend."""
    rng = np.random.default_rng(seed)
    values = rng.integers(1, len(LEVEL3) + 1, size=(size, size)).astype(np.int8)
    values[:, mapped_cols:] = CORINE_NODATA
    values[: size // 10, : size // 10] = CORINE_NODATA_ROW
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "int8",
        "crs": "EPSG:3035", "transform": from_origin(left, top, 100, 100),
        "nodata": CORINE_NODATA,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    legend = path.with_name("clc_legend.csv")
    rows = ["GRID_CODE,CLC_CODE,LABEL3"]
    for grid_code, code in enumerate(LEVEL3, start=1):
        name = nomenclature.CLC_LEVEL3_NAMES[code].replace('"', "")
        rows.append(f'{grid_code},{code},"{name}"')
    rows.append(f"{CORINE_NODATA_ROW},999,NODATA")
    legend.write_text("\n".join(rows) + "\n")
    return path, legend
