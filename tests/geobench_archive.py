"""GEO-Bench v1.0 task folders in the published layout, written without `geobench`.

What the files look like (GEO-Bench's ``write_sample_hdf5`` and the real test files of
its experiments repository): one HDF5 file per sample, one 2-D dataset per band named by
its descriptor (``04 - Red``; dated bands ``04 - Red_2019-11-15``), a ``label`` dataset for
segmentation, and the root attribute ``pickle`` = ``str(pickle.dumps(attrs))`` whose
attrs hold the classification ``label``, per-band metadata objects of `geobench` classes
and ``bands_order`` (absent in the oldest files, which name ``ccb.io.dataset`` classes).
To pickle such objects, throwaway modules named ``geobench.dataset``, ``geobench.label``,
``ccb.io.dataset`` and ``affine`` exist only while a file is written.
"""

from __future__ import annotations

import datetime
import json
import pickle
import sys
import types
from contextlib import contextmanager
from pathlib import Path

import numpy as np

S2_13 = ["01 - Coastal aerosol", "02 - Blue", "03 - Green", "04 - Red",
         "05 - Vegetation Red Edge", "06 - Vegetation Red Edge", "07 - Vegetation Red Edge",
         "08 - NIR", "08A - Vegetation Red Edge", "09 - Water vapour", "10 - SWIR - Cirrus",
         "11 - SWIR", "12 - SWIR"]  # fmt: skip
S2_12 = [b for b in S2_13 if b != "10 - SWIR - Cirrus"]
SIDE = 16
STAT_KEYS = ("min", "max", "mean", "std", "median", "percentile_0_1", "percentile_1",
             "percentile_5", "percentile_95", "percentile_99", "percentile_99_9")  # fmt: skip


def _class(module: str, name: str) -> type:
    def init(self, *args, **kwargs):
        self.args, self.__dict__ = args, {**self.__dict__, **kwargs}

    return type(name, (), {"__module__": module, "__init__": init, "__qualname__": name})


@contextmanager
def throwaway_geobench():
    """Modules named like GEO-Bench's (and affine's) while pickling, removed after."""
    names = {
        "geobench.dataset": ("Sentinel2", "Sentinel1", "SpectralBand", "CloudProbability",
                             "SegmentationClasses"),
        "geobench.label": ("Classification", "MultiLabelClassification"),
        "ccb.io.dataset": ("Sentinel2",),
    }  # fmt: skip
    modules = {name: types.ModuleType(name) for name in
               ("geobench", "geobench.dataset", "geobench.label", "ccb", "ccb.io",
                "ccb.io.dataset", "affine")}  # fmt: skip
    for module, classes in names.items():
        for name in classes:
            setattr(modules[module], name, _class(module, name))

    class Affine(tuple):  # affine.Affine pickles as Affine(a, b, c, d, e, f)
        __module__ = "affine"

        def __reduce__(self):
            return Affine, tuple(self)

        def __new__(cls, *coefficients):
            return super().__new__(cls, coefficients)

    Affine.__qualname__ = "Affine"
    modules["affine"].Affine = Affine
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield modules
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def write_sample(path: Path, bands: dict[str, np.ndarray], label, *, dates=None,
                 legacy: bool = False, segmentation: bool = False) -> None:  # fmt: skip
    """One sample file; `dates` suffixes band keys (m-cashew-plant), `legacy` writes the
    oldest form (``ccb.io.dataset`` classes, no ``bands_order``)."""
    import h5py

    with throwaway_geobench() as modules:
        band_class = modules["ccb.io.dataset" if legacy else "geobench.dataset"].Sentinel2
        attrs, order = {}, []
        for name in bands:
            key = f"{name}_{dates:%Y-%m-%d}" if dates else name
            attrs[key] = {
                "date": dates, "date_id": 0 if dates else None, "spatial_resolution": 10,
                "band_info": band_class(name=name, alt_names=(), spatial_resolution=10),
                "meta_info": None, "transform": modules["affine"].Affine(10, 0, 5e5, 0, -10, 4e6),
                "crs": None,
            }  # fmt: skip
            order.append(key)
        if segmentation:
            attrs["label"] = {"band_info": modules["geobench.dataset"].SegmentationClasses(
                name="label", spatial_resolution=10, n_classes=10)}  # fmt: skip
            order.append("label")
        else:
            attrs["label"] = label
        if not legacy:
            attrs["bands_order"] = order
        text = str(pickle.dumps(attrs))
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        for key, name in zip(order, list(bands) + (["label"] if segmentation else []),
                             strict=True):  # fmt: skip
            h5.create_dataset(key, data=label if name == "label" else bands[name])
        h5.attrs["pickle"] = text


def write_band_stats(folder: Path, names: list[str], mean: float, std: float) -> None:
    table = {name: dict.fromkeys(STAT_KEYS, 0.0) | {"mean": mean, "std": std} for name in names}
    table["label"] = dict.fromkeys(STAT_KEYS, 0.0)
    (folder / "band_stats.json").write_text(json.dumps(table, indent=2, sort_keys=True))


def write_partitions(folder: Path, ids: dict[str, list[str]], *, symlink: bool = False) -> None:
    """``default_partition.json`` (a symlink to ``original_partition.json`` when asked,
    as older converters wrote it) and a half-size ``0.50x_train`` partition."""
    target = "original_partition.json" if symlink else "default_partition.json"
    (folder / target).write_text(json.dumps(ids))
    if symlink:
        (folder / "default_partition.json").symlink_to(target)
    half = ids | {"train": ids["train"][: len(ids["train"]) // 2]}
    (folder / "0.50x_train_partition.json").write_text(json.dumps(half))


def _pixels(rng: np.random.Generator, level: float, dtype) -> np.ndarray:
    return (level + rng.normal(0, 40, (SIDE, SIDE))).astype(dtype)


def _split_ids(n: int, prefix: str = "id_") -> dict[str, list[str]]:
    ids = [f"{prefix}{i:04d}" for i in range(n)]
    return {"train": ids[: n // 2], "valid": ids[n // 2 : 3 * n // 4], "test": ids[3 * n // 4 :]}


def write_classification_task(root: Path, n: int = 24, seed: int = 0) -> Path:
    """An m-eurosat-like task: 13 int16 bands (the published, shifted names), 10 classes;
    the class shifts the brightness of the red and NIR bands (learnable)."""
    folder = root / "classification_v1.0" / "m-eurosat"
    rng = np.random.default_rng(seed)
    ids = _split_ids(n)
    for i, sample in enumerate(sum(ids.values(), [])):
        label = i % 10
        bands = {name: _pixels(rng, 1000 + (300 * label if name in ("04 - Red", "08 - NIR")
                                            else 0), np.int16) for name in S2_13}  # fmt: skip
        write_sample(folder / f"{sample}.hdf5", bands, label, legacy=(i == 0))
    write_band_stats(folder, S2_13, 2000.0, 900.0)
    write_partitions(folder, ids)
    return folder


def write_multilabel_task(root: Path, n: int = 16, seed: int = 1) -> Path:
    """An m-bigearthnet-like task: 12 float32 bands, 43-class multi-hot labels."""
    folder = root / "classification_v1.0" / "m-bigearthnet"
    rng = np.random.default_rng(seed)
    ids = _split_ids(n)
    for i, sample in enumerate(sum(ids.values(), [])):
        label = np.zeros(43, dtype=np.int64)
        label[[i % 43, (i * 7) % 43]] = 1
        bands = {name: _pixels(rng, 800 + 20 * i, np.float32) for name in S2_12}
        write_sample(folder / f"{sample}.hdf5", bands, label)
    write_band_stats(folder, S2_12, 1000.0, 500.0)
    write_partitions(folder, ids)
    return folder


def write_segmentation_task(root: Path, n: int = 16, seed: int = 2, dated: bool = False) -> Path:
    """An m-SA-crop-type-like task (or, `dated`, m-cashew-plant-like: date-suffixed keys,
    7 classes): 12 S2 bands plus Cloud Probability, int16, and an int16 ``label`` map whose
    left half is class 1 + i % (classes - 1) and whose right half is class 0; the left
    half is brighter in red."""
    name, classes = ("m-cashew-plant", 7) if dated else ("m-SA-crop-type", 10)
    folder = root / "segmentation_v1.0" / name
    rng = np.random.default_rng(seed)
    ids = _split_ids(n, "sample_" if dated else "ref_south_africa_crops_train_labels_")
    names = [*S2_12, "Cloud Probability"]
    for i, sample in enumerate(sum(ids.values(), [])):
        label = np.zeros((SIDE, SIDE), dtype=np.int16)
        label[:, : SIDE // 2] = 1 + i % (classes - 1)
        bands = {b: _pixels(rng, 40, np.int16) for b in names}
        bands["04 - Red"][:, : SIDE // 2] += 60
        when = datetime.date(2019, 11, 15) if dated else None
        write_sample(folder / f"{sample}.hdf5", bands, label, dates=when, segmentation=True)
    write_band_stats(folder, names, 50.0, 30.0)
    write_partitions(folder, ids, symlink=not dated)
    return folder


S1_8 = ["01 - VH.Real", "02 - VH.Imaginary", "03 - VV.Real", "04 - VV.Imaginary",
        "05 - VH.LEE Filtered", "06 - VV.LEE Filtered", "07 - VH.LEE Filtered.Real",
        "08 - VV.LEE Filtered.Imaginary"]  # fmt: skip
SO2SAT_S2 = ["02 - Blue", "03 - Green", "04 - Red", "05 - Vegetation Red Edge",
             "06 - Vegetation Red Edge", "07 - Vegetation Red Edge", "08 - NIR",
             "08A - Vegetation Red Edge", "11 - SWIR", "12 - SWIR"]  # fmt: skip


# m-so2sat's published statistics of its Lee-filtered S1 intensities (GEO-Bench
# band_stats.json as torchgeo-bench's m_so2sat.py carries them): linear values with a
# heavy tail (VV max 9,950) and zeros (VH min 0).
SO2SAT_LEE_STATS = {"05 - VH.LEE Filtered": (0.0615, 5.4568),
                    "06 - VV.LEE Filtered": (0.3435, 11.8128)}  # fmt: skip


def write_so2sat_task(root: Path, n: int = 24, seed: int = 3) -> Path:
    """An m-so2sat-like task: 8 S1 then 10 S2 float32 bands (the writer's order; h5py
    lists them interleaved), 17 classes. The Lee-filtered bands are linear intensities
    (So2Sat LCZ42 README: "Intensity of lee filtered VH/VV signal"): backscatter of
    about -14 dB (VV) and -20 dB (VH) with speckle, a few bright targets and zero pixels;
    the class raises VV by 3 dB per class (learnable in dB, not in z-scored linear
    values, which the published statistics squeeze towards a constant)."""
    folder = root / "classification_v1.0" / "m-so2sat"
    rng = np.random.default_rng(seed)
    ids = _split_ids(n)
    for i, sample in enumerate(sum(ids.values(), [])):
        label = i % 4

        def band(level: float, noise: float) -> np.ndarray:
            return (level + rng.normal(0, noise, (SIDE, SIDE))).astype(np.float32)

        def intensity(db: float) -> np.ndarray:
            values = 10 ** ((db + rng.normal(0, 1.5, (SIDE, SIDE))) / 10)
            values.flat[rng.integers(0, SIDE * SIDE, 2)] = rng.uniform(100, 1000, 2)
            values.flat[rng.integers(0, SIDE * SIDE, 2)] = 0.0
            return values.astype(np.float32)

        bands = {name: band(0.0, 0.2) for name in S1_8}
        bands["06 - VV.LEE Filtered"] = intensity(-14 + 3 * label)
        bands["05 - VH.LEE Filtered"] = intensity(-20)
        bands |= {name: band(0.1, 0.004) for name in SO2SAT_S2}
        write_sample(folder / f"{sample}.hdf5", bands, label)
    write_band_stats(folder, S1_8 + SO2SAT_S2, 0.1, 0.04)
    stats = json.loads((folder / "band_stats.json").read_text())
    for name, (mean, std) in SO2SAT_LEE_STATS.items():
        stats[name] |= {"mean": mean, "std": std}
    (folder / "band_stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True))
    write_partitions(folder, ids)
    return folder


# m-brick-kiln as released: the converter (GEO-Bench make_benchmark/dataset_converters/
# brick_kiln.py) named the 13 channels after the 13 L1C bands, but the source export
# (mliu356/kiln-scaling notebooks/get_images.ipynb; GEO-Bench issue #29) wrote these
# bands, in this order; the published statistics put 08A at 0.80 x 08 and 10-12 <= 255.
BRICK_KILN_EXPORT = ["B1", "B2", "B3", "B4", "B5", "B7", "B8A", "B8", "B11", "B12",
                     "TCI_R", "TCI_G", "TCI_B"]  # fmt: skip


def write_brick_kiln_task(root: Path, n: int = 16, seed: int = 4) -> Path:
    """An m-brick-kiln-like task: 13 int16 channels under the L1C names holding the
    exported bands (100 x the channel's position + the class x 50 in every reflectance
    band; the TCI channels 8-bit), 2 classes."""
    folder = root / "classification_v1.0" / "m-brick-kiln"
    rng = np.random.default_rng(seed)
    ids = _split_ids(n)
    for i, sample in enumerate(sum(ids.values(), [])):
        label = i % 2
        bands = {}
        for position, (name, held) in enumerate(zip(S2_13, BRICK_KILN_EXPORT, strict=True), 1):
            level = 100 + 50 * label if held.startswith("TCI") else 100 * position + 50 * label
            bands[name] = np.full((SIDE, SIDE), level, np.int16) + rng.integers(
                0, 3, (SIDE, SIDE), dtype=np.int16
            )
        write_sample(folder / f"{sample}.hdf5", bands, label)
    write_band_stats(folder, S2_13, 0.0, 1.0)
    write_partitions(folder, ids)
    return folder
