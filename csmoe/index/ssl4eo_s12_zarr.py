"""Index of an SSL4EO-S12 v1.1 archive: zarr (format 2) zip files of aligned samples.

Layout, as published::

    <root>/train/S1GRD/ssl4eos12_train_seasonal_data_000001.zarr.zip
    <root>/train/S2L1C/..., <root>/train/S2L2A/..., <root>/train/S2RGB/...
    <root>/val/S1GRD/ssl4eos12_val_seasonal_data_000001.zarr.zip, ...

Files of the same name hold the same 64 locations (``sample``) with four timestamps each
(``time``), aligned across S1 GRD, S2 L1C and S2 L2A: timestamp t of a location in the S1
file is the partner of timestamp t in the S2 file. Each file is an xarray dataset with
``bands`` (sample, time, band, y, x; 264 x 264 px at 10 m), ``sample_id`` and
``file_id`` (the scene) and ``time_`` per sample and time, the UTM zone ``crs`` (EPSG) and
pixel-centre coordinates ``x_``, ``y_`` per sample, and, in the S2 files, ``cloud_mask``
(sample, time, y, x; non-zero = cloud or shadow).

One index row per location and timestamp: ``patch_id`` is the published ``sample_id``
(``<location>_<t>``), ``s1_dir``/``s2_dir`` are the two zarr files (the pixels' home),
``split`` is the release's train / val split, ``cloud_share`` the share of cloudy pixels.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csmoe.errors import InputError
from csmoe.finite import non_finite as non_finite_problem
from csmoe.footprints import meteorological_season
from csmoe.index.patches import PatchProblem, Skipped, collect
from csmoe.zarr_zip import ZARR_SUFFIX, open_zarr_zip

PRODUCTS = {"l2a": "S2L2A", "l1c": "S2L1C"}
S1_PRODUCT = "S1GRD"
SPLITS = {"train": "train", "val": "validation"}
SIDE = 264


def _open(path: Path):
    try:
        return open_zarr_zip(path)
    except InputError as error:  # a patch problem: skippable with --skip-bad
        raise PatchProblem(path, error.problem) from None


def _variable(path: Path, dataset, name: str) -> np.ndarray:
    if name not in dataset.variables:
        raise PatchProblem(path, f"no variable {name!r}")
    return dataset[name].values


def _check_bands(path: Path, dataset, check: str, non_finite: str) -> np.ndarray | None:
    """Shape checks; with `check` "full", the non-finite pixels of every (sample, time)
    under the `non_finite` policy (counts returned), else None."""
    bands = dataset["bands"] if "bands" in dataset.variables else None
    if bands is None or bands.dims != ("sample", "time", "band", "y", "x"):
        raise PatchProblem(path, "no bands (sample, time, band, y, x) variable")
    if bands.shape[-2:] != (SIDE, SIDE):
        raise PatchProblem(path, f"expected {SIDE} x {SIDE} px, found {bands.shape[-2:]}")
    if check != "full":
        return None
    if not np.issubdtype(bands.dtype, np.floating):
        return np.zeros(bands.shape[:2], dtype=np.int64)
    bad = ~np.isfinite(bands.values)
    whole_band = bad.all(axis=(-2, -1)).any()
    if bad.any() and (non_finite == "reject" or whole_band):
        problem = non_finite_problem(bands.values[bad.any(axis=(2, 3, 4))][0])
        raise PatchProblem(path, f"a sample's bands: {problem}")
    return bad.sum(axis=(2, 3, 4))


def read_file(
    name: str, folder: Path, product: str, check: str, non_finite: str = "reject"
) -> dict[str, Any]:
    """Every (location, timestamp) pair of one file name."""
    s2_path, s1_path = folder / PRODUCTS[product] / name, folder / S1_PRODUCT / name
    if not s1_path.is_file():
        raise PatchProblem(s1_path, "missing: the S1 file of the same name as its S2 file")
    s2, s1 = _open(s2_path), _open(s1_path)
    counts = [
        _check_bands(path, ds, check, non_finite) for path, ds in ((s2_path, s2), (s1_path, s1))
    ]
    ids = _variable(s2_path, s2, "sample_id")
    if not np.array_equal(ids, _variable(s1_path, s1, "sample_id")):
        raise PatchProblem(s1_path, f"its samples and timestamps differ from those of {s2_path}")
    crs = _variable(s2_path, s2, "crs")
    if not np.array_equal(crs, _variable(s1_path, s1, "crs")):
        raise PatchProblem(s1_path, f"its UTM zones differ from those of {s2_path}")
    x, y = _variable(s2_path, s2, "x_"), _variable(s2_path, s2, "y_")
    cloudy = np.full(ids.shape, np.nan)  # a product without a cloud mask: unknown
    if "cloud_mask" in s2.variables:
        cloudy = (s2["cloud_mask"].values > 0).mean(axis=(-2, -1))
    frame = pd.DataFrame(
        {
            "patch_id": ids.ravel().astype(str),
            "s1_name": _variable(s1_path, s1, "file_id").ravel().astype(str),
            "s2_name": _variable(s2_path, s2, "file_id").ravel().astype(str),
            "s1_time": _variable(s1_path, s1, "time_").ravel().astype("datetime64[s]"),
            "s2_time": _variable(s2_path, s2, "time_").ravel().astype("datetime64[s]"),
            "cloud_share": cloudy.ravel().astype(np.float64),
        }
    )
    per_sample = _utm_squares(crs, x, y)
    times = ids.shape[1]
    for column, values in per_sample.items():
        frame[column] = np.repeat(values, times)
    frame["s1_dir"], frame["s2_dir"] = str(s1_path), str(s2_path)
    latitude = np.repeat(_variable(s2_path, s2, "center_lat"), times)
    months = pd.DatetimeIndex(frame["s2_time"]).month.to_numpy()
    frame["season"] = meteorological_season(months, southern=latitude < 0)
    frame["split"] = SPLITS[folder.name]
    if check == "full":
        frame["non_finite_pixels"] = (counts[0] + counts[1]).ravel()
    return {"records": frame.to_dict("records")}


def _utm_squares(crs: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Each sample's square in its UTM zone from its pixel-centre coordinates."""
    half_x = np.abs(x[:, 1] - x[:, 0]) / 2
    half_y = np.abs(y[:, 1] - y[:, 0]) / 2
    return {
        "utm_epsg": crs.astype(np.int32),
        "utm_ulx": x.min(axis=1) - half_x,
        "utm_uly": y.max(axis=1) + half_y,
        "utm_lrx": x.max(axis=1) + half_x,
        "utm_lry": y.min(axis=1) - half_y,
    }


def file_names(root: Path, product: str) -> list[tuple[Path, str]]:
    """(split folder, file name) of every S2 file of `product`."""
    if not root.is_dir():
        raise InputError(root, "SSL4EO-S12 v1.1 root folder does not exist")
    found = []
    for split in SPLITS:
        folder = root / split / PRODUCTS[product]
        if folder.is_dir():
            found += [(root / split, p.name) for p in sorted(folder.glob(f"*{ZARR_SUFFIX}"))]
    if not found:
        raise InputError(
            root,
            f"no {PRODUCTS[product]}/*{ZARR_SUFFIX} under train/ or val/: "
            "not an SSL4EO-S12 v1.1 root",
        )
    return found


def index_ssl4eo_s12_zarr(
    root: Path,
    *,
    s2_product: str = "l2a",
    check: str = "full",
    non_finite: str = "reject",
    skip_bad: bool = False,
    workers: int = 1,
) -> tuple[pd.DataFrame, list[Skipped]]:
    root = Path(root)
    if s2_product not in PRODUCTS:
        raise InputError("s2_product", f"expected one of {sorted(PRODUCTS)}, got {s2_product!r}")
    items = file_names(root, s2_product)
    reader = functools.partial(_read_item, product=s2_product, check=check, non_finite=non_finite)
    names = [f"{folder.name}/{name}" for folder, name in items]
    results, skipped = collect(
        reader, items, names, skip_bad=skip_bad, workers=workers, names_are_ids=False
    )
    records = [record for result in results for record in result["records"]]
    if not records:
        raise InputError(root, "every file was skipped: nothing to index")
    return pd.DataFrame.from_records(records), skipped


def _read_item(item: tuple[Path, str], product: str, check: str, non_finite: str) -> dict[str, Any]:
    folder, name = item
    return read_file(name, folder, product, check, non_finite)
