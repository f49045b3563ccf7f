"""Global batches read from shards, the same for any number of processes.

Step s of a run reads global batch s: with E = s // per_epoch, the batch is the
(s mod per_epoch)-th run of `batch_size` samples in a permutation of all samples drawn
from (seed, E); the last incomplete batch of an epoch is dropped. Rank r of W takes the
r-th of W equal slices of it; random flips are drawn per global batch from (seed, E, s).
So the samples of every step, their order and their flips do not depend on the number
of processes or loader workers, and a resumed run starts at any step without replaying
the ones before (nothing about the data is carried between steps).

A batch holds the stored rows (S2 uint16, S1 float16) and the flip flags; with
`prepare_in_reader` (CPU runs) the reader also normalises and flips them into float32,
otherwise (GPU runs) `model_inputs` does that on the device the batch goes to
(`csmoe.training.inputs`: NumPy in the reader, torch on the device, the same arithmetic,
the same values bit for bit).

Inside a process, DataLoader worker w reads the steps s with s mod workers == w; the
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
    SENSORS,
    STATS,
    ShardFile,
    band_norm,
    check_stats_cover,
    read_index,
    read_stats,
)
from csmoe.errors import InputError
from csmoe.training.inputs import InputPreparer

FLIP_STREAM = 1


def all_finite(values: np.ndarray) -> bool:
    """np.isfinite(values).all(); for float16 from the bits (exponent all ones means inf
    or NaN), as integer operations NumPy vectorises: about 5x faster."""
    if values.dtype == np.float16:
        return int(np.bitwise_and(values.view(np.uint16), 0x7FFF).max(initial=0)) < 0x7C00
    return bool(np.isfinite(values).all())


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
        prepare_in_reader: bool = True,
    ) -> None:
        if batch_size % world_size:
            raise InputError(
                "--batch-size", f"{batch_size} is not divisible by {world_size} processes"
            )
        self.folder = Path(folder)
        self.index = read_index(self.folder)
        self.stats = read_stats(self.folder)
        check_stats_cover(self.folder / STATS, self.stats, self.index)
        self.preparer = InputPreparer(
            {s: band_norm(self.stats, self.index[f"{s}_bands"]) for s in SENSORS}
        )
        self.prepare_in_reader = prepare_in_reader
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
        dtype, shape, _ = self._files[int(shards[0])].tensors[name]
        out = np.empty((len(positions), *shape[1:]), dtype=dtype)
        for shard in np.unique(shards):
            picked = np.nonzero(shards == shard)[0]
            rows = positions[picked] - self.first_sample[shard]
            self._files[int(shard)].read_rows_into(name, rows, out, picked)
        return out

    def batch(self, step: int) -> dict[str, torch.Tensor | int]:
        """Stored rows and flip flags of this rank's share of step `step` (prepared into
        float32 model inputs with `prepare_in_reader`)."""
        positions = self.positions(step)
        rows = {s: self.read(positions, s) for s in SENSORS}
        if not all_finite(rows["s1"]):  # float16 storage: S2 is integer
            self._name_non_finite(positions, rows["s1"])
        stored = {s: torch.from_numpy(v) for s, v in rows.items()}
        flips = torch.from_numpy(self.flip_flags(step)) if self.flips else None
        if self.prepare_in_reader:
            return {"step": step} | self.preparer.prepare(stored, flips)
        return {"step": step, "flips": flips} | stored

    def model_inputs(self, batch: dict, device: torch.device) -> dict[str, torch.Tensor]:
        """float32 inputs per sensor on `device`: moved there, and prepared there unless
        the reader prepared them."""
        moved = {s: batch[s].to(device, non_blocking=True) for s in SENSORS}
        if self.prepare_in_reader:
            return moved
        flips = batch["flips"]
        return self.preparer.prepare(
            moved, None if flips is None else flips.to(device, non_blocking=True)
        )

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
