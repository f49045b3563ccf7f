"""A CORINE-like land-cover raster around given footprints, shaped by the real climate.

The raster covers the footprints' bounding box in a target CRS (default EPSG:3035, the
CORINE grid, at 100 m); only 1024-pixel blocks that hold a footprint are generated, the
rest stays nodata (a sparse GeoTIFF). Inside a block each 3.2 km cell draws a dominant
class from the prior of its Köppen-Geiger climate (see `priors`), and each 800 m cell
keeps it (probability 0.75) or draws again, giving patchy, spatially structured land
cover: a 1.2 km patch holds about four CORINE classes.

Values follow one of two codings: ``index`` (1..44 in CLC level-3 code order, nodata 128
and a NODATA row 48 in the legend, like the CLC raster product) or ``code`` (the CLC
codes 111..523 themselves, nodata 0).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from csmoe.atomic import atomic_path
from csmoe.descriptors import zonal
from csmoe.descriptors.landcover import LEVEL3
from csmoe.descriptors.legend import Legend, read_legend, write_legend
from csmoe.synthetic import priors

BLOCK = 1024
COARSE, FINE = 32, 8  # pixels per dominant cell and per detail cell
KEEP_DOMINANT = 0.75


def legend_for(coding: str) -> tuple[Legend, int]:
    """The legend and nodata value of a coding."""
    if coding == "index":
        codes = tuple(range(1, len(LEVEL3) + 1)) + (48,)
        return Legend(codes, tuple(str(c) for c in LEVEL3) + ("NODATA",)), 128
    return Legend(tuple(LEVEL3), tuple(str(c) for c in LEVEL3)), 0


class ClimateLookup:
    """Köppen-Geiger symbol at longitude/latitude points (nearest pixel)."""

    def __init__(self, raster: str | os.PathLike[str], legend: Legend) -> None:
        with rasterio.open(raster) as src:
            self.codes = src.read(1)
            self.transform = src.transform
            self.to_raster = pyproj.Transformer.from_crs(4326, src.crs, always_xy=True)
        self.symbol_of = {c: s for c, s in zip(legend.codes, legend.symbols, strict=True)}

    def symbols(self, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
        x, y = self.to_raster.transform(lon, lat)
        t = self.transform
        col = np.clip(((x - t.c) / t.a).astype(int), 0, self.codes.shape[1] - 1)
        row = np.clip(((y - t.f) / t.e).astype(int), 0, self.codes.shape[0] - 1)
        return [self.symbol_of.get(int(v)) for v in self.codes[row, col]]


def _block_classes(
    rng: np.random.Generator, family_index: np.ndarray, cumulative: np.ndarray
) -> np.ndarray:
    """Class indices (BLOCK x BLOCK) from per-coarse-cell climate families."""
    n_coarse = BLOCK // COARSE
    draw = rng.random((n_coarse, n_coarse))
    dominant = (draw[..., None] < cumulative[family_index]).argmax(axis=-1)
    ratio = COARSE // FINE
    fine_family = np.repeat(np.repeat(family_index, ratio, 0), ratio, 1)
    redraw = rng.random(fine_family.shape)
    fresh = (redraw[..., None] < cumulative[fine_family]).argmax(axis=-1)
    keep = rng.random(fine_family.shape) < KEEP_DOMINANT
    fine = np.where(keep, np.repeat(np.repeat(dominant, ratio, 0), ratio, 1), fresh)
    return np.repeat(np.repeat(fine, FINE, 0), FINE, 1)


def write_landcover_raster(
    index: pd.DataFrame,
    koppen_raster: str | os.PathLike[str],
    koppen_legend: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    crs: str = "EPSG:3035",
    resolution: float = 100.0,
    coding: str = "index",
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write the raster and its ``code,symbol`` legend CSV; return both paths."""
    out = Path(out)
    quads = zonal.footprint_quads(index, crs)
    margin = 2 * resolution
    left = np.floor((quads[..., 0].min() - margin) / resolution) * resolution
    top = np.ceil((quads[..., 1].max() + margin) / resolution) * resolution
    width = int(np.ceil((quads[..., 0].max() + margin - left) / resolution))
    height = int(np.ceil((top - quads[..., 1].min() + margin) / resolution))
    transform = from_origin(left, top, resolution, resolution)
    legend, nodata = legend_for(coding)
    value_of_class = np.array(
        [legend.codes[legend.symbols.index(str(c))] for c in LEVEL3],
        dtype=np.uint8 if coding == "index" else np.uint16,
    )
    family_names = list(priors.FAMILY_PRIORS)
    prior, prior_codes = priors.prior_matrix(family_names)
    cumulative = np.cumsum(prior, axis=1)
    class_of_prior = np.array([LEVEL3.index(c) for c in prior_codes])
    climate = ClimateLookup(koppen_raster, read_legend(koppen_legend))
    to_wgs84 = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)

    cols = ((quads[..., 0] - left) / resolution).astype(int)
    rows = ((top - quads[..., 1]) / resolution).astype(int)
    blocks = sorted(
        {(r // BLOCK, c // BLOCK) for r, c in zip(rows.ravel(), cols.ravel(), strict=True)}
    )
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 1,
        "dtype": value_of_class.dtype.name, "crs": crs, "transform": transform,
        "nodata": nodata, "tiled": True, "blockxsize": 512, "blockysize": 512,
        "compress": "deflate", "sparse_ok": True,
    }  # fmt: skip
    legend_path = out.with_name(out.name.removesuffix(".tif") + ".legend.csv")
    with atomic_path(legend_path) as tmp:
        write_legend(legend, tmp)
    with atomic_path(out) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        for block_row, block_col in blocks:
            n = BLOCK // COARSE
            centre = (np.arange(n) + 0.5) * COARSE * resolution
            cx, cy = np.meshgrid(
                left + block_col * BLOCK * resolution + centre,
                top - block_row * BLOCK * resolution - centre,
            )
            lon, lat = to_wgs84.transform(cx.ravel(), cy.ravel())
            fam = [family_names.index(priors.family(s)) for s in climate.symbols(lon, lat)]
            rng = np.random.default_rng([seed, block_row, block_col])
            classes = _block_classes(rng, np.array(fam).reshape(n, n), cumulative)
            values = value_of_class[class_of_prior[classes]]
            r0, c0 = block_row * BLOCK, block_col * BLOCK
            h, w = min(BLOCK, height - r0), min(BLOCK, width - c0)
            dst.write(values[:h, :w], 1, window=Window(c0, r0, w, h))
    return out, legend_path
