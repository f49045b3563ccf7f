"""Checks of one band GeoTIFF: present, decodable, expected shape and data type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioError

from csmoe.index.patches import PatchProblem

CHECK_LEVELS = ("full", "header")


@dataclass(frozen=True)
class BandInfo:
    epsg: int | None
    bounds: tuple[float, float, float, float]  # left, bottom, right, top
    shape: tuple[int, int]


def check_band(
    path: Path,
    *,
    shape: tuple[int, int] | None,
    dtype: str | None,
    check: str = "full",
) -> BandInfo:
    """Open one single-band GeoTIFF and verify it; `check="full"` also decodes the pixels.

    Decoding is what catches a truncated file: its header can still be intact.
    """
    if not path.is_file():
        raise PatchProblem(path, "missing band file")
    try:
        with rasterio.open(path) as src:
            info = BandInfo(
                epsg=src.crs.to_epsg() if src.crs else None,
                bounds=tuple(src.bounds),
                shape=src.shape,
            )
            if src.count != 1:
                raise PatchProblem(path, f"expected 1 band, found {src.count}")
            if dtype is not None and src.dtypes[0] != dtype:
                raise PatchProblem(path, f"expected data type {dtype}, found {src.dtypes[0]}")
            if shape is not None and src.shape != shape:
                raise PatchProblem(path, f"expected shape {shape}, found {src.shape}")
            if check == "full":
                pixels = src.read(1)
                if np.issubdtype(pixels.dtype, np.floating) and np.isnan(pixels).all():
                    raise PatchProblem(path, "all pixels are NaN")
    except RasterioError as error:
        raise PatchProblem(path, f"unreadable GeoTIFF ({error})") from None
    return info


def check_bounds(
    path: Path, info: BandInfo, expected: tuple[float, float, float, float], tolerance: float = 1.0
) -> None:
    """The band's georeferencing must match the metadata's corner coordinates."""
    if max(abs(a - b) for a, b in zip(info.bounds, expected, strict=True)) > tolerance:
        raise PatchProblem(
            path, f"raster bounds {info.bounds} disagree with the metadata coordinates {expected}"
        )
