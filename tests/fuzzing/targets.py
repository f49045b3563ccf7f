"""The readers under fuzz: one `Target` per input format, each with a valid seed input,
the files a mutation may hit, the stage that reads them, and the checks of what the
stage accepts.

Contract (README, "What the stages refuse"): a stage given a mutated input either
succeeds with valid output (`check` below: finite numbers where numbers are expected,
label vectors of 19 values of 0 or 1, band lists consistent with their statistics), or
raises `InputError` naming the file and the problem in one line, leaving no output.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fuzzing import mutations as m


class Wrong(Exception):
    """A stage accepted a mutated input and produced output that breaks the contract."""


@dataclass(frozen=True)
class Target:
    name: str
    seed: Callable[[Path], None]  # writes the valid input into a folder
    files: Callable[[Path], list[Path]]  # the files a mutation may hit
    mutate: Callable[[random.Random, Path, Path], str]  # (rng, file, input folder)
    run: Callable[[Path, Path, int], object]  # (input folder, output folder, workers)
    check: Callable[[object, Path], None]  # (what run returned, output folder)
    uses_workers: bool = False  # fuzzed with the workflow's default worker count too


def by_suffix(rng: random.Random, path: Path, root: Path) -> str:
    """The mutation that knows the file's format (bytes for anything else)."""
    name = path.name
    if name.endswith(".json"):
        return m.mutate_json_file(rng, path)
    if name.endswith((".yaml", ".yml")):
        return m.mutate_yaml_file(rng, path)
    if name.endswith(".parquet"):
        return m.mutate_parquet_file(rng, path)
    if name.endswith(".tif"):
        return m.mutate_tiff_file(rng, path)
    if name.endswith(".safetensors"):
        return m.mutate_safetensors_file(rng, path)
    if name.endswith(".hdf5"):
        return m.mutate_hdf5_file(rng, path, root.parent / "outside.hdf5")
    if name.endswith(".zarr.zip"):
        return m.mutate_zarr_zip_file(rng, path)
    return m.mutate_file_bytes(rng, path)


# ------------------------------------------------------------------------- checks
def _finite(values, what: str) -> None:
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise Wrong(f"{what} holds NaN or infinite values")


def check_index(out_path: Path) -> None:
    """An index: at least one row, finite UTM squares of positive size, valid
    footprints, 19 labels of 0 or 1, no patch twice."""
    from csmoe.index.table import read_index

    index = read_index(out_path)
    if index.empty or not index["patch_id"].is_unique:
        raise Wrong("empty index or a patch twice")
    squares = index[["utm_ulx", "utm_uly", "utm_lrx", "utm_lry"]].to_numpy(dtype=np.float64)
    _finite(squares, "UTM corners")
    if not ((squares[:, 2] > squares[:, 0]) & (squares[:, 1] > squares[:, 3])).all():
        raise Wrong("a UTM square without area")
    if not index.geometry.is_valid.all() or index.geometry.is_empty.any():
        raise Wrong("an invalid footprint")
    bounds = index.geometry.bounds.to_numpy()
    _finite(bounds, "footprints")
    if (np.abs(bounds[:, [1, 3]]) > 90).any() or (np.abs(bounds[:, [0, 2]]) > 180).any():
        raise Wrong("a footprint off the globe")
    for labels in index["multi_hot_19"]:
        if labels is not None and (len(labels) != 19 or not np.isin(labels, (0, 1)).all()):
            raise Wrong("labels that are not 19 values of 0 or 1")
    shares = index[["cloud_share", "nodata_share"]].to_numpy(dtype=np.float64)
    known = shares[~np.isnan(shares)]
    if ((known < 0) | (known > 1)).any():
        raise Wrong("a share outside 0..1")


def check_shard_folder(folder: Path) -> None:
    """Shards that verify, with finite S1 and labels of 0 or 1 in every sample."""
    from csmoe.data.loader import ShardDataset
    from csmoe.data.shards import verify_shards

    count = verify_shards(folder)
    samples = list(ShardDataset(folder, shuffle=False, flips=False))
    if len(samples) != count:
        raise Wrong(f"{len(samples)} samples read of {count}")
    for sample in samples:
        _finite(sample["s1"].numpy(), "S1")
        _finite(sample["s2"].numpy(), "S2")
        if not np.isin(sample["labels"].numpy(), (0, 1)).all():
            raise Wrong("labels other than 0 or 1")


# --------------------------------------------------------------- BigEarthNet v1
def _examples(folder: Path) -> tuple[Path, Path]:
    from csmoe.bigearthnet.examples import extract_examples

    return extract_examples(folder)


def seed_v1(root: Path) -> None:
    _examples(root)


def v1_roots(root: Path) -> tuple[Path, Path]:
    from csmoe.bigearthnet.examples import S1_ROOT, S2_ROOT

    return root / S1_ROOT, root / S2_ROOT


def run_v1(root: Path, out: Path, workers: int) -> Path:
    from csmoe.index import build_index

    s1, s2 = v1_roots(root)
    build_index("bigearthnet-v1", out / "index.parquet", s1_root=s1, s2_root=s2,
                workers=workers)  # fmt: skip
    return out / "index.parquet"


# --------------------------------------------------------------- BigEarthNet v2
def seed_v2(root: Path) -> None:
    from archives import write_v2_archive

    examples = root.parent.parent / "aux" / "examples-for-v2"
    if not examples.exists():
        _examples(examples)
    root.mkdir(parents=True, exist_ok=True)
    write_v2_archive(examples, root)


def run_v2(root: Path, out: Path, workers: int) -> Path:
    from csmoe.index import build_index

    build_index("bigearthnet-v2", out / "index.parquet", root=root, workers=workers)
    return out / "index.parquet"


def v2_files(root: Path) -> list[Path]:
    files = sorted(root.glob("*.parquet"))
    return files * 8 + sorted(root.rglob("*.tif"))  # the tables more often


# --------------------------------------------------------------------- SSL4EO-S12
def seed_ssl4eo(root: Path) -> None:
    from archives import write_ssl4eo_archive

    write_ssl4eo_archive(root)


def run_ssl4eo(root: Path, out: Path, workers: int) -> Path:
    from csmoe.index import build_index

    build_index("ssl4eo-s12", out / "index.parquet", root=root, workers=workers)
    return out / "index.parquet"


def seed_v11(root: Path) -> None:
    from archives import write_ssl4eo_v11_archive

    write_ssl4eo_v11_archive(root)


def run_v11(root: Path, out: Path, workers: int) -> tuple[Path, Path]:
    """Index, then shard every train pair (the shard stage reads the bands too); the
    index, output of the first stage, lies beside `out`."""
    import pandas as pd

    from csmoe.data.shards import write_shards
    from csmoe.index import build_index

    index = out.parent / "index-stage" / "index.parquet"
    build_index("ssl4eo-s12-v1.1", index, root=root, workers=workers)
    table = pd.read_parquet(index)
    train = table[table["split"] == "train"]
    if train.empty:
        return index, None
    manifest = index.with_name("manifest.parquet")
    train.assign(order=np.arange(len(train))).to_parquet(manifest)
    write_shards(manifest, out / "shards", shard_size=3,
                 s2_bands=("B02", "B8A", "B11"), workers=workers)  # fmt: skip
    return index, out / "shards"


def check_v11(result, out: Path) -> None:
    index, shards = result
    check_index(index)
    if shards is not None:
        check_shard_folder(shards)


# ------------------------------------------------------------------- GEO-Bench
def seed_geobench(root: Path) -> None:
    from geobench_archive import write_classification_task, write_segmentation_task

    write_classification_task(root, n=8)
    write_segmentation_task(root, n=8)
    outside = root.parent / "outside.hdf5"
    import h5py

    with h5py.File(outside, "w") as h5:
        h5["data"] = np.full((16, 16), 1234, np.int16)


def geobench_samples(root: Path) -> list[Path]:
    return sorted(root.rglob("*.hdf5"))


def geobench_json(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json") if not p.is_symlink())


def mutate_pickle(rng: random.Random, path: Path, root: Path) -> str:
    import h5py

    with h5py.File(path, "a") as h5:
        if "pickle" not in h5.attrs:
            return "no pickle attribute"
        h5.attrs["pickle"] = m.mutate_pickle_literal(rng, h5.attrs["pickle"])
    return "pickle attribute"


def run_geobench(root: Path, out: Path, workers: int) -> list:
    """Every sample of every split of both tasks, as the evaluation reads them (through
    the guarded reader, with a shorter time limit)."""
    from csmoe.geobench.guarded import GuardedTaskReader
    from csmoe.geobench.reader import TaskFolder
    from csmoe.geobench.tasks import TASKS

    samples = []
    for name in ("m-eurosat", "m-SA-crop-type"):
        task = TASKS[name]
        splits = TaskFolder(root, task).partition()
        with GuardedTaskReader(root, task, timeout=GEOBENCH_TIMEOUT) as reader:
            samples += [(task, reader.read(i)) for ids in splits.values() for i in ids]
    return samples


GEOBENCH_TIMEOUT = 15.0  # seconds per sample (a healthy one takes milliseconds)


def check_geobench(samples: list, out: Path) -> None:
    for task, sample in samples:
        shapes = {v.shape for v in sample.s2.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise Wrong(f"{sample.sample_id}: bands of different shapes {shapes}")
        for band, values in sample.s2.items():
            if values.dtype != np.float32:
                raise Wrong(f"{sample.sample_id} {band}: dtype {values.dtype}")
            _finite(values, f"{sample.sample_id} {band}")
        label = sample.label
        if not isinstance(label, np.ndarray) or label.dtype != np.int64:
            raise Wrong(f"{sample.sample_id}: label of type {type(label).__name__}")
        if (label < 0).any() or (label >= task.classes).any():
            raise Wrong(f"{sample.sample_id}: class outside the task")
        if task.kind == "segmentation" and label.shape != next(iter(shapes)):
            raise Wrong(f"{sample.sample_id}: label map of another shape than the bands")


# ------------------------------------------------------------------------ shards
def seed_shards(root: Path) -> None:
    """Shards of the six real example pairs (6 samples, shards of 4)."""
    from csmoe.data.shards import write_shards
    from csmoe.index import build_index
    from csmoe.index.table import read_index

    work = root.parent.parent / "aux" / f"shard-seed-{root.name}"
    s1, s2 = _examples(work / "archive")
    build_index("bigearthnet-v1", work / "index.parquet", s1_root=s1, s2_root=s2)
    table = read_index(work / "index.parquet")
    table.assign(order=np.arange(len(table))).to_parquet(work / "manifest.parquet")
    write_shards(work / "manifest.parquet", root, shard_size=4)
    for file in root.iterdir():
        file.chmod(0o644)


def shard_files(root: Path) -> list[Path]:
    return sorted(root.glob("*.safetensors")) * 3 + [root / "index.json", root / "stats.json"]


def run_pretraining_reader(root: Path, out: Path, workers: int) -> list:
    """What pretraining reads: every global batch of one epoch."""
    from csmoe.training.batches import GlobalBatches

    batches = GlobalBatches(root, batch_size=2, seed=0, start_step=0, steps=3)
    read = []
    for batch in batches:
        if "error" in batch:
            from csmoe.errors import InputError

            raise InputError(*batch["error"])
        read.append(batch)
    return [read, batches.index, batches.stats]


def check_pretraining_batches(result, out: Path) -> None:
    batches, index, stats = result
    if len(batches) != 3:
        raise Wrong(f"{len(batches)} batches of 3")
    for batch in batches:
        for sensor in ("s1", "s2"):
            values = batch[sensor].numpy()
            bands = len(index[f"{sensor}_bands"])
            if values.shape != (2, bands, 120, 120):
                raise Wrong(f"{sensor} batch of shape {values.shape}")
            _finite(values, sensor)
    if any(b not in stats for b in index["s2_bands"] + index["s1_bands"]):
        raise Wrong("bands without statistics")


# --------------------------------------------------------------------- manifests
def seed_manifest(root: Path) -> None:
    from csmoe.index import build_index
    from csmoe.index.table import read_index

    s1, s2 = _examples(root / "archive")
    build_index("bigearthnet-v1", root / "index.parquet", s1_root=s1, s2_root=s2)
    table = read_index(root / "index.parquet")
    table.assign(order=np.arange(len(table))[::-1]).to_parquet(root / "manifest.parquet")
    (root / "index.parquet").unlink()


def run_manifest(root: Path, out: Path, workers: int) -> Path:
    from csmoe.data.shards import write_shards

    write_shards(root / "manifest.parquet", out / "shards", shard_size=4, workers=workers)
    return out / "shards"


# ----------------------------------------------------------------------- encoders
def seed_encoder(root: Path) -> None:
    from conftest import export_tiny_encoder

    shards = root.parent.parent / "aux" / "encoder-shards"
    seed_shards(shards)
    export_tiny_encoder(shards, root / "encoder.safetensors")


def run_encoder(root: Path, out: Path, workers: int):
    import torch

    from csmoe.models import load_encoder

    encoder = load_encoder(root / "encoder.safetensors")
    side = encoder.img_size
    outputs = {}
    with torch.no_grad():
        for sensor in ("s1", "s2"):
            channels = encoder.patch_embed[sensor].proj.in_channels
            x = torch.randn(2, channels, side, side, generator=torch.Generator().manual_seed(0))
            outputs[sensor] = encoder.embedding(x, sensor)
    return encoder, outputs


def check_encoder(result, out: Path) -> None:
    encoder, outputs = result
    for sensor, embedding in outputs.items():
        if embedding.shape != (2, encoder.embed_dim):
            raise Wrong(f"{sensor} embedding of shape {tuple(embedding.shape)}")
        _finite(embedding.numpy(), f"{sensor} embedding")
    norm = encoder.description["input"]["normalisation"]
    for sensor in ("s1", "s2"):
        if not all(math.isfinite(v) for v in norm[sensor]["mean"] + norm[sensor]["std"]):
            raise Wrong("non-finite normalisation")


# -------------------------------------------------------------------------- config
def seed_config(root: Path) -> None:
    from runner import REPO

    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config" / "config.yaml", root / "config.yaml")


def run_config(root: Path, out: Path, workers: int) -> dict:
    from csmoe import config

    return config.load(root / "config.yaml")


def check_config(loaded: dict, out: Path) -> None:
    from csmoe import config

    config.validate(loaded, "check")  # valid as loaded, numbers finite
    json.dumps(loaded, allow_nan=False)


def _index_check(result, out: Path) -> None:
    check_index(result)


def _shards_check(result, out: Path) -> None:
    check_shard_folder(result)


TARGETS = {
    target.name: target
    for target in (
        Target("bigearthnet-v1", seed_v1, lambda r: sorted(r.rglob("*.json")) * 3
               + sorted(r.rglob("*.tif")), by_suffix, run_v1, _index_check, uses_workers=True),
        Target("bigearthnet-v2", seed_v2, v2_files, by_suffix, run_v2, _index_check,
               uses_workers=True),
        Target("ssl4eo-s12", seed_ssl4eo, lambda r: sorted(r.rglob("*.tif")), by_suffix,
               run_ssl4eo, _index_check, uses_workers=True),
        Target("ssl4eo-s12-v1.1", seed_v11, lambda r: sorted(r.rglob("*.zarr.zip")), by_suffix,
               run_v11, check_v11, uses_workers=True),
        Target("geobench-hdf5", seed_geobench, geobench_samples, by_suffix, run_geobench,
               check_geobench),
        Target("geobench-pickle", seed_geobench, lambda r: sorted(
            r.glob("classification_v1.0/*/*.hdf5")), mutate_pickle, run_geobench, check_geobench),
        Target("geobench-json", seed_geobench, geobench_json, by_suffix, run_geobench,
               check_geobench),
        Target("training-shards", seed_shards, shard_files, by_suffix, run_pretraining_reader,
               check_pretraining_batches),
        Target("shard-folder", seed_shards, shard_files, by_suffix,
               lambda root, out, workers: root, _shards_check),
        Target("manifest", seed_manifest, lambda r: [r / "manifest.parquet"], by_suffix,
               run_manifest, _shards_check, uses_workers=True),
        Target("encoder", seed_encoder, lambda r: [r / "encoder.json"] * 2
               + [r / "encoder.safetensors"], by_suffix, run_encoder, check_encoder),
        Target("config", seed_config, lambda r: [r / "config.yaml"], by_suffix, run_config,
               check_config),
    )
}  # fmt: skip
