"""Read a GEO-Bench v1.0 task folder: samples, labels, partitions, band statistics.

A task folder (``<root>/<benchmark>/<task>/``) holds one HDF5 file per sample, a 2-D
dataset per band named by its descriptor (``04 - Red``, plus ``_YYYY-MM-DD`` for dated
bands as in m-cashew-plant), a ``label`` dataset for segmentation tasks, and the root
attribute ``pickle`` whose classification ``label`` is decoded by `unpickle` (never by
plain `pickle`). Beside them: ``<name>_partition.json`` files (``default``,
``0.01x_train`` ... ``1.00x_train``; symlinks are followed) with ``train`` / ``valid`` /
``test`` id lists, and ``band_stats.json`` with each band's ``mean`` and ``std``.

Everything in the folder is untrusted: sample ids must be plain file names (no path
separator, no ``..``), a band or label must be a dataset stored in its own file (external
links, soft links, external raw storage and virtual datasets, which read other files,
are refused), labels are type-checked, and partition and statistics files must hold
what they claim.

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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csmoe.errors import InputError
from csmoe.geobench.tasks import DB_FLOOR, Task
from csmoe.geobench.unpickle import decode_attribute

SPLITS = ("train", "valid", "test")
DATED = re.compile(r"^(?P<name>.+)_(?P<date>\d{4}-\d{2}-\d{2})$")
SAMPLE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")  # a file name, never a path


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
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
            raise InputError(path, f"not valid JSON ({str(error)[:200]})") from None
        if not isinstance(splits, dict) or set(splits) - set(SPLITS) or "train" not in splits:
            raise InputError(path, f"expected a mapping of {SPLITS} to id lists")
        ids = {}
        for split in SPLITS:
            listed = splits.get(split, [])
            if not isinstance(listed, list) or not all(
                isinstance(i, str | int) and not isinstance(i, bool) for i in listed
            ):
                raise InputError(path, f"split {split!r} is not a list of sample ids")
            ids[split] = [str(i) for i in listed]
            bad = [i for i in ids[split] if not SAMPLE_ID.match(i) or ".." in i]
            if bad:
                raise InputError(path, f"sample id {bad[0][:60]!r} is not a file name in the task "
                                 "folder")  # fmt: skip
        return ids

    def _band_stats(self) -> dict[str, tuple[float, float]]:
        path = self.folder / "band_stats.json"
        try:
            table = json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(path, "band statistics not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
            raise InputError(path, f"not valid JSON ({str(error)[:200]})") from None
        if not isinstance(table, dict):
            raise InputError(path, "not a mapping of band names to statistics")
        stats = {}
        for name in [*self.task.s2.values(), *self.task.s1.values()]:
            if name in self.db_bands:  # its statistics come from the training split
                continue
            entry = table.get(name)
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), int | float) and not isinstance(entry.get(k), bool)
                for k in ("mean", "std")
            ):
                raise InputError(path, f"no numeric mean and std for band {name!r}")
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
        with _hdf5(path) as h5:
            datasets = _by_band_name(path, h5)
            s2 = {ours: self._band(path, datasets, name) for ours, name in self.task.s2.items()}
            s1 = {ours: self._band(path, datasets, name) for ours, name in self.task.s1.items()}
            label = self._label(path, h5)
        return Sample(sample_id, s2, s1, label)

    def _raw_bands(self, path: Path, names: list[str]) -> dict[str, np.ndarray]:
        if not path.is_file():
            raise InputError(path, "sample listed in the partition is missing")
        with _hdf5(path) as h5:
            datasets = _by_band_name(path, h5)
            return {name: _image(path, datasets, name) for name in names}

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
            values = _own_dataset(path, h5, "label")[()]
            if (
                not isinstance(values, np.ndarray)
                or values.ndim != 2
                or values.dtype.kind not in "iu"
            ):
                raise InputError(path, "the 'label' dataset is not a 2-D integer class map")
            label = values.astype(np.int64)
            if label.size == 0 or label.min() < 0 or label.max() >= task.classes:
                raise InputError(path, f"label values outside 0..{task.classes - 1}")
            return label
        if "pickle" not in h5.attrs:
            raise InputError(path, "no 'pickle' attribute holding the label")
        try:
            attrs = decode_attribute(h5.attrs["pickle"])
        except pickle.UnpicklingError as error:
            raise InputError(path, f"attribute 'pickle' (the label) refused: {error}") from None
        if "label" not in attrs:
            raise InputError(path, "the pickled attributes hold no 'label'")
        return _classification_label(path, attrs["label"], task)


def to_db(intensity: np.ndarray) -> np.ndarray:
    """Linear intensity -> dB, with values below `DB_FLOOR` (zeros) at the floor."""
    return 10 * np.log10(np.maximum(intensity, DB_FLOOR))


def _image(path: Path, datasets: dict, name: str) -> np.ndarray:
    if name not in datasets:
        raise InputError(path, f"no band {name!r} (has {sorted(datasets)})")
    raw = datasets[name][()]
    if not isinstance(raw, np.ndarray) or raw.dtype.kind not in "biuf":
        raise InputError(path, f"band {name!r} does not hold real numbers")
    values = raw.astype(np.float32)
    if values.ndim != 2:
        raise InputError(path, f"band {name!r} is not a 2-D image: shape {values.shape}")
    return values


@contextmanager
def _hdf5(path: Path):
    """A sample file open for reading; whatever HDF5 raises for a damaged file (h5py
    maps its C errors onto OSError, KeyError, RuntimeError, ValueError, TypeError ...)
    becomes bad input naming the file."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            yield h5
    except InputError:
        raise
    except Exception as error:  # noqa: BLE001 - an untrusted file read by a C library
        raise InputError(path, f"unreadable HDF5 file ({type(error).__name__}: {error})") from None


def _own_dataset(path: Path, h5, key: str):
    """The dataset `key`, stored in this file: external and soft links, groups, external
    raw storage and virtual datasets are refused (they read other files)."""
    import h5py

    link = h5.get(key, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise InputError(path, f"{key!r} is a {type(link).__name__}, not a dataset of the file")
    dataset = h5[key]
    if not isinstance(dataset, h5py.Dataset):
        raise InputError(path, f"{key!r} is not a dataset")
    if dataset.external or dataset.is_virtual:
        raise InputError(path, f"{key!r} keeps its data in other files")
    return dataset


def _by_band_name(path: Path, h5) -> dict:
    """HDF5 datasets by band name, the date suffix of dated bands removed."""
    datasets = {}
    for key in h5:
        if not isinstance(key, str):
            raise InputError(path, "a dataset name that is not text")
        found = DATED.match(key)
        name = found["name"] if found else key
        if name in datasets:
            raise InputError(path, f"band {name!r} appears twice (several dates in one sample)")
        datasets[name] = _own_dataset(path, h5, key)
    return datasets


def _classification_label(path: Path, label, task: Task) -> np.ndarray:
    """A label of the task's kind, from plain data (`csmoe.geobench.unpickle`)."""
    if isinstance(label, list | tuple) and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in label
    ):
        label = np.array(label, dtype=np.int64)
    if isinstance(label, int | np.integer) and not isinstance(label, bool | np.bool_):
        label = np.array(label, dtype=np.int64)
    if not isinstance(label, np.ndarray) or label.dtype.kind not in "biu":
        raise InputError(path, f"label is a {type(label).__name__}, not integer classes")
    if task.kind == "multi-label":
        if label.shape != (task.classes,) or not np.isin(label, (0, 1)).all():
            raise InputError(path, f"expected a {task.classes}-class multi-hot label")
        return label.astype(np.int64)
    if label.shape != () or label.dtype.kind == "b":
        raise InputError(path, f"expected one integer class, found shape {label.shape}")
    if not 0 <= int(label) < task.classes:
        raise InputError(path, f"class {int(label)} outside 0..{task.classes - 1}")
    return label.astype(np.int64)
