"""Read SSL4EO-S12 v1 pairs from their GeoTIFF folders onto the shard grid.

A v1 scene folder holds one single-band GeoTIFF per band, named by the band alone
(``B2.tif`` ... ``B12.tif``, ``B8A.tif``; ``VV.tif``, ``VH.tif``), at 264 px for the 10 m
bands and S1, 132 px for 20 m and 44 px for 60 m: 2,640 m a side (zhu-xlab/SSL4EO-S12,
``src/download_data/ssl4eo_s12_downloader.py``, its crops). Manifest band names
(``B02``, ``B8A``) map to those files (``B2.tif``, ``B8A.tif``).

Shards hold 120 x 120 px at 10 m (1,200 m, a BigEarthNet patch), so a pair is its centre
crop, as for v1.1 (`zarr_patch`): 264 - 120 = 144 px, an offset of 72 px at 10 m, which
is 36 px at 20 m and 12 px at 60 m, so the coarser bands crop exactly on their own grid
(60 x 60 px at 20 m, 20 x 20 px at 60 m) and are then upsampled bicubically by 2 and 6
with `upsample_bicubic`, exactly as `patch.read_pair` resamples BigEarthNet's 20 m and
60 m bands (which are 60 and 20 px). Only the crop is read (a rasterio window).

Bands are aligned by pixel index, as the archive's own readers use them (torchgeo's
``SSL4EOS12`` reads every band resampled to 264 px); the per-band half-pixel shifts of
the files' origins come from how the download script writes them (``save_geotiff``),
and the index allows for them. Sentinel-1 lies on its own grid (sampled from its own
image, checked by the index to lie within 150 m of the S2 footprint): its own centre
120 px. Its values are kept as stored, float32 dB: the script samples Earth Engine's
``COPERNICUS/S1_GRD``, whose catalog entry says the terrain-corrected values "are
converted to decibels via log scaling (10*log10(x))" (torchgeo's ``SSL4EOS12`` links its
``s1`` split to that collection) - the units of BigEarthNet's S1 and of the encoders.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window

from csmoe.data.patch import PairArrays, assemble_s2
from csmoe.data.shard_format import SIDE
from csmoe.errors import InputError
from csmoe.finite import problem_under, repair

FULL_SIDE = 264
OFFSET = (FULL_SIDE - SIDE) // 2  # 72 px at 10 m
# An S2 scene folder as the archive names it: Earth Engine's system:index of the image,
# <sensing time>_<granule time>_T<MGRS tile>.
SCENE_NAME = re.compile(r"^\d{8}T\d{6}_\d{8}T\d{6}_T\d{2}[A-Z]{3}$")


def is_ssl4eo_v1(s2_name: str) -> bool:
    """Whether a manifest row's S2 scene is an SSL4EO-S12 v1 folder (BigEarthNet names
    start with the mission, ``S2A_MSIL2A_...``)."""
    return bool(SCENE_NAME.match(str(s2_name)))


def band_file(band: str) -> str:
    """``B02`` -> ``B2.tif``, ``B8A`` -> ``B8A.tif``, ``VV`` -> ``VV.tif``."""
    if band[0] == "B" and band[1:].isdigit():
        return f"B{int(band[1:])}.tif"
    return f"{band}.tif"


def read_crop(path: Path, factor: int, non_finite: str = "reject") -> np.ndarray:
    """The centre crop of one band stored at `factor` x 10 m, at its own resolution."""
    full, side, offset = FULL_SIDE // factor, SIDE // factor, OFFSET // factor
    if not path.is_file():
        raise InputError(path, "missing band file")
    try:
        with rasterio.open(path) as src:
            if src.count != 1 or src.shape != (full, full):
                raise InputError(path, f"expected 1 band of {(full, full)} px, found "
                                 f"{src.count} of {src.shape}")  # fmt: skip
            values = src.read(1, window=Window(offset, offset, side, side))
    except RasterioError as error:
        raise InputError(path, f"unreadable GeoTIFF ({error})") from None
    problem = problem_under(non_finite, values)
    if problem:
        raise InputError(path, problem)
    return (repair(values) if non_finite == "repair" else values).astype(np.float32)


def read_ssl4eo_pair(
    s2_dir: str, s1_dir: str, s2_bands: tuple[str, ...],
    s1_bands: tuple[str, ...] = ("VV", "VH"), non_finite: str = "reject",
) -> PairArrays:  # fmt: skip
    """The centre 120 px of a pair, S2 bands in the requested order on the 10 m grid."""
    s2 = assemble_s2(
        s2_bands,
        lambda band, factor: read_crop(
            Path(s2_dir) / band_file(band), factor, non_finite
        ),  # fmt: skip
    )
    s1 = np.stack([read_crop(Path(s1_dir) / band_file(b), 1, non_finite) for b in s1_bands])
    return PairArrays(s2, s1, None)
