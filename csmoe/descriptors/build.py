"""Join climate and land-cover descriptors to an archive index (one GeoParquet)."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from csmoe.atomic import atomic_path
from csmoe.descriptors import landcover
from csmoe.descriptors.climate import WATER_SYMBOLS, climate_descriptors
from csmoe.descriptors.legend import read_legend
from csmoe.errors import InputError
from csmoe.parquet import read_table

LANDCOVER_SOURCES = ("raster", "labels", "none")


def build_descriptors(
    index_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    koppen_raster: str | os.PathLike[str],
    koppen_legend: str | os.PathLike[str],
    landcover_source: str = "raster",
    corine_raster: str | os.PathLike[str] | None = None,
    corine_legend: str | os.PathLike[str] | None = None,
    water_symbols: tuple[str, ...] = WATER_SYMBOLS,
    fallback_radius_px: int = 60,
) -> gpd.GeoDataFrame:
    """Compute every descriptor for the index at `index_path`; write and return it."""
    if landcover_source not in LANDCOVER_SOURCES:
        raise InputError("landcover", f"expected one of {LANDCOVER_SOURCES}")
    if landcover_source == "raster" and (corine_raster is None or corine_legend is None):
        raise InputError("landcover", "source 'raster' needs a CORINE raster and its legend")
    index = _read(index_path)
    koppen = read_legend(koppen_legend)
    missing = [s for s in water_symbols if s not in koppen.symbols]
    if missing:
        raise InputError(koppen_legend, f"legend has no water class {missing[0]!r}")
    parts = [
        index,
        climate_descriptors(
            index, koppen_raster, koppen, water_symbols=water_symbols,
            fallback_radius_px=fallback_radius_px,
        ),
    ]  # fmt: skip
    if landcover_source == "raster":
        parts.append(landcover.from_raster(index, corine_raster, read_legend(corine_legend)))
    elif landcover_source == "labels":
        parts.append(landcover.from_labels(index, str(index_path)))
    table = gpd.GeoDataFrame(pd.concat(parts, axis=1), geometry="geometry", crs=index.crs)
    with atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False, compression="zstd", write_covering_bbox=True)
    return table


def _read(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "index file does not exist")
    return read_table(path, "GeoParquet index", geo=True)
