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
        raise InputError(path, f"not a readable zarr zip file ({error})") from None
