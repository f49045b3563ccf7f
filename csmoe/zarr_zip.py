"""Zarr (format 2) zip files, as SSL4EO-S12 v1.1 publishes them: one opener for the index
and the shard stage (xarray and zarr only; no PyTorch, no geo stack)."""

from __future__ import annotations

import os

from csmoe.errors import InputError

ZARR_SUFFIX = ".zarr.zip"


def open_zarr_zip(path: str | os.PathLike[str]):
    """The xarray dataset of one ``.zarr.zip`` file, lazily loaded; a clear error naming
    the file when it is not one."""
    import xarray as xr
    from zarr.storage import ZipStore

    try:
        return xr.open_zarr(ZipStore(path, mode="r"), zarr_format=2)
    except Exception as error:  # zipfile, zarr and xarray raise many types for bad files
        raise InputError(
            path, f"not a readable zarr zip file ({type(error).__name__}: {error})"
        ) from None


def is_text(value) -> bool:
    """A value a text column can hold: a non-empty str (bytes decoded) of valid Unicode
    (a chunk missing from the file reads as "")."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return False
    if not isinstance(value, str) or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def names(path, dataset, coordinate: str) -> dict[str, int]:
    """Position of each name along a text coordinate (``sample``, ``band``)."""
    if coordinate not in dataset.coords:
        raise InputError(path, f"no coordinate {coordinate!r}")
    try:
        values = dataset[coordinate].values
    except Exception as error:  # pandas/pyarrow refuse text that is not valid UTF-8
        raise InputError(path, f"unreadable coordinate {coordinate!r} ({error})") from None
    if values.dtype.kind not in "USO" or not all(is_text(v) for v in values.ravel()):
        raise InputError(path, f"coordinate {coordinate!r} holds values that are not names")
    found = {str(v): i for i, v in enumerate(values.ravel())}
    if len(found) != values.size:
        raise InputError(path, f"coordinate {coordinate!r} names an entry twice")
    return found
