"""Checks of one band GeoTIFF: present, decodable, expected shape and data type, finite."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import rasterio
from rasterio.errors import RasterioError

from csmoe.finite import count_non_finite, problem_under
from csmoe.index.patches import PatchProblem

CHECK_LEVELS = ("full", "header")


@dataclass(frozen=True)
class BandInfo:
    epsg: int | None  # None also for a CRS without an EPSG code
    has_crs: bool
    bounds: tuple[float, float, float, float]  # left, bottom, right, top
    shape: tuple[int, int]
    non_finite: int = 0  # NaN or infinite pixels found (check "full", policy "repair")


def check_band(
    path: Path,
    *,
    shape: tuple[int, int] | None,
    dtype: str | None,
    check: str = "full",
    non_finite: str = "reject",
) -> BandInfo:
    """Open one single-band GeoTIFF and verify it; `check="full"` also decodes the pixels
    and applies the `non_finite` policy (`csmoe.finite`).

    Decoding is what catches a truncated file: its header can still be intact.
    """
    if not path.is_file():
        raise PatchProblem(path, "missing band file")
    try:
        with rasterio.open(path) as src:
            info = BandInfo(
                epsg=src.crs.to_epsg() if src.crs else None,
                has_crs=bool(src.crs),
                bounds=tuple(src.bounds),
                shape=src.shape,
            )
            if src.count != 1:
                raise PatchProblem(path, f"expected 1 band, found {src.count}")
            if dtype is not None and src.dtypes[0] != dtype:
                raise PatchProblem(path, f"expected data type {dtype}, found {src.dtypes[0]}")
            if shape is not None and src.shape != shape:
                raise PatchProblem(path, f"expected shape {shape}, found {src.shape}")
            left, bottom, right, top = info.bounds
            if not all(math.isfinite(v) for v in info.bounds) or not (
                left < right and bottom < top
            ):
                raise PatchProblem(path, f"georeferencing gives no footprint {info.bounds}")
            if check == "full":
                pixels = src.read(1)
                problem = problem_under(non_finite, pixels)
                if problem:
                    raise PatchProblem(path, problem)
                info = dataclasses.replace(info, non_finite=count_non_finite(pixels))
    except RasterioError as error:
        raise PatchProblem(path, f"unreadable GeoTIFF ({error})") from None
    return info


def check_bounds(
    path: Path,
    info: BandInfo,
    expected: tuple[float, float, float, float],
    source: str = "the metadata coordinates",
    tolerance: float = 1.0,
) -> None:
    """The band's bounds must match `expected` (taken from `source`) within `tolerance`
    CRS units."""
    if max(abs(a - b) for a, b in zip(info.bounds, expected, strict=True)) > tolerance:
        raise PatchProblem(path, f"raster bounds {info.bounds} disagree with {source} {expected}")


def check_same_grid(
    path: Path, info: BandInfo, first: Path, first_info: BandInfo, tolerance: float = 1.0
) -> None:
    """Every band of a pair is georeferenced, in the CRS and on the footprint (within
    `tolerance` CRS units) of the pair's `first` band."""
    if not info.has_crs:
        raise PatchProblem(path, "raster has no CRS")
    if info.epsg != first_info.epsg:
        raise PatchProblem(
            path, f"CRS EPSG:{info.epsg} differs from EPSG:{first_info.epsg} of {first.name}"
        )
    check_bounds(path, info, first_info.bounds, f"those of {first.name}", tolerance)
