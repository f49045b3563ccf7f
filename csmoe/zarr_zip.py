"""Zarr (format 2) zip files, as SSL4EO-S12 v1.1 publishes them: one opener for the index
and the shard stage (xarray and zarr only; no PyTorch, no geo stack).

Before xarray reads a file, the header of every Blosc-compressed chunk is checked
against the chunk's size in the zip and its array's chunk size: c-blosc trusts the
sizes in a chunk's header, and a chunk whose header claims more bytes than it holds made
the decompressor read past its buffer (a segmentation fault, found by fuzzing).
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile

import numpy as np

from csmoe.errors import InputError

ZARR_SUFFIX = ".zarr.zip"


def open_zarr_zip(path: str | os.PathLike[str]):
    """The xarray dataset of one ``.zarr.zip`` file, lazily loaded; a clear error naming
    the file when it is not one."""
    import xarray as xr
    from zarr.storage import ZipStore

    try:
        with zipfile.ZipFile(path) as archive:
            damaged = _damaged_blosc_chunk(archive)
        if damaged is None:
            return xr.open_zarr(ZipStore(path, mode="r"), zarr_format=2)
    except Exception as error:  # zipfile, zarr and xarray raise many types for bad files
        raise InputError(
            path, f"not a readable zarr zip file ({type(error).__name__}: {error})"
        ) from None
    raise InputError(path, f"damaged chunk {damaged}")


BLOSC_HEADER = 16  # version, version of the codec, flags, type size, then 3 x uint32
BLOSC_MEMCPYED = 0x02  # flag: the chunk is stored uncompressed after the header


def _damaged_blosc_chunk(archive: zipfile.ZipFile) -> str | None:
    """The first Blosc chunk whose header contradicts its size, as "member: problem"."""
    members: dict[str, list[zipfile.ZipInfo]] = {}
    for info in archive.infolist():
        folder = info.filename.rpartition("/")[0]
        members.setdefault(folder, []).append(info)
    for infos in members.values():
        meta_info = next((i for i in infos if i.filename.endswith(".zarray")), None)
        if meta_info is None:
            continue
        meta = json.loads(archive.read(meta_info))
        if not isinstance(meta, dict) or (meta.get("compressor") or {}).get("id") != "blosc":
            continue
        dtype = np.dtype(meta["dtype"])
        fixed = dtype.kind not in "OV" and not meta.get("filters")
        expected = math.prod(meta["chunks"]) * dtype.itemsize if fixed else None
        for info in infos:
            if info.filename.rpartition("/")[2].startswith("."):
                continue
            with archive.open(info) as handle:
                header = handle.read(BLOSC_HEADER)
            problem = _blosc_problem(header, info.file_size, expected)
            if problem:
                return f"{info.filename}: {problem}"
    return None


def _blosc_problem(header: bytes, size: int, expected: int | None) -> str | None:
    if len(header) < BLOSC_HEADER:
        return "shorter than a Blosc header"
    flags = header[2]
    nbytes, blocksize, cbytes = struct.unpack("<III", header[4:16])
    if cbytes != size:
        return f"its header says {cbytes} compressed bytes, it holds {size}"
    if expected is not None and nbytes != expected:
        return f"its header says {nbytes} bytes, a chunk of its array holds {expected}"
    if nbytes and not 0 < blocksize <= max(nbytes, 1 << 20):
        return f"its header gives a block size of {blocksize} for {nbytes} bytes"
    if flags & BLOSC_MEMCPYED and cbytes != nbytes + BLOSC_HEADER:
        return "its header says it is stored uncompressed, but its size disagrees"
    return None


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
