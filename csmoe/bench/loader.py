"""Reading training samples: the shard readers vs other formats, in the same run.

On a synthetic archive in the BigEarthNet v1 layout (files warm in the page cache after
one untimed pass of each reader, one process, one core, one torch thread as in a
DataLoader worker):

- the pretraining reader (`GlobalBatches`, batches of `PRETRAIN_BATCH` pairs) as GPU
  runs use it (stored rows and flip flags, prepared on the device) and as CPU runs use
  it (prepared into float32 in the reader), against the reader before it (NumPy
  normalisation and per-sample flips in the reader) and against an in-memory floor: the
  same rows gathered from arrays in memory and cast into float32, no file access;
- the sequential reader (`ShardDataset`: decode, normalise, flip, buffered shuffle), the
  GeoTIFF folders (rasterio, the 10 CSMAE S2 bands and VV, VH, 20 m bands resampled
  bicubically, normalised) and a WebDataset-style tar of per-sample .npy members.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.numpy import load_file

from csmoe.bench.world import koppen_raster
from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT
from csmoe.data.bands import BIGEARTHNET_STATS, CSMAE_S2, S1
from csmoe.data.loader import ShardDataset
from csmoe.data.patch import read_pair
from csmoe.data.shard_format import SENSORS, normalise
from csmoe.data.shards import write_shards
from csmoe.index.bigearthnet_v1 import index_bigearthnet_v1
from csmoe.synthetic.archive import REFERENCE_ROOT, generate_archive
from csmoe.training.batches import GlobalBatches

PASSES = 3
PRETRAIN_BATCH = 128
PRETRAIN_STEPS = 16


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


def _pretraining_reader(folder: Path, prepare_in_reader: bool) -> GlobalBatches:
    return GlobalBatches(folder, batch_size=PRETRAIN_BATCH, seed=0, start_step=0,
                         steps=PRETRAIN_STEPS, prepare_in_reader=prepare_in_reader)  # fmt: skip


def _rate(batch_of_step) -> float:
    start = time.perf_counter()
    for step in range(PRETRAIN_STEPS):
        batch_of_step(step)
    return PRETRAIN_STEPS * PRETRAIN_BATCH / (time.perf_counter() - start)


def _previous_batch(data: GlobalBatches, step: int) -> dict[str, np.ndarray]:
    """The pretraining reader before inputs were prepared on the device: NumPy
    normalisation into float32 and a flip per sample, all in the reader."""
    positions = data.positions(step)
    images = {s: normalise(data.read(positions, s), data.preparer.norm[s]) for s in SENSORS}
    for i, (horizontal, vertical) in enumerate(data.flip_flags(step)):
        for s in images:
            if horizontal:
                images[s][i] = images[s][i, :, :, ::-1]
            if vertical:
                images[s][i] = images[s][i, :, ::-1, :]
    return images


def pretraining_rates(folder: Path) -> dict[str, float]:
    """Samples per second of each way to produce the pretraining batches of
    PRETRAIN_STEPS steps (a second pass of each, after a warm-up pass)."""
    stored, prepared = (_pretraining_reader(folder, flag) for flag in (False, True))
    arrays = [load_file(p) for p in sorted(folder.glob("shard-*.safetensors"))]
    in_memory = {s: np.concatenate([a[s] for a in arrays]) for s in SENSORS}

    def floor(step: int) -> dict[str, np.ndarray]:
        positions = stored.positions(step)
        return {s: in_memory[s][positions].astype(np.float32) for s in SENSORS}

    ways = {
        "stored_rows": stored.batch,
        "prepared": prepared.batch,
        "previous": lambda step: _previous_batch(prepared, step),
        "in_memory_float32": floor,
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a DataLoader worker
    try:
        rates = {}
        for name, way in ways.items():
            _rate(way)  # warm-up
            rates[name] = _rate(way)
    finally:
        torch.set_num_threads(threads)
    return rates


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
        pretraining = pretraining_rates(root / "shards")
    floor = pretraining["in_memory_float32"]
    return {
        "samples": n,
        "pretraining_reader": {
            "batch": PRETRAIN_BATCH,
            "steps": PRETRAIN_STEPS,
            "samples_per_s": {k: round(v, 1) for k, v in pretraining.items()},
            "stored_rows_vs_in_memory_float32": pretraining["stored_rows"] / floor,
            "prepared_vs_in_memory_float32": pretraining["prepared"] / floor,
            "stored_rows_vs_previous": pretraining["stored_rows"] / pretraining["previous"],
            "prepared_vs_previous": pretraining["prepared"] / pretraining["previous"],
        },
        "shard_samples_per_s": shards,
        "geotiff_samples_per_s": geotiff,
        "speedup": shards / geotiff,
        "tar_npy_samples_per_s": tar,
        "shard_mb_per_sample": shard_bytes / n / 1e6,
    }
