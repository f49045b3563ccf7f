"""Reading training samples: shards vs the GeoTIFF folders, in the same run.

On a synthetic archive in the BigEarthNet v1 layout (files warm in the page cache after
one untimed pass of each reader, one process, one core): the GeoTIFF path opens the 10
CSMAE S2 bands and VV, VH with rasterio, resamples the 20 m bands bicubically and
normalises; the shard path iterates `ShardDataset`
(decode, normalise, flip, buffered shuffle). The same samples are also written as a
WebDataset-style tar of per-sample .npy members and read back, to compare the format.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.numpy import load_file

from csmoe.bench.world import koppen_raster
from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT
from csmoe.data.bands import BIGEARTHNET_STATS, CSMAE_S2, S1
from csmoe.data.loader import ShardDataset
from csmoe.data.patch import read_pair
from csmoe.data.shards import write_shards
from csmoe.index.bigearthnet_v1 import index_bigearthnet_v1
from csmoe.synthetic.archive import REFERENCE_ROOT, generate_archive

PASSES = 3


def _norm(bands) -> tuple[np.ndarray, np.ndarray]:
    mean = np.array([BIGEARTHNET_STATS[b][0] for b in bands], np.float32)[:, None, None]
    std = np.array([BIGEARTHNET_STATS[b][1] for b in bands], np.float32)[:, None, None]
    return mean, 1 / std


def geotiff_rate(manifest: pd.DataFrame) -> float:
    (m2, i2), (m1, i1) = _norm(CSMAE_S2), _norm(S1)
    start = time.perf_counter()
    for row in manifest.itertuples():
        # The same work as ShardDataset: read, resample, normalise.
        pair = read_pair(row.s2_dir, row.s2_name, row.s1_dir, row.s1_name, row.reference_map,
                         CSMAE_S2)  # fmt: skip
        _ = ((pair.s2 - m2) * i2, (pair.s1 - m1) * i1)
    return len(manifest) / (time.perf_counter() - start)


def shard_rate(folder: Path) -> float:
    count, start = 0, time.perf_counter()
    for epoch in range(PASSES):
        data = ShardDataset(folder, seed=0)
        data.set_epoch(epoch)
        count += sum(1 for _ in data)
    return count / (time.perf_counter() - start)


def write_tar(folder: Path, out: Path) -> None:
    """Every sample of the shard folder as <id>.s2.npy / .s1.npy / .labels.npy members."""
    with tarfile.open(out, "w") as tar:
        for shard in sorted(folder.glob("shard-*.safetensors")):
            arrays = load_file(shard)
            for i in range(len(arrays["labels"])):
                for key in ("s2", "s1", "labels"):
                    buffer = io.BytesIO()
                    np.save(buffer, arrays[key][i])
                    member = tarfile.TarInfo(f"{shard.stem}_{i:05d}.{key}.npy")
                    member.size = buffer.tell()
                    buffer.seek(0)
                    tar.addfile(member, buffer)


def tar_rate(path: Path) -> float:
    (m2, i2), (m1, i1) = _norm(CSMAE_S2), _norm(S1)
    count, start = 0, time.perf_counter()
    for _ in range(PASSES):
        with tarfile.open(path, "r") as tar:
            for member in tar:
                array = np.load(io.BytesIO(tar.extractfile(member).read()))
                if member.name.endswith(".s2.npy"):
                    _ = (array.astype(np.float32) - m2) * i2
                    count += 1
                elif member.name.endswith(".s1.npy"):
                    _ = (array.astype(np.float32) - m1) * i1
    return count / (time.perf_counter() - start)


def bench_loader(n: int, workdir: Path, seed: int = 0) -> dict:
    koppen = koppen_raster(workdir)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        archive, _ = generate_archive(n, seed, root / "archive", root / "lc.tif", koppen,
                                      with_examples=False, workers=2)  # fmt: skip
        table, _ = index_bigearthnet_v1(
            archive / S1_ROOT, archive / S2_ROOT,
            reference_root=archive / REFERENCE_ROOT, check="header",
        )  # fmt: skip
        manifest = table.assign(order=np.arange(len(table)))
        manifest_path = root / "manifest.parquet"
        manifest.to_parquet(manifest_path)
        write_shards(manifest_path, root / "shards", shard_size=64, stats="bigearthnet")
        write_tar(root / "shards", root / "samples.tar")
        rates = {}
        for name, measure, source in (
            ("geotiff", geotiff_rate, manifest),
            ("shards", shard_rate, root / "shards"),
            ("tar", tar_rate, root / "samples.tar"),
        ):
            measure(source)  # warm-up: page cache, memory maps, allocator
            rates[name] = measure(source)
        geotiff, shards, tar = rates["geotiff"], rates["shards"], rates["tar"]
        shard_bytes = sum(p.stat().st_size for p in (root / "shards").glob("shard-*"))
    return {
        "samples": n,
        "shard_samples_per_s": shards,
        "geotiff_samples_per_s": geotiff,
        "speedup": shards / geotiff,
        "tar_npy_samples_per_s": tar,
        "shard_mb_per_sample": shard_bytes / n / 1e6,
    }
