"""Zonal class fractions: ours against `rasterstats` on the same footprints and rasters.

Both apply the same pixel-inclusion rule (see `csmoe.descriptors.zonal`): rasterstats
runs with ``all_touched=False``; for a footprint with no pixel centre inside, it is
asked for the point at the footprint's centre. Fractions are over valid pixels.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import rasterio
import shapely

from csmoe.bench.world import build_world
from csmoe.descriptors import zonal
from csmoe.descriptors.legend import read_legend


def _fractions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros(counts.shape), where=total > 0)


def ours(raster: Path, legend_path: Path, index) -> tuple[np.ndarray, float]:
    legend = read_legend(legend_path)
    start = time.perf_counter()
    quads = zonal.footprint_quads(index, zonal.raster_crs(raster))
    counts = zonal.class_counts(raster, quads, _classes(legend), len(legend.codes)).counts
    return _fractions(counts), time.perf_counter() - start


def _classes(legend) -> dict[int, int]:
    # Legend rows that are not classes (NODATA) are left out, as nodata.
    return {c: i for i, c in enumerate(legend.codes) if legend.symbols[i] != "NODATA"}


def theirs(raster: Path, legend_path: Path, index) -> tuple[np.ndarray, float]:
    from rasterstats import zonal_stats

    legend = read_legend(legend_path)
    classes = _classes(legend)
    start = time.perf_counter()
    with rasterio.open(raster) as src:
        nodata = src.nodata
    quads = zonal.footprint_quads(index, zonal.raster_crs(raster))
    stats = zonal_stats(
        list(shapely.polygons(quads)), str(raster), categorical=True, all_touched=False,
        nodata=nodata,
    )  # fmt: skip
    empty = [i for i, s in enumerate(stats) if sum(s.values()) == 0]
    centres = shapely.points(quads[empty].mean(axis=1))
    for i, s in zip(empty, zonal_stats(list(centres), str(raster), categorical=True,
                                       nodata=nodata), strict=True):  # fmt: skip
        stats[i] = s
    counts = np.zeros((len(index), len(legend.codes)))
    for row, s in enumerate(stats):
        for value, count in s.items():
            if int(value) in classes:
                counts[row, classes[int(value)]] = count
    return _fractions(counts), time.perf_counter() - start


def bench_descriptors(n: int, workdir: Path, seed: int = 0) -> dict:
    world = build_world(workdir)
    rng = np.random.default_rng(seed)
    subset = world.index.iloc[np.sort(rng.choice(len(world.index), n, replace=False))]
    result: dict[str, float | int] = {"footprints": n}
    ours_s = theirs_s = 0.0
    diff = 0.0
    for name, (raster, legend) in (("climate", world.koppen), ("landcover", world.corine)):
        ours_frac, t_ours = ours(raster, legend, subset)
        theirs_frac, t_theirs = theirs(raster, legend, subset)
        result[f"{name}_max_abs_diff"] = float(np.abs(ours_frac - theirs_frac).max())
        result[f"{name}_ours_s"], result[f"{name}_rasterstats_s"] = t_ours, t_theirs
        ours_s, theirs_s, diff = (
            ours_s + t_ours,
            theirs_s + t_theirs,
            max(diff, result[f"{name}_max_abs_diff"]),
        )
        _, result[f"{name}_all_{len(world.index)}_s"] = ours(raster, legend, world.index)
    result |= {"ours_s": ours_s, "rasterstats_s": theirs_s, "speedup": theirs_s / ours_s}
    result["max_abs_diff"] = diff
    return result
