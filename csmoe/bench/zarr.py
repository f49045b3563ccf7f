"""SSL4EO-S12 v1.1 shards: the cost per pair when one chunk holds many locations.

One S2 L2A and one S1 GRD zarr zip file of the release's shape (64 locations x 4
timestamps, 12 S2 bands, 264 px) are written twice: with one chunk per location and
timestamp, and with one chunk per timestamp holding all 64 locations (what "the
timestamps are chunked separately" allows). A manifest of `n` random (location,
timestamp) pairs in random order is sharded from each (the default, all 256 pairs of the
file, is what sharding the whole release reads; ``pairs_per_chunk`` says how many pairs
share each decoded chunk, which bounds what reading a chunk once can save):

- ``single_location_s_per_pair`` and ``multi_location_s_per_pair``: `write_shards`
  (a file at a time into the crop cache, then the shards), one process;
- ``per_pair_s_per_pair``: the multi-location file read one pair per selection, as the
  shard stage did before (each pair decodes its whole chunk), over the first
  `PER_PAIR_ROWS` pairs;
- ``multi_vs_single`` (goal <= 1.5) and ``per_pair_vs_single``: ratios of the above.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from csmoe.data.shards import write_shards
from csmoe.data.zarr_patch import CropCache, fill_from_file

LOCATIONS, TIMES, SIDE = 64, 4, 264
PER_PAIR_ROWS = 16
S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
SHARD_BANDS = ("B02", "B03", "B04", "B08", "B05", "B06", "B07", "B11", "B12", "B8A")


def _dataset(s1: bool, rng: np.random.Generator):
    import xarray as xr

    names = ("vv", "vh") if s1 else S2_BANDS
    shape = (LOCATIONS, TIMES, len(names), SIDE, SIDE)
    values = (rng.normal(-15, 4, shape).astype(np.float16) if s1
              else rng.integers(0, 4000, shape).astype(np.int16))  # fmt: skip
    coords = {"sample": [f"{i:07d}" for i in range(LOCATIONS)], "time": np.arange(TIMES),
              "band": list(names)}  # fmt: skip
    return xr.Dataset({"bands": (("sample", "time", "band", "y", "x"), values)}, coords=coords)


def _write(dataset, path: Path, locations_per_chunk: int) -> None:
    folder = path.with_suffix("")
    dataset["bands"].encoding["chunks"] = (locations_per_chunk, 1, dataset.sizes["band"],
                                           SIDE, SIDE)  # fmt: skip
    dataset.to_zarr(folder, zarr_format=2, consolidated=True, mode="w")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    shutil.rmtree(folder)


def _manifest(folder: Path, n: int, rng: np.random.Generator) -> Path:
    picks = rng.permutation(LOCATIONS * TIMES)[:n]
    ids = [f"{p // TIMES:07d}_{p % TIMES}" for p in picks]
    manifest = pd.DataFrame({
        "patch_id": ids, "order": np.arange(n), "s1_name": ids, "s2_name": ids,
        "s1_dir": str(folder / "S1GRD.zarr.zip"), "s2_dir": str(folder / "S2L2A.zarr.zip"),
        "reference_map": None, "multi_hot_19": [np.zeros(19, np.uint8)] * n,
    })  # fmt: skip
    path = folder / "manifest.parquet"
    manifest.to_parquet(path)
    return path


def _seconds_per_pair(manifest: Path, out: Path, n: int) -> float:
    start = time.perf_counter()
    write_shards(manifest, out, shard_size=64, s2_bands=SHARD_BANDS)
    return (time.perf_counter() - start) / n


def _per_pair_reads(manifest: Path, scratch: Path) -> float:
    rows = pd.read_parquet(manifest).head(PER_PAIR_ROWS)
    cache = CropCache.create(scratch, len(rows), SHARD_BANDS)
    start = time.perf_counter()
    for position, row in enumerate(rows.itertuples()):
        fill_from_file(cache, np.array([position]), [row.patch_id], row.s2_dir, row.s1_dir)
    return (time.perf_counter() - start) / len(rows)


def bench_zarr(n: int, workdir: Path, seed: int = 0) -> dict:
    n = min(n, LOCATIONS * TIMES)
    rng = np.random.default_rng(seed)
    datasets = {"S2L2A": _dataset(False, rng), "S1GRD": _dataset(True, rng)}
    result: dict = {"pairs": n, "locations_per_file": LOCATIONS, "timestamps": TIMES,
                    "pairs_per_chunk": n / TIMES}  # fmt: skip
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for layout, per_chunk in (("single_location", 1), ("multi_location", LOCATIONS)):
            folder = Path(tmp) / layout
            folder.mkdir()
            for name, dataset in datasets.items():
                _write(dataset, folder / f"{name}.zarr.zip", per_chunk)
            manifest = _manifest(folder, n, np.random.default_rng(seed))
            result[f"{layout}_s_per_pair"] = _seconds_per_pair(manifest, folder / "shards", n)
        scratch = Path(tmp) / "per_pair"
        scratch.mkdir()
        result["per_pair_s_per_pair"] = _per_pair_reads(manifest, scratch)
    single = result["single_location_s_per_pair"]
    result["multi_vs_single"] = result["multi_location_s_per_pair"] / single
    result["per_pair_vs_single"] = result["per_pair_s_per_pair"] / single
    return result
