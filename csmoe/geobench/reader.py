"""Read a GEO-Bench v1.0 task folder: samples, labels, partitions, band statistics.

A task folder (``<root>/<benchmark>/<task>/``) holds one HDF5 file per sample, a 2-D
dataset per band named by its descriptor (``04 - Red``, plus ``_YYYY-MM-DD`` for dated
bands as in m-cashew-plant), a ``label`` dataset for segmentation tasks, and the root
attribute ``pickle`` whose classification ``label`` is decoded by `unpickle` (never by
plain `pickle`). Beside them: ``<name>_partition.json`` files (``default``,
``0.01x_train`` ... ``1.00x_train``; symlinks are followed) with ``train`` / ``valid`` /
``test`` id lists, and ``band_stats.json`` with each band's ``mean`` and ``std``.

Bands are z-scored with those statistics, except S1 bands stored as linear intensity
(m-so2sat): they are converted to dB and z-scored with the mean and standard deviation
of their dB values over the training split (`fit_db_statistics`), since the published
statistics are of the linear values.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csmoe.errors import InputError
from csmoe.geobench.tasks import DB_FLOOR, Task
from csmoe.geobench.unpickle import decode_attribute

SPLITS = ("train", "valid", "test")
DATED = re.compile(r"^(?P<name>.+)_(?P<date>\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Sample:
    sample_id: str
    s2: dict[str, np.ndarray]  # our band name -> (H, W) float32, z-scored
    s1: dict[str, np.ndarray]
    label: np.ndarray  # () class, (classes,) multi-hot, or (H, W) class map; int64


class TaskFolder:
    def __init__(self, root: str | os.PathLike[str], task: Task) -> None:
        self.task = task
        self.folder = Path(root) / task.folder
        if not self.folder.is_dir():
            raise InputError(self.folder, f"GEO-Bench task folder of {task.name} not found")
        self.db_bands = frozenset(task.s1.values()) if task.s1_linear else frozenset()
        self.stats = self._band_stats()

    def fit_db_statistics(self, train_ids: list[str]) -> dict[str, tuple[float, float]]:
        """Mean and std of the dB bands over the training samples (used from now on)."""
        sums = {name: np.zeros(3) for name in self.db_bands}
        for sample_id in train_ids:
            path = self.folder / f"{sample_id}.hdf5"
            for name, values in self._raw_bands(path, sorted(self.db_bands)).items():
                db = to_db(values)
                sums[name] += (db.size, db.sum(), np.square(db).sum())
        for name, (count, total, squares) in sums.items():
            mean = total / max(count, 1)
            std = float(np.sqrt(max(squares / max(count, 1) - mean**2, 0.0)))
            if count == 0 or std <= 0:
                raise InputError(self.folder, f"band {name!r}: no spread in dB over the "
                                 "training split to normalise with")  # fmt: skip
            self.stats[name] = (float(mean), std)
        return {name: self.stats[name] for name in self.db_bands}

    def partition(self, name: str = "default") -> dict[str, list[str]]:
        """Sample ids per split (``train``, ``valid``, ``test``) of a partition file."""
        path = self.folder / f"{name}_partition.json"
        try:
            splits = json.loads(path.read_text())  # a symlink is read through
        except FileNotFoundError:
            raise InputError(path, "partition file not found") from None
        except json.JSONDecodeError as error:
            raise InputError(path, f"not valid JSON ({error})") from None
        if not isinstance(splits, dict) or set(splits) - set(SPLITS) or "train" not in splits:
            raise InputError(path, f"expected a mapping of {SPLITS} to id lists")
        return {split: [str(i) for i in splits.get(split, [])] for split in SPLITS}

    def _band_stats(self) -> dict[str, tuple[float, float]]:
        path = self.folder / "band_stats.json"
        try:
            table = json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(path, "band statistics not found") from None
        except json.JSONDecodeError as error:
            raise InputError(path, f"not valid JSON ({error})") from None
        stats = {}
        for name in [*self.task.s2.values(), *self.task.s1.values()]:
            if name in self.db_bands:  # its statistics come from the training split
                continue
            entry = table.get(name)
            if not isinstance(entry, dict) or not {"mean", "std"} <= set(entry):
                raise InputError(path, f"no mean and std for band {name!r}")
            mean, std = float(entry["mean"]), float(entry["std"])
            if not np.isfinite(mean) or not np.isfinite(std) or std <= 0:
                raise InputError(path, f"band {name!r}: mean {mean}, std {std} unusable")
            stats[name] = (mean, std)
        return stats

    def read(self, sample_id: str) -> Sample:
        path = self.folder / f"{sample_id}.hdf5"
        if not path.is_file():
            raise InputError(path, "sample listed in the partition is missing")
        missing = sorted(self.db_bands - set(self.stats))
        if missing:
            raise RuntimeError(f"fit_db_statistics first: no dB statistics of {missing}")
        import h5py

        try:
            with h5py.File(path, "r") as h5:
                datasets = _by_band_name(path, h5)
                s2 = {ours: self._band(path, datasets, name) for ours, name in self.task.s2.items()}
                s1 = {ours: self._band(path, datasets, name) for ours, name in self.task.s1.items()}
                label = self._label(path, h5)
        except OSError as error:
            raise InputError(path, f"unreadable HDF5 file ({error})") from None
        return Sample(sample_id, s2, s1, label)

    def _raw_bands(self, path: Path, names: list[str]) -> dict[str, np.ndarray]:
        if not path.is_file():
            raise InputError(path, "sample listed in the partition is missing")
        import h5py

        try:
            with h5py.File(path, "r") as h5:
                datasets = _by_band_name(path, h5)
                return {name: _image(path, datasets, name) for name in names}
        except OSError as error:
            raise InputError(path, f"unreadable HDF5 file ({error})") from None

    def _band(self, path: Path, datasets: dict, name: str) -> np.ndarray:
        values = _image(path, datasets, name)
        if name in self.db_bands:
            values = to_db(values)
        mean, std = self.stats[name]
        return np.nan_to_num((values - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)

    def _label(self, path: Path, h5) -> np.ndarray:
        task = self.task
        if task.kind == "segmentation":
            if "label" not in h5:
                raise InputError(path, "segmentation sample without a 'label' dataset")
            label = np.asarray(h5["label"][()], dtype=np.int64)
            if label.min() < 0 or label.max() >= task.classes:
                raise InputError(path, f"label values outside 0..{task.classes - 1}")
            return label
        if "pickle" not in h5.attrs:
            raise InputError(path, "no 'pickle' attribute holding the label")
        try:
            attrs = decode_attribute(h5.attrs["pickle"])
        except pickle.UnpicklingError as error:
            raise InputError(path, f"label attribute refused: {error}") from None
        if "label" not in attrs:
            raise InputError(path, "the pickled attributes hold no 'label'")
        return _classification_label(path, attrs["label"], task)


def to_db(intensity: np.ndarray) -> np.ndarray:
    """Linear intensity -> dB, with values below `DB_FLOOR` (zeros) at the floor."""
    return 10 * np.log10(np.maximum(intensity, DB_FLOOR))


def _image(path: Path, datasets: dict, name: str) -> np.ndarray:
    if name not in datasets:
        raise InputError(path, f"no band {name!r} (has {sorted(datasets)})")
    values = np.asarray(datasets[name][()], dtype=np.float32)
    if values.ndim != 2:
        raise InputError(path, f"band {name!r} is not a 2-D image: shape {values.shape}")
    return values


def _by_band_name(path: Path, h5) -> dict:
    """HDF5 datasets by band name, the date suffix of dated bands removed."""
    datasets = {}
    for key in h5:
        found = DATED.match(key)
        name = found["name"] if found else key
        if name in datasets:
            raise InputError(path, f"band {name!r} appears twice (several dates in one sample)")
        datasets[name] = h5[key]
    return datasets


def _classification_label(path: Path, label, task: Task) -> np.ndarray:
    label = np.asarray(label)
    if task.kind == "multi-label":
        if label.shape != (task.classes,) or not np.isin(label, (0, 1)).all():
            raise InputError(path, f"expected a {task.classes}-class multi-hot label")
        return label.astype(np.int64)
    if label.shape != () or not np.issubdtype(label.dtype, np.integer):
        raise InputError(path, f"expected one integer class, found {label!r}")
    if not 0 <= int(label) < task.classes:
        raise InputError(path, f"class {int(label)} outside 0..{task.classes - 1}")
    return label.astype(np.int64)
