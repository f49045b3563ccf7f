"""Join climate and land-cover descriptors to an archive index (one GeoParquet)."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from csmoe.atomic import atomic_path
from csmoe.descriptors import landcover, worldcover
from csmoe.descriptors.climate import WATER_SYMBOLS, climate_descriptors
from csmoe.descriptors.legend import read_legend
from csmoe.errors import InputError
from csmoe.parquet import read_table

# Land-cover products: CORINE (Europe, 100 m raster), ESA WorldCover (global, 10 m tiles),
# the patches' own CORINE labels, or none (climate-only strata).
LANDCOVER_SOURCES = ("corine", "worldcover", "labels", "none")
MIN_VALID = 0.5  # default: a patch needs land cover on half its pixels to be described


def build_descriptors(
    index_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    koppen_raster: str | os.PathLike[str],
    koppen_legend: str | os.PathLike[str],
    landcover_source: str = "corine",
    corine_raster: str | os.PathLike[str] | None = None,
    corine_legend: str | os.PathLike[str] | None = None,
    worldcover_tiles: str | os.PathLike[str] | None = None,
    landcover_min_valid: float = MIN_VALID,
    water_symbols: tuple[str, ...] = WATER_SYMBOLS,
    fallback_radius_px: int = 60,
) -> gpd.GeoDataFrame:
    """Compute every descriptor for the index at `index_path`; write and return it.

    A patch whose land cover covers less than `landcover_min_valid` of its pixels
    (outside the product's coverage, or on its nodata) keeps its ``landcover_valid`` share
    but has no land-cover descriptor: fractions 0, dominant classes missing."""
    if landcover_source not in LANDCOVER_SOURCES:
        raise InputError("landcover", f"expected one of {LANDCOVER_SOURCES}")
    if landcover_source == "corine" and (corine_raster is None or corine_legend is None):
        raise InputError("landcover", "source 'corine' needs a CORINE raster and its legend")
    if landcover_source == "worldcover" and worldcover_tiles is None:
        raise InputError("landcover", "source 'worldcover' needs the folder of its tiles")
    if not 0 <= landcover_min_valid <= 1:
        raise InputError(
            "landcover_min_valid", f"expected a share in [0, 1]: {landcover_min_valid}"
        )
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
    if landcover_source != "none":
        parts.append(_landcover(landcover_source, index, index_path, corine_raster,
                                corine_legend, worldcover_tiles, landcover_min_valid))  # fmt: skip
    table = gpd.GeoDataFrame(pd.concat(parts, axis=1), geometry="geometry", crs=index.crs)
    with atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False, compression="zstd", write_covering_bbox=True)
    return table


def _landcover(source, index, index_path, corine_raster, corine_legend, worldcover_tiles,
               min_valid) -> pd.DataFrame:  # fmt: skip
    if source == "corine":
        frame = landcover.from_raster(index, corine_raster, read_legend(corine_legend))
    elif source == "worldcover":
        frame = worldcover.from_tiles(index, worldcover_tiles)
    else:
        frame = landcover.from_labels(index, str(index_path))
    frame = landcover.require_coverage(frame, min_valid)
    frame["landcover_product"] = pd.array([source] * len(frame), dtype="string")
    return frame


def _read(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "index file does not exist")
    return read_table(path, "GeoParquet index", geo=True)
