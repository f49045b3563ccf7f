"""Global batches read from shards, the same for any number of processes.

Step s of a run reads global batch s: with E = s // per_epoch, the batch is the
(s mod per_epoch)-th run of `batch_size` samples in a permutation of all samples drawn
from (seed, E); the last incomplete batch of an epoch is dropped. Rank r of W takes the
r-th of W equal slices of it; random flips are drawn per global batch from (seed, E, s).
So the samples of every step, their order and their flips do not depend on the number
of processes or loader workers, and a resumed run starts at any step without replaying
the ones before (nothing about the data is carried between steps).

Inside a process, DataLoader worker w prepares the steps s with s mod workers == w; the
DataLoader's in-order round robin hands them to training in step order. A worker that
meets bad input sends the error as data (``{"error": [file, problem]}``) and stops: the
training process raises it, so the message is the same for any number of workers.
"""

from __future__ import annotations

import copy
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
)
from csmoe.errors import InputError

FLIP_STREAM = 1


class GlobalBatches(IterableDataset):
    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        batch_size: int,
        seed: int,
        start_step: int,
        steps: int,
        rank: int = 0,
        world_size: int = 1,
        flips: bool = True,
    ) -> None:
        if batch_size % world_size:
            raise InputError(
                "--batch-size", f"{batch_size} is not divisible by {world_size} processes"
            )
        self.folder = Path(folder)
        self.index = read_index(self.folder)
        self.stats = read_stats(self.folder)
        check_stats_cover(self.folder / STATS, self.stats, self.index)
        self.norm = {
            "s2": band_norm(self.stats, self.index["s2_bands"]),
            "s1": band_norm(self.stats, self.index["s1_bands"]),
        }
        counts = np.array([s["samples"] for s in self.index["shards"]], dtype=np.int64)
        self.first_sample = np.concatenate([[0], np.cumsum(counts)])
        self.samples = int(self.first_sample[-1])
        if self.samples < batch_size:
            raise InputError(
                self.folder, f"{self.samples} samples, fewer than one batch of {batch_size}"
            )
        self.batch_size, self.seed, self.flips = batch_size, seed, flips
        self.start_step, self.steps = start_step, steps
        self.rank, self.world_size = rank, world_size
        # Every shard's header is read now: a truncated shard stops the run before training.
        self._files = {shard: self._open(shard) for shard in range(len(self.index["shards"]))}
        self._order: tuple[int, np.ndarray] | None = None

    def for_steps(self, start: int, stop: int) -> GlobalBatches:
        """The same reader, iterating steps start .. stop - 1."""
        batches = copy.copy(self)
        batches.start_step, batches.steps = start, stop
        return batches

    @property
    def steps_per_epoch(self) -> int:
        return self.samples // self.batch_size

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def order(self, epoch: int) -> np.ndarray:
        if self._order is None or self._order[0] != epoch:
            self._order = (
                epoch,
                np.random.default_rng([self.seed, epoch]).permutation(self.samples),
            )
        return self._order[1]

    def positions(self, step: int) -> np.ndarray:
        """This rank's sample positions (in shard order) of global batch `step`."""
        epoch, within = divmod(step, self.steps_per_epoch)
        batch = self.order(epoch)[within * self.batch_size : (within + 1) * self.batch_size]
        share = self.batch_size // self.world_size
        return batch[self.rank * share : (self.rank + 1) * share]

    def flip_flags(self, step: int) -> np.ndarray:
        """(rank share, 2) booleans: horizontal, vertical flip of each sample."""
        rng = np.random.default_rng([self.seed, self.epoch_of(step), step, FLIP_STREAM])
        flags = rng.random((self.batch_size, 2)) < 0.5
        share = self.batch_size // self.world_size
        return flags[self.rank * share : (self.rank + 1) * share]

    def _open(self, shard: int) -> ShardFile:
        entry = self.index["shards"][shard]
        path = self.folder / entry["file"]
        if not path.is_file():
            raise InputError(path, "shard listed in index.json is missing")
        handle = ShardFile(path)
        handle.check_layout(self.index, entry["samples"])
        return handle

    def read(self, positions: np.ndarray, name: str) -> np.ndarray:
        """Tensor `name` of the samples at `positions`, in that order."""
        shards = np.searchsorted(self.first_sample, positions, side="right") - 1
        parts, where = [], []
        for shard in np.unique(shards):
            picked = np.nonzero(shards == shard)[0]
            parts.append(
                self._files[int(shard)].read_rows(
                    name, positions[picked] - self.first_sample[shard]
                )
            )
            where.append(picked)
        out = np.empty((len(positions), *parts[0].shape[1:]), dtype=parts[0].dtype)
        for part, picked in zip(parts, where, strict=True):
            out[picked] = part
        return out

    def batch(self, step: int) -> dict[str, torch.Tensor | int]:
        positions = self.positions(step)
        images = {s: normalise(self.read(positions, s), self.norm[s]) for s in ("s2", "s1")}
        if not np.isfinite(images["s1"]).all():  # float16 storage: S2 is integer
            self._name_non_finite(positions, images["s1"])
        if self.flips:
            for i, (horizontal, vertical) in enumerate(self.flip_flags(step)):
                for s in images:
                    if horizontal:
                        images[s][i] = images[s][i, :, :, ::-1]
                    if vertical:
                        images[s][i] = images[s][i, :, ::-1, :]
        return {"step": step, **{s: torch.from_numpy(v) for s, v in images.items()}}

    def _name_non_finite(self, positions: np.ndarray, s1: np.ndarray) -> None:
        row = int(np.argmax(~np.isfinite(s1).reshape(len(s1), -1).all(axis=1)))
        shard = int(np.searchsorted(self.first_sample, positions[row], side="right") - 1)
        sample = int(positions[row] - self.first_sample[shard])
        raise InputError(self.folder / self.index["shards"][shard]["file"],
                         f"S1 of sample {sample} holds NaN or infinite values")  # fmt: skip

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for step in range(self.start_step + worker, self.steps, workers):
            try:
                yield self.batch(step)
            except InputError as error:
                yield {"step": step, "error": [error.where, error.problem]}
                return
