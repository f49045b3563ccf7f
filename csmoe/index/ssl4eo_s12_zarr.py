"""Index of an SSL4EO-S12 v1.1 archive: zarr (format 2) zip files of aligned samples.

Layout of the Zarr distribution (Hugging Face ``embed2scale/SSL4EO-S12-v1.1-Zarr``; the
layout and variables as the release's README, DLR-MF-DAS/SSL4EO-S12-v1.1, prints them)::

    <root>/train/S1GRD/ssl4eos12_train_seasonal_data_000001.zarr.zip
    <root>/train/S2L1C/..., <root>/train/S2L2A/..., <root>/train/S2RGB/...
    <root>/val/S1GRD/ssl4eos12_val_seasonal_data_000001.zarr.zip, ...

Files of the same name hold the same 64 locations (``sample``) with four timestamps each
(``time``), aligned across S1 GRD, S2 L1C and S2 L2A: timestamp t of a location in the S1
file is the partner of timestamp t in the S2 file. Each file is an xarray dataset with
``bands`` (sample, time, band, y, x; 264 x 264 px at 10 m), ``sample_id`` and
``file_id`` (the scene; for S2 ``<sensing time>_<granule time>_T<MGRS tile>``) and
``time_`` per sample and time, the UTM zone ``crs`` (EPSG) and pixel-centre coordinates
``x_``, ``y_`` per sample, and, in the S2 files, ``cloud_mask`` (sample, time, y, x): a
class map with land 0, water 1, snow 2, thin cloud 3, thick cloud 4, cloud shadow 5 and
no data 6 (README, "Returning metadata"; the classes of the SEnSeIv2 cloud model).

The release's main Hugging Face dataset, ``embed2scale/SSL4EO-S12-v1.1``, is a WebDataset
distribution of the same samples (``<split>/<modality>/ssl4eos12_shard_NNNNNN.tar``, one
single-location zarr zip per tar member): that layout is not read here, and a root that
holds it is refused with a message saying so.

One index row per location and timestamp: ``patch_id`` is the published ``sample_id``
(``<location>_<t>``), ``s1_dir``/``s2_dir`` are the two zarr files (the pixels' home),
``split`` is the release's train / val split, ``tile`` the MGRS tile of the S2 scene.
``cloud_share`` is the share of thin cloud, thick cloud and cloud shadow among the
sample's pixels that have data, ``nodata_share`` the share of no-data pixels; water and
snow are not cloud. The ``cloud`` flag is ``cloud_share > cloud_threshold``, so that the
sampling exclusion ``cloud`` means a cloudy patch on every archive kind.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csmoe.errors import InputError
from csmoe.finite import non_finite as non_finite_problem
from csmoe.footprints import meteorological_season
from csmoe.index.patches import PatchProblem, Skipped, collect
from csmoe.zarr_zip import ZARR_SUFFIX, is_text, open_zarr_zip

PRODUCTS = {"l2a": "S2L2A", "l1c": "S2L1C"}
S1_PRODUCT = "S1GRD"
SPLITS = {"train": "train", "val": "validation"}
SIDE = 264
# Cloud mask classes (release README): land, water, snow, thin cloud, thick cloud, shadow.
CLOUD_CLASSES = (3, 4, 5)
NODATA_CLASS = 6
DEFAULT_CLOUD_THRESHOLD = 0.05
WEBDATASET_SUFFIX = ".tar"
_TILE = re.compile(r"_T(\d{2}[A-Z]{3})$")


def _open(path: Path):
    try:
        return open_zarr_zip(path)
    except InputError as error:  # a patch problem: skippable with --skip-bad
        raise PatchProblem(path, error.problem) from None


# Each variable the index reads: its dimensions and the dtype kinds it may have.
VARIABLES = {
    "sample_id": (("sample", "time"), "USO"), "file_id": (("sample", "time"), "USO"),
    "time_": (("sample", "time"), "M"), "crs": (("sample",), "iu"),
    "x_": (("sample", "x"), "fiu"), "y_": (("sample", "y"), "fiu"),
    "center_lat": (("sample",), "fiu"), "cloud_mask": (("sample", "time", "y", "x"), "iu"),
}  # fmt: skip
UTM_EPSG = set(range(32601, 32661)) | set(range(32701, 32761))


def _variable(path: Path, dataset, name: str) -> np.ndarray:
    """A variable's values, of the dimensions and dtype kind the release gives it."""
    if name not in dataset.variables:
        raise PatchProblem(path, f"no variable {name!r}")
    dims, kinds = VARIABLES[name]
    variable = dataset[name]
    if variable.dims != dims or variable.dtype.kind not in kinds:
        raise PatchProblem(path, f"variable {name!r} is {variable.dtype} {variable.dims}, "
                           f"expected {dims}")  # fmt: skip
    try:
        values = variable.values
    except Exception as error:  # zarr's codecs raise many types for damaged chunks
        raise PatchProblem(path, f"unreadable variable {name!r} ({error})") from None
    if values.dtype.kind in "USO" and not all(is_text(v) for v in values.ravel()):
        raise PatchProblem(path, f"variable {name!r} holds values that are not text (or none)")
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        raise PatchProblem(path, f"variable {name!r} holds NaN or infinite values")
    return values


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
    counts = np.zeros(bands.shape[:2], dtype=np.int64)
    for time in range(bands.shape[1]):  # every chunk decoded once (integer bands too)
        try:
            values = bands.isel(time=time).values
        except Exception as error:  # zarr's codecs raise many types for damaged chunks
            raise PatchProblem(path, f"unreadable bands of timestamp {time} ({error})") from None
        if not np.issubdtype(values.dtype, np.floating):
            continue
        bad = ~np.isfinite(values)
        whole_band = bad.all(axis=(-2, -1)).any()
        if bad.any() and (non_finite == "reject" or whole_band):
            problem = non_finite_problem(values[bad.any(axis=(1, 2, 3))][0])
            raise PatchProblem(path, f"a sample's bands: {problem}")
        counts[:, time] = bad.sum(axis=(1, 2, 3))
    return counts


def mask_shares(path: Path, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cloud share among pixels with data, no-data share) per sample and time, from the
    cloud-mask class maps; NaN cloud share where a sample has no data at all."""
    if mask.size and (mask.min() < 0 or mask.max() > NODATA_CLASS):
        raise PatchProblem(
            path, f"cloud_mask values outside the published classes 0-{NODATA_CLASS}"
        )
    pixels = mask.shape[-2] * mask.shape[-1]
    nodata = (mask == NODATA_CLASS).sum(axis=(-2, -1))
    cloudy = np.isin(mask, CLOUD_CLASSES).sum(axis=(-2, -1))
    with_data = pixels - nodata
    share = np.divide(cloudy, with_data, out=np.full(cloudy.shape, np.nan), where=with_data > 0)
    return share, nodata / pixels


def scene_tile(file_id: str) -> str | None:
    """The MGRS tile at the end of an S2 ``file_id`` (``..._T51TXG`` -> ``51TXG``)."""
    found = _TILE.search(file_id)
    return found.group(1) if found else None


def read_file(
    name: str, folder: Path, product: str, check: str, non_finite: str = "reject",
    cloud_threshold: float = DEFAULT_CLOUD_THRESHOLD,
) -> dict[str, Any]:  # fmt: skip
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
    if not set(crs.tolist()) <= UTM_EPSG:
        raise PatchProblem(s2_path, "variable 'crs' holds a code that is not a UTM zone")
    x, y = _variable(s2_path, s2, "x_"), _variable(s2_path, s2, "y_")
    if (np.diff(x, axis=1) <= 0).any() or (np.diff(y, axis=1) >= 0).any():
        raise PatchProblem(s2_path, "pixel centres x_ must increase and y_ decrease")
    latitude = _variable(s2_path, s2, "center_lat")
    if (np.abs(latitude) > 90).any():
        raise PatchProblem(s2_path, "variable 'center_lat' holds a latitude beyond 90")
    cloudy = nodata = np.full(ids.shape, np.nan)  # a product without a cloud mask: unknown
    if "cloud_mask" in s2.variables:
        cloudy, nodata = mask_shares(s2_path, _variable(s2_path, s2, "cloud_mask"))
    s2_names = _variable(s2_path, s2, "file_id").ravel().astype(str)
    frame = pd.DataFrame(
        {
            "patch_id": ids.ravel().astype(str),
            "s1_name": _variable(s1_path, s1, "file_id").ravel().astype(str),
            "s2_name": s2_names,
            "tile": [scene_tile(name) for name in s2_names],
            "s1_time": _variable(s1_path, s1, "time_").ravel().astype("datetime64[s]"),
            "s2_time": _variable(s2_path, s2, "time_").ravel().astype("datetime64[s]"),
            "cloud_share": cloudy.ravel().astype(np.float64),
            "nodata_share": nodata.ravel().astype(np.float64),
        }
    )
    missing = frame["s1_time"].isna() | frame["s2_time"].isna()
    if missing.any():
        raise PatchProblem(s2_path, f"sample {frame['patch_id'][missing].iloc[0]} has no "
                           "timestamp (NaT)")  # fmt: skip
    known = frame["cloud_share"].notna()
    frame["cloud"] = (frame["cloud_share"] > cloud_threshold).where(known).astype("boolean")
    per_sample = _utm_squares(crs, x, y)
    times = ids.shape[1]
    for column, values in per_sample.items():
        frame[column] = np.repeat(values, times)
    frame["s1_dir"], frame["s2_dir"] = str(s1_path), str(s2_path)
    latitude = np.repeat(latitude, times)
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
    if not found and any(root.glob(f"*/*/*{WEBDATASET_SUFFIX}")):
        raise InputError(
            root,
            "this is the WebDataset distribution of SSL4EO-S12 v1.1 (.tar shards, "
            "embed2scale/SSL4EO-S12-v1.1), which is not read: download the Zarr "
            "distribution (embed2scale/SSL4EO-S12-v1.1-Zarr, .zarr.zip files)",
        )
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
    cloud_threshold: float = DEFAULT_CLOUD_THRESHOLD,
    skip_bad: bool = False,
    workers: int = 1,
) -> tuple[pd.DataFrame, list[Skipped]]:
    root = Path(root)
    if s2_product not in PRODUCTS:
        raise InputError("s2_product", f"expected one of {sorted(PRODUCTS)}, got {s2_product!r}")
    if not 0 <= cloud_threshold <= 1:
        raise InputError("cloud_threshold", f"expected a share in [0, 1], got {cloud_threshold}")
    items = file_names(root, s2_product)
    reader = functools.partial(_read_item, product=s2_product, check=check,
                               non_finite=non_finite, cloud_threshold=cloud_threshold)  # fmt: skip
    names = [f"{folder.name}/{name}" for folder, name in items]
    results, skipped = collect(
        reader, items, names, skip_bad=skip_bad, workers=workers, names_are_ids=False
    )
    records = [record for result in results for record in result["records"]]
    if not records:  # every file was skipped: the caller lists them and stops
        return pd.DataFrame(), skipped
    return pd.DataFrame.from_records(records), skipped


def _read_item(item: tuple[Path, str], product: str, check: str, non_finite: str,
               cloud_threshold: float) -> dict[str, Any]:  # fmt: skip
    folder, name = item
    return read_file(name, folder, product, check, non_finite, cloud_threshold)
