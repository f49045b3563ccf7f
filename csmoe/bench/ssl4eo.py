"""SSL4EO-S12 v1 shards: pairs per second and core read from GeoTIFF folders, beside
BigEarthNet v1.

Both readers are the shard stage's own (`csmoe.data.shards._read` calls them): the
SSL4EO-S12 v1 reader (`ssl4eo_patch.read_ssl4eo_pair`: centre 120 px windows of 264 px
rasters, 20 m and 60 m crops upsampled) and the BigEarthNet one (`patch.read_pair`:
whole 120 px rasters, 20 m bands upsampled), with the ten CSMAE S2 bands and VV, VH,
one process and one torch thread. BigEarthNet pairs are the six real example pairs;
SSL4EO-S12 v1 pairs are six generated scenes written as the archive's download script
writes them (one uncompressed single-band GeoTIFF per band, uint16 S2 at 264 / 132 /
44 px, float32 S1 at 264 px, '+proj=latlong'). Each reader reads `n` pairs, cycling over
its six, after one untimed pass (files in the page cache, as for every pass after the
first on a real archive). Reported:

- ``ssl4eo_v1_pairs_per_s_per_core`` and ``bigearthnet_v1_pairs_per_s_per_core``, and
  ``ssl4eo_vs_bigearthnet`` (their ratio);
- ``ssl4eo_v1_whole_raster_pairs_per_s_per_core``: the same SSL4EO-S12 pairs read as
  whole rasters, then cropped (what the windows save).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.transform import from_origin

from csmoe.data.bands import CSMAE_S2, S1, pixel_factor
from csmoe.data.patch import read_pair, upsample_bicubic
from csmoe.data.ssl4eo_patch import FULL_SIDE, OFFSET, band_file, read_ssl4eo_pair

PAIRS = 6
SSL4EO_BANDS = {"B1": 44, "B2": 264, "B3": 264, "B4": 264, "B5": 132, "B6": 132, "B7": 132,
                "B8": 264, "B8A": 132, "B9": 44, "B11": 132, "B12": 132}  # fmt: skip


def _write_band(path: Path, values: np.ndarray) -> None:
    side = values.shape[0]
    degrees = 0.0237 / side  # 2,640 m in degrees of latitude
    profile = {"driver": "GTiff", "width": side, "height": side, "count": 1,
               "dtype": values.dtype, "crs": "+proj=latlong",
               "transform": from_origin(9.0, 45.5, degrees, degrees)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)


def write_ssl4eo_pairs(root: Path, rng: np.random.Generator) -> list[tuple[Path, Path]]:
    """`PAIRS` (S2 folder, S1 folder) scenes of random pixels."""
    pairs = []
    for i in range(PAIRS):
        s2 = root / "s2a" / f"{i:07d}" / f"20210525T10103{i}_20210525T101223_T32TMR"
        s1 = root / "s1" / f"{i:07d}" / f"S1A_IW_GRDH_1SDV_20210519T05341{i}"
        s2.mkdir(parents=True)
        s1.mkdir(parents=True)
        for band, side in SSL4EO_BANDS.items():
            _write_band(s2 / f"{band}.tif", rng.integers(0, 5000, (side, side), dtype=np.uint16))
        for band in S1:
            _write_band(s1 / f"{band}.tif", rng.normal(-15, 4, (264, 264)).astype(np.float32))
        pairs.append((s2, s1))
    return pairs


def _whole_raster_pair(s2_dir: Path, s1_dir: Path) -> np.ndarray:
    """The same crops from whole-raster reads."""
    bands = []
    for band in CSMAE_S2:
        factor = pixel_factor(band)
        with rasterio.open(s2_dir / band_file(band)) as src:
            values = src.read(1).astype(np.float32)
        start, side = OFFSET // factor, 120 // factor
        crop = values[start : start + side, start : start + side]
        bands.append(crop if factor == 1 else upsample_bicubic(crop[None], factor)[0])
    for band in S1:
        with rasterio.open(s1_dir / band_file(band)) as src:
            bands.append(src.read(1)[OFFSET : FULL_SIDE - OFFSET, OFFSET : FULL_SIDE - OFFSET])
    return np.stack(bands)


def _rate(read, items: list, n: int) -> float:
    """Pairs per second reading `n` items (cycling), after one untimed pass."""
    for item in items:
        read(item)
    start = time.perf_counter()
    for i in range(n):
        read(items[i % len(items)])
    return n / (time.perf_counter() - start)


def _bigearthnet_pairs(folder: Path) -> list[tuple[str, str, str, str]]:
    from csmoe.bigearthnet.examples import extract_examples
    from csmoe.index.bigearthnet_v1 import index_bigearthnet_v1

    s1_root, s2_root = extract_examples(folder)
    frame, _ = index_bigearthnet_v1(s1_root, s2_root, check="header")
    return list(zip(frame["s2_dir"], frame["s2_name"], frame["s1_dir"], frame["s1_name"],
                    strict=True))  # fmt: skip


def bench_ssl4eo(n: int, workdir: Path, seed: int = 0) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            ssl4eo = write_ssl4eo_pairs(Path(tmp) / "ssl4eo", np.random.default_rng(seed))
            bigearthnet = _bigearthnet_pairs(Path(tmp) / "examples")
            rates = {
                "ssl4eo_v1": _rate(lambda p: read_ssl4eo_pair(*p, CSMAE_S2), ssl4eo, n),
                "bigearthnet_v1": _rate(lambda p: read_pair(*p, None, CSMAE_S2), bigearthnet, n),
                "ssl4eo_v1_whole_raster": _rate(lambda p: _whole_raster_pair(*p), ssl4eo, n),
            }
    finally:
        torch.set_num_threads(threads)
    result = {"pairs": n, "distinct_pairs": PAIRS, "s2_bands": list(CSMAE_S2),
              "s1_bands": list(S1), "processes": 1, "torch_threads": 1}  # fmt: skip
    result |= {f"{name}_pairs_per_s_per_core": rate for name, rate in rates.items()}
    result["ssl4eo_vs_bigearthnet"] = rates["ssl4eo_v1"] / rates["bigearthnet_v1"]
    return result
