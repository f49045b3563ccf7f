"""Iterable dataset over a shard folder: shuffled, split across DDP ranks and workers.

Each epoch, the shard order is permuted (seed, epoch); the resulting sample sequence is
cut into one contiguous block per rank and, inside it, per DataLoader worker, so every
sample is read by exactly one consumer (no duplicates, no gaps) and each consumer reads
few shards. A buffer then shuffles samples within the consumer. With `equal_length`,
the sequence is first truncated to a multiple of the world size so that every rank gets
the same number of samples (what DDP needs); the dropped samples change every epoch.

Samples are dicts of tensors: ``s2`` (bands, 120, 120) and ``s1`` (2, 120, 120),
normalised per band with the folder's ``stats.json`` (or the `stats` given);
``labels`` (19,) float; ``reference_map`` (120, 120) int64 and ``has_reference_map``;
``patch_id``. Random horizontal and vertical flips apply to all images of a sample alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from csmoe.data.shard_format import (
    STATS,
    ShardFile,
    band_norm,
    check_stats_cover,
    normalise,
    read_index,
    read_stats,
    shard_problem,
)
from csmoe.errors import InputError

CHUNK = 16  # samples decoded (normalised) together


def block(length: int, parts: int, part: int) -> tuple[int, int]:
    """The `part`-th of `parts` contiguous, near-equal blocks of range(length)."""
    return length * part // parts, length * (part + 1) // parts


def consumer() -> tuple[int, int, int, int]:
    """(rank, world size, worker, workers) of the calling process."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank, world, worker, workers


class ShardDataset(IterableDataset):
    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        seed: int = 0,
        shuffle: bool = True,
        buffer_size: int = 256,
        flips: bool = True,
        dtype: torch.dtype = torch.float32,
        equal_length: bool = False,
        rank: int | None = None,
        world_size: int | None = None,
        stats: dict[str, dict[str, float]] | None = None,
        verify: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self.index = read_index(self.folder)
        # Checked here, in the process that builds the dataset, so that an error reaches
        # the user as itself and not wrapped by a DataLoader worker.
        self._check_shards(checksum=verify)
        # Another folder's statistics (e.g. an encoder's training shards) may replace ours.
        stats = read_stats(self.folder) if stats is None else stats
        check_stats_cover(self.folder / STATS, stats, self.index)
        self.s2_norm = band_norm(stats, self.index["s2_bands"])
        self.s1_norm = band_norm(stats, self.index["s1_bands"])
        self.seed, self.shuffle, self.buffer_size = seed, shuffle, buffer_size
        self.flips, self.dtype, self.equal_length = flips, dtype, equal_length
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def _check_shards(self, checksum: bool) -> None:
        """Every shard present with its recorded size (and checksum) and the layout the
        index promises."""
        for entry in self.index["shards"]:
            path = self.folder / entry["file"]
            problem = shard_problem(path, entry, checksum=checksum)
            if problem:
                raise InputError(path, problem)
            ShardFile(path).check_layout(self.index, entry["samples"])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _who(self) -> tuple[int, int, int, int]:
        rank, world, worker, workers = consumer()
        if self.rank is not None:
            rank, world = self.rank, self.world_size
        return rank, world, worker, workers

    def plan(self) -> list[tuple[int, int, int]]:
        """(shard, start, stop) sample ranges this consumer reads, in order."""
        shards = self.index["shards"]
        order = np.arange(len(shards))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(len(shards))
        rank, world, worker, workers = self._who()
        total = self.index["samples"]
        if self.equal_length:
            total -= total % world
        lo, hi = block(total, world, rank)
        w_lo, w_hi = block(hi - lo, workers, worker)
        lo, hi = lo + w_lo, lo + w_hi
        ranges, position = [], 0
        for shard in order:
            count = shards[shard]["samples"]
            start, stop = max(lo - position, 0), min(hi - position, count)
            if start < stop:
                ranges.append((int(shard), start, stop))
            position += count
        return ranges

    def _samples(self) -> Iterator[dict]:
        rng = np.random.default_rng([self.seed, self.epoch, *self._who()])
        for shard, start, stop in self.plan():
            path = self.folder / self.index["shards"][shard]["file"]
            yield from self._shard_samples(path, start, stop, rng)

    def _shard_samples(
        self, path: Path, start: int, stop: int, rng: np.random.Generator
    ) -> Iterator[dict]:
        handle = ShardFile(path)
        ids = handle.patch_ids()
        for lo in range(start, stop, CHUNK):
            hi = min(lo + CHUNK, stop)
            arrays = {name: handle.read_range(name, lo, hi) for name in handle.tensors}
            chunk = self._decode(path, lo, arrays)
            for i in range(hi - lo):
                yield self._sample(chunk, i, ids[lo + i], rng)

    def _decode(self, path: Path, first: int, arrays: dict[str, np.ndarray]) -> dict:
        """Normalise a chunk of samples at once (vectorised), as tensors; values a
        sample may not hold are named (NaN S1, labels other than 0/1)."""
        for name, bad in (("S1", ~np.isfinite(arrays["s1"])), ("label", arrays["labels"] > 1)):
            rows = bad.reshape(len(bad), -1).any(axis=1)
            if rows.any():
                row = first + int(np.argmax(rows))
                raise InputError(path, f"sample {row}: {name} values are not "
                                 f"{'finite' if name == 'S1' else '0 or 1'}")  # fmt: skip
        s2 = normalise(arrays["s2"], self.s2_norm)
        s1 = normalise(arrays["s1"], self.s1_norm)
        return {
            "s2": torch.from_numpy(s2).to(self.dtype),
            "s1": torch.from_numpy(s1).to(self.dtype),
            "labels": torch.from_numpy(arrays["labels"].astype(np.float32)),
            "reference_map": torch.from_numpy(arrays["reference_map"].astype(np.int64)),
            "has_reference_map": arrays["has_reference_map"].astype(bool),
        }

    def _sample(self, chunk: dict, i: int, patch_id: str, rng: np.random.Generator) -> dict:
        images = [chunk["s2"][i], chunk["s1"][i], chunk["reference_map"][i]]
        if self.flips:
            dims = [d for d in (-1, -2) if rng.random() < 0.5]
            if dims:
                images = [image.flip(dims) for image in images]
        return {
            "s2": images[0],
            "s1": images[1],
            "labels": chunk["labels"][i],
            "reference_map": images[2],
            "has_reference_map": bool(chunk["has_reference_map"][i]),
            "patch_id": patch_id,
        }

    def __iter__(self) -> Iterator[dict]:
        samples = self._samples()
        if not self.shuffle or self.buffer_size <= 1:
            yield from samples
            return
        rng = np.random.default_rng([self.seed, self.epoch, *self._who(), 1])
        buffer: list[dict] = []
        for sample in samples:
            if len(buffer) < self.buffer_size:
                buffer.append(sample)
                continue
            slot = int(rng.integers(len(buffer)))
            yield buffer[slot]
            buffer[slot] = sample
        rng.shuffle(buffer)
        yield from buffer
