"""ESA WorldCover descriptors of SSL4EO-S12 footprints: ours against exactextract and
rasterstats on a sample of the same footprints, in the same run.

Footprints are SSL4EO-S12's: 2,640 m squares in the UTM zone of their centre, as the index
writes them, on a lattice at the download script's least distance between locations
(1.5 x its 1,320 m radius). Tiles are written in the product's grid and naming
(`csmoe.descriptors.worldcover`), every block holding patchy land cover (160 m cells),
deflate-compressed. Ours counts pixels whose centre lies in the footprint; exactextract
weights pixels by the share of their area inside (``frac``), rasterstats counts centres
like ours: its fractions must agree exactly, exactextract's up to edge pixels.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.windows import Window

from csmoe.descriptors import worldcover, zonal

SPACING_M = 1.5 * 1320  # the download script's least distance between two locations
SIDE_M = 2640
SOUTH_WEST = (6.0, 42.0)  # the lattice's corner (degrees): tiles N42E006 and beyond
BLOCK = 1024
CELL = 16


def lattice(n: int) -> pd.DataFrame:
    """`n` SSL4EO-S12-like footprints, row by row from the lattice's corner."""
    side = math.ceil(math.sqrt(n))
    lat = SOUTH_WEST[1] + np.arange(side) * SPACING_M / 111_320
    rows = []
    for i in range(n):
        y = lat[i // side]
        lon = SOUTH_WEST[0] + (i % side) * SPACING_M / (111_320 * math.cos(math.radians(y)))
        rows.append((lon, y))
    points = np.array(rows)
    epsg = 32600 + ((points[:, 0] + 180) // 6).astype(int) % 60 + 1
    frame = pd.DataFrame({"patch_id": [f"{i:07d}" for i in range(n)], "utm_epsg": epsg})
    for code in np.unique(epsg):
        at = epsg == code
        x, y = pyproj.Transformer.from_crs(4326, int(code), always_xy=True).transform(
            points[at, 0], points[at, 1]
        )
        frame.loc[at, "utm_ulx"], frame.loc[at, "utm_uly"] = x - SIDE_M / 2, y + SIDE_M / 2
        frame.loc[at, "utm_lrx"], frame.loc[at, "utm_lry"] = x + SIDE_M / 2, y - SIDE_M / 2
    return frame


def write_tiles(index: pd.DataFrame, folder: Path, seed: int) -> list[Path]:
    """Full tiles (36,000 px a side) over every tile the footprints touch."""
    quads = zonal.footprint_quads(index, "EPSG:4326")
    west = np.floor(quads[..., 0] / 3).astype(int) * 3
    south = np.floor(quads[..., 1] / 3).astype(int) * 3
    tiles = sorted({(int(w), int(s)) for w, s in zip(west.ravel(), south.ravel(), strict=True)})
    codes = np.array(worldcover.CODES, dtype=np.uint8)
    paths = []
    for w, s in tiles:
        path = folder / worldcover.tile_name(w, s)
        paths.append(path)
        if path.is_file():  # same grid, same seed: the same file
            continue
        rng = np.random.default_rng([seed, w + 180, s + 90])
        cells = rng.choice(codes, p=rng.dirichlet(np.ones(len(codes))), size=(288, 288))
        pattern = np.repeat(np.repeat(cells, CELL, 0), CELL, 1)  # 4,608 px, tiled below
        profile = {
            "driver": "GTiff", "width": 36000, "height": 36000, "count": 1, "dtype": "uint8",
            "crs": "EPSG:4326", "transform": from_origin(w, s + 3, 1 / 12000, 1 / 12000),
            "nodata": 0, "tiled": True, "blockxsize": BLOCK, "blockysize": BLOCK,
            "compress": "deflate", "zlevel": 1,
        }  # fmt: skip
        tmp = path.with_suffix(".partial.tif")
        with rasterio.open(tmp, "w", **profile) as dst:
            for r in range(0, 36000, BLOCK):
                for c in range(0, 36000, BLOCK):
                    h, wd = min(BLOCK, 36000 - r), min(BLOCK, 36000 - c)
                    block = np.roll(pattern, (-(r % 4608), -(c % 4608)), (0, 1))[:h, :wd]
                    dst.write(block, 1, window=Window(c, r, wd, h))
        tmp.rename(path)
    return paths


def square_sample(n: int, size: int) -> np.ndarray:
    """Positions of a `size`-footprint square of neighbours in the lattice of `n`."""
    side, k = math.ceil(math.sqrt(n)), max(1, math.isqrt(min(size, n)))
    rows, cols = np.divmod(np.arange(n), side)
    return np.flatnonzero((rows < k) & (cols < k))


def exactextract_fractions(index: pd.DataFrame, tiles: Path) -> tuple[np.ndarray, float]:
    import geopandas as gpd
    from exactextract import exact_extract

    vrt = tiles / "mosaic.vrt"
    vrt.write_text(worldcover.mosaic_vrt(worldcover.find_tiles(tiles)))
    polygons = gpd.GeoDataFrame(
        geometry=shapely.polygons(zonal.footprint_quads(index, "EPSG:4326")), crs=4326
    )
    start = time.perf_counter()
    stats = exact_extract(str(vrt), polygons, ["unique", "frac"], output="pandas")
    seconds = time.perf_counter() - start
    fractions = np.zeros((len(index), len(worldcover.CODES)))
    for row, (values, shares) in enumerate(zip(stats["unique"], stats["frac"], strict=True)):
        for value, share in zip(values, shares, strict=True):
            if int(value) in worldcover.CODES:
                fractions[row, worldcover.CODES.index(int(value))] = share
    return fractions, seconds


def rasterstats_fractions(index: pd.DataFrame, tiles: Path) -> tuple[np.ndarray, float]:
    from rasterstats import zonal_stats

    polygons = list(shapely.polygons(zonal.footprint_quads(index, "EPSG:4326")))
    start = time.perf_counter()
    counts = np.zeros((len(index), len(worldcover.CODES)))
    for tile in worldcover.find_tiles(tiles):
        for row, found in enumerate(zonal_stats(polygons, str(tile.path), categorical=True,
                                                nodata=0)):  # fmt: skip
            for value, count in found.items():
                counts[row, worldcover.CODES.index(int(value))] += count
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0), (
        time.perf_counter() - start
    )


def bench_worldcover(n: int, workdir: Path, seed: int = 0, sample: int = 1000) -> dict:
    index = lattice(n)
    tiles_dir = workdir / "worldcover"
    tiles_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    write_tiles(index, tiles_dir, seed)
    written = time.perf_counter() - start
    # The sample: a square of neighbouring footprints (as dense as the whole run, so that
    # both share decoded blocks alike), measured first (its blocks then stay cached for us).
    picked = square_sample(n, sample)
    subset = index.iloc[picked].reset_index(drop=True)
    exact, exact_s = exactextract_fractions(subset, tiles_dir)
    stats, stats_s = rasterstats_fractions(subset[: max(1, len(subset) // 10)], tiles_dir)
    start = time.perf_counter()
    ours = worldcover.from_tiles(index, tiles_dir)
    ours_s = time.perf_counter() - start
    ours_subset = ours[worldcover.COLUMNS].to_numpy()[picked]
    per = {"ours": ours_s / n, "exactextract": exact_s / len(subset),
           "rasterstats": stats_s / max(1, len(subset) // 10)}  # fmt: skip
    return {
        "footprints": n,
        "tiles_touched": worldcover.tiles_touched(index),
        "tiles_written_s": round(written, 1),
        "ours_s": round(ours_s, 2),
        "ours_ms_per_footprint": 1e3 * per["ours"],
        "exactextract_sample": len(subset),
        "exactextract_ms_per_footprint": 1e3 * per["exactextract"],
        "rasterstats_sample": max(1, len(subset) // 10),
        "rasterstats_ms_per_footprint": 1e3 * per["rasterstats"],
        "speedup_vs_exactextract": per["exactextract"] / per["ours"],
        "speedup_vs_rasterstats": per["rasterstats"] / per["ours"],
        "max_abs_diff_rasterstats": float(np.abs(ours_subset[: len(stats)] - stats).max()),
        "max_abs_diff_exactextract": float(np.abs(ours_subset - exact).max()),
        "mean_landcover_valid": float(ours["landcover_valid"].mean()),
    }
