"""Shards: a manifest's samples as fixed-size safetensors files, with an index.

Layout of a shard folder::

    index.json              format, bands, sample count, per-shard file/samples/bytes/sha256
    stats.json              per-band mean and std used for normalisation
    shard-00000.safetensors s2 (n, bands, 120, 120) uint16, s1 (n, 2, 120, 120) float16,
    ...                     labels (n, 19) uint8, reference_map (n, 120, 120) uint16 and
                            has_reference_map (n,) uint8; patch ids in the metadata
    skipped.tsv             only with skip_missing: manifest ids not in the archive

Samples keep the manifest's selection order. Sentinel-2 20 m (and 60 m) bands are
resampled to 10 m once, bicubically, and rounded back to integer reflectance; SSL4EO-S12
v1 pairs (GeoTIFF folders of 264 px at 10 m) are read as their centre 120 px, the coarser
bands cropped on their own grid and then resampled (`ssl4eo_patch`); SSL4EO-S12
v1.1 pairs (264 px at 10 m) are cropped to their centre 120 px, a zarr file at a time
into a temporary crop cache beside the output (`zarr_patch`; it holds as many bytes as
the shards of those pairs, and is removed when the shards are written); Sentinel-1
dB values are stored as float16 (0.016 dB resolution at 20 dB, far below speckle).
Writing is deterministic and atomic (the folder appears complete or not at all), so a
killed run, rerun, yields byte-identical shards.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.numpy import save_file

from csmoe.atomic import atomic_dir, publish_mode, remove_stale, write_text
from csmoe.data.bands import BIGEARTHNET_STATS, CSMAE_S2, S1
from csmoe.data.patch import SIDE, PairArrays, read_pair
from csmoe.data.shard_format import (
    FORMAT,
    INDEX,
    SKIPPED,
    STATS,
    ShardFile,
    check_stats_cover,
    read_index,
    read_stats,
    sha256,
    shard_metadata,
    shard_problem,
)
from csmoe.data.ssl4eo_patch import is_ssl4eo_v1, read_ssl4eo_pair
from csmoe.data.zarr_patch import CropCache, fill_from_file
from csmoe.errors import InputError
from csmoe.parallel import process_pool
from csmoe.parquet import read_table
from csmoe.progress import progress
from csmoe.zarr_zip import ZARR_SUFFIX

MANIFEST_COLUMNS = ("patch_id", "order", "s1_name", "s2_name", "s1_dir", "s2_dir",
                    "reference_map", "multi_hot_19")  # fmt: skip


def read_manifest(path: Path) -> pd.DataFrame:
    """A training manifest in selection order: readable, with the columns the shards
    need, at least one row and no patch twice."""
    if not path.is_file():
        raise InputError(path, "manifest file does not exist")
    manifest = read_table(path, "Parquet manifest")
    absent = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if absent:
        raise InputError(path, f"not a training manifest: no column(s) {', '.join(absent)}")
    if manifest.empty:
        raise InputError(path, "the manifest has no rows")
    twice = manifest["patch_id"][manifest["patch_id"].duplicated()].unique()
    if len(twice):
        raise InputError(path, f"{len(twice)} patch id(s) listed twice, e.g. {twice[0]}")
    _check_columns(path, manifest)
    return manifest.sort_values("order", kind="stable")


def _check_columns(path: Path, manifest: pd.DataFrame) -> None:
    """Value types a shard row is built from: text ids and paths, integer order, and
    19 labels of 0 or 1 (or none)."""
    for column in ("patch_id", "s1_name", "s2_name", "s1_dir", "s2_dir"):
        bad = ~manifest[column].map(lambda v: isinstance(v, str) and v != "")
        if bad.any():
            raise InputError(path, f"column {column!r} holds a value that is not text "
                             f"(row {int(np.argmax(bad.to_numpy()))})")  # fmt: skip
    if not pd.api.types.is_integer_dtype(manifest["order"]):
        raise InputError(path, f"column 'order' is {manifest['order'].dtype}, not integers")
    for patch_id, labels in zip(manifest["patch_id"], manifest["multi_hot_19"], strict=True):
        if labels is None:
            continue
        try:
            values = np.asarray(labels)
        except (TypeError, ValueError):
            values = np.zeros(0)
        numeric = values.dtype.kind in "biuf"
        if not numeric or values.shape != (19,) or not np.isin(values, (0, 1)).all():
            raise InputError(path, f"{patch_id}: multi_hot_19 is not 19 values of 0 or 1")


def missing_patches(manifest: pd.DataFrame) -> pd.Series:
    """Manifest rows whose S1 or S2 folder is absent (or not recorded)."""

    def absent(column: str) -> pd.Series:
        return manifest[column].map(lambda d: d is None or pd.isna(d) or not Path(d).exists())

    return absent("s2_dir") | absent("s1_dir")


def _shard_tensors(
    rows: pd.DataFrame, s2_bands: tuple[str, ...], non_finite: str, crops: CropCache | None
) -> tuple[dict, dict]:
    n = len(rows)
    s2 = np.empty((n, len(s2_bands), SIDE, SIDE), dtype=np.uint16)
    s1 = np.empty((n, len(S1), SIDE, SIDE), dtype=np.float16)
    reference = np.zeros((n, SIDE, SIDE), dtype=np.uint16)
    has_reference = np.zeros(n, dtype=np.uint8)
    labels = np.zeros((n, 19), dtype=np.uint8)
    sums = np.zeros((len(s2_bands) + len(S1), 2), dtype=np.float64)
    for i, row in enumerate(rows.itertuples()):
        pair = _read(row, s2_bands, non_finite, crops)
        s2[i] = np.clip(np.rint(pair.s2), 0, 65535)
        s1[i] = pair.s1
        if pair.reference_map is not None:
            reference[i], has_reference[i] = pair.reference_map, 1
        if row.multi_hot_19 is not None:  # 19 values of 0 or 1 (checked by read_manifest)
            labels[i] = row.multi_hot_19
        stored = np.concatenate([s2[i].astype(np.float64), s1[i].astype(np.float64)])
        sums[:, 0] += stored.sum(axis=(1, 2))
        sums[:, 1] += (stored**2).sum(axis=(1, 2))
    tensors = {"s2": s2, "s1": s1, "labels": labels, "reference_map": reference,
               "has_reference_map": has_reference}  # fmt: skip
    # One metadata key: safetensors stores metadata as a hash map, whose order (and so the
    # file's bytes) would otherwise change from run to run.
    metadata = shard_metadata(list(rows["patch_id"]), {"s2": s2_bands, "s1": S1})
    return tensors, {"metadata": metadata, "sums": sums, "pixels": n * SIDE * SIDE}


def _read(row, s2_bands: tuple[str, ...], non_finite: str, crops: CropCache | None) -> PairArrays:
    """A manifest row's pixels: GeoTIFF folders (BigEarthNet; SSL4EO-S12 v1, centre
    crops), or the crop cache filled from zarr zip files (SSL4EO-S12 v1.1), at the row's
    manifest position."""
    if _is_zarr(row.s2_dir):
        position = row.Index
        s2, s1 = crops.array("s2")[position], crops.array("s1")[position]
        return PairArrays(s2.astype(np.float32), s1.astype(np.float32), None)
    if is_ssl4eo_v1(row.s2_name):
        return read_ssl4eo_pair(row.s2_dir, row.s1_dir, s2_bands, non_finite=non_finite)
    ref_path = row.reference_map if isinstance(row.reference_map, str) else None
    return read_pair(row.s2_dir, row.s2_name, row.s1_dir, row.s1_name, ref_path, s2_bands,
                     non_finite=non_finite)  # fmt: skip


def _is_zarr(s2_dir) -> bool:
    return str(s2_dir).endswith(ZARR_SUFFIX)


def write_shard(
    rows: pd.DataFrame, path: Path, s2_bands: tuple[str, ...], non_finite: str = "reject",
    crops: CropCache | None = None,
) -> dict:  # fmt: skip
    """One shard of `rows` (indexed by manifest position, where `crops` holds them)."""
    tensors, info = _shard_tensors(rows, s2_bands, non_finite, crops)
    save_file(tensors, str(path), metadata=info["metadata"])
    publish_mode(path)
    return {
        "file": path.name, "samples": len(rows), "bytes": path.stat().st_size,
        "sha256": sha256(path), "sums": info["sums"], "pixels": info["pixels"],
    }  # fmt: skip


def _statistics(shards: list[dict], bands: tuple[str, ...], source: str) -> dict:
    if source == "bigearthnet":
        return {b: {"mean": BIGEARTHNET_STATS[b][0], "std": BIGEARTHNET_STATS[b][1]} for b in bands}
    sums = sum(s["sums"] for s in shards)
    pixels = sum(s["pixels"] for s in shards)
    mean = sums[:, 0] / pixels
    std = np.sqrt(np.maximum(sums[:, 1] / pixels - mean**2, 0.0))
    return {
        b: {"mean": float(m), "std": float(s)} for b, m, s in zip(bands, mean, std, strict=True)
    }


def write_shards(
    manifest_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    shard_size: int = 256,
    s2_bands: tuple[str, ...] = CSMAE_S2,
    stats: str = "manifest",
    skip_missing: bool = False,
    non_finite: str = "reject",
    workers: int = 1,
) -> dict:
    """Write the shard folder `out` for a manifest; return its index. `non_finite` is the
    policy for NaN or infinite pixels (`csmoe.finite`)."""
    manifest_path, out = Path(manifest_path), Path(out)
    manifest = read_manifest(manifest_path)
    missing = missing_patches(manifest)
    if missing.any() and not skip_missing:
        ids = list(manifest.loc[missing, "patch_id"])
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise InputError(manifest_path, f"{len(ids)} patch(es) missing from the archive: {shown}")
    kept = manifest[~missing].reset_index(drop=True)
    if kept.empty:
        raise InputError(manifest_path, "no patch of the manifest is in the archive")
    remove_stale(out)
    bands = tuple(s2_bands)
    with atomic_dir(out) as tmp, tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        crops = _crop_zarr_pairs(kept, Path(scratch), bands, non_finite, workers)
        parts = [kept.iloc[i : i + shard_size] for i in range(0, len(kept), shard_size)]
        paths = [tmp / f"shard-{k:05d}.safetensors" for k in range(len(parts))]
        same = {"s2_bands": bands, "non_finite": non_finite, "crops": crops}
        shards = list(progress(_map(write_shard, workers, parts, paths, **same), len(parts),
                               "shards", "shards"))  # fmt: skip
        statistics = _statistics(shards, bands + S1, stats)
        stats_json = json.dumps({"source": stats, "bands": statistics}, indent=2, allow_nan=False)
        write_text(tmp / STATS, stats_json)
        if skip_missing:
            skipped = manifest.loc[missing, ["patch_id"]].assign(reason="not in the archive")
            skipped.to_csv(tmp / SKIPPED, sep="\t", index=False)
        index = {
            "format": FORMAT,
            "samples": len(kept),
            "shard_size": shard_size,
            "s2_bands": list(bands),
            "s1_bands": list(S1),
            "manifest_sha256": sha256(manifest_path),
            "shards": [{k: s[k] for k in ("file", "samples", "bytes", "sha256")} for s in shards],
        }
        write_text(tmp / INDEX, json.dumps(index, indent=2) + "\n")
    return index


def _map(function, workers: int, *iterables, **same):
    """`function` over the iterables, in order, in `workers` processes when above 1."""
    import functools

    call = functools.partial(function, **same)
    if workers <= 1:
        yield from map(call, *iterables)
        return
    with process_pool(workers) as pool:
        yield from pool.map(call, *iterables)


def _crop_zarr_pairs(kept: pd.DataFrame, scratch: Path, bands: tuple[str, ...],
                     non_finite: str, workers: int) -> CropCache | None:  # fmt: skip
    """The centre crops of the zarr-backed rows, read a file pair at a time (each chunk
    decoded once), or None when no row is zarr-backed."""
    zarr_rows = kept[kept["s2_dir"].map(_is_zarr)]
    if zarr_rows.empty:
        return None
    crops = CropCache.create(scratch, len(kept), bands)
    groups = list(zarr_rows.groupby(["s2_dir", "s1_dir"], sort=True))
    positions = [group.index.to_numpy() for _, group in groups]
    ids = [list(group["patch_id"]) for _, group in groups]
    s2_paths, s1_paths = [key[0] for key, _ in groups], [key[1] for key, _ in groups]
    done = _map(fill_from_file, workers, [crops] * len(groups), positions, ids, s2_paths,
                s1_paths, non_finite=non_finite)  # fmt: skip
    for _ in progress(done, len(groups), "zarr files", "files"):
        pass
    return crops


def verify_shards(folder: str | os.PathLike[str]) -> int:
    """Check every shard's size and checksum; an error names each bad shard."""
    folder = Path(folder)
    index = read_index(folder)  # schema and counts
    check_stats_cover(folder / STATS, read_stats(folder), index)  # finite numbers, every band
    bad = [f"{shard['file']} ({problem})" for shard in index["shards"]
           if (problem := shard_problem(folder / shard["file"], shard))]  # fmt: skip
    if bad:
        raise InputError(folder, f"{len(bad)} bad shard(s): {', '.join(bad)}")
    for shard in index["shards"]:
        ShardFile(folder / shard["file"]).check_layout(index, shard["samples"])
    return index["samples"]
