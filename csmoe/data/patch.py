"""Read one S1/S2 pair from its GeoTIFF folders onto the common 10 m grid."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.errors import RasterioError

from csmoe.data.bands import pixel_factor
from csmoe.data.shard_format import SIDE
from csmoe.errors import InputError
from csmoe.finite import problem_under, repair


@dataclass(frozen=True)
class PairArrays:
    s2: np.ndarray  # (bands, 120, 120) float32, reflectance x 10,000
    s1: np.ndarray  # (2, 120, 120) float32, dB
    reference_map: np.ndarray | None  # (120, 120) uint16 CLC codes


def read_band(path: Path, side: int, non_finite: str = "reject") -> np.ndarray:
    try:
        with rasterio.open(path) as src:
            values = src.read(1)
    except RasterioError as error:
        raise InputError(path, f"unreadable GeoTIFF ({error})") from None
    if values.shape != (side, side):
        raise InputError(path, f"expected shape {(side, side)}, found {values.shape}")
    # No NaN may reach a sample or the band statistics: refused, or (policy repair) filled.
    problem = problem_under(non_finite, values)
    if problem:
        raise InputError(path, problem)
    return repair(values) if non_finite == "repair" else values


def upsample_bicubic(bands: np.ndarray, factor: int) -> np.ndarray:
    """Bicubic resampling (a = -0.75, edge-clamped) of (n, h, w) bands by `factor`."""
    tensor = torch.from_numpy(bands.astype(np.float32))[None]
    out = torch.nn.functional.interpolate(
        tensor, scale_factor=factor, mode="bicubic", align_corners=False
    )
    return out[0].numpy()


def assemble_s2(s2_bands: tuple[str, ...], read) -> np.ndarray:
    """(bands, 120, 120) float32 in the requested order: `read(band, factor)` gives a band
    stored at `factor` x 10 m at its own resolution; coarser bands are resampled once,
    together, to 10 m."""
    s2 = np.empty((len(s2_bands), SIDE, SIDE), dtype=np.float32)
    by_factor: dict[int, list[int]] = {}
    for i, band in enumerate(s2_bands):
        by_factor.setdefault(pixel_factor(band), []).append(i)
    for factor, rows in by_factor.items():
        native = np.stack([read(s2_bands[i], factor) for i in rows])
        s2[rows] = native if factor == 1 else upsample_bicubic(native, factor)
    return s2


def read_pair(
    s2_dir: str, s2_name: str, s1_dir: str, s1_name: str, reference_map: str | None,
    s2_bands: tuple[str, ...], s1_bands: tuple[str, ...] = ("VV", "VH"),
    non_finite: str = "reject",
) -> PairArrays:  # fmt: skip
    """Bands in the requested order; coarser S2 bands resampled once to 10 m."""
    s2 = assemble_s2(
        s2_bands,
        lambda band, factor: read_band(
            Path(s2_dir) / f"{s2_name}_{band}.tif", SIDE // factor
        ),  # fmt: skip
    )
    s1 = np.stack(
        [read_band(Path(s1_dir) / f"{s1_name}_{b}.tif", SIDE, non_finite) for b in s1_bands]
    )
    reference = None
    if reference_map is not None:
        reference = read_band(Path(reference_map), SIDE).astype(np.uint16)
    return PairArrays(s2, s1.astype(np.float32), reference)
