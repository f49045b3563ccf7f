"""Reading a shard folder with numpy alone: index, statistics, rows of any shard.

Training machines carry torch and numpy but not the geo stack, so everything a reader
needs lives here; the writer (`csmoe.data.shards`) imports the same names.

A shard is a safetensors file: an 8-byte little-endian header length, a JSON header
(per tensor: dtype, shape, byte offsets into the data block), then the raw row-major
arrays. Sample i of a tensor is therefore one contiguous byte range, which
`ShardFile.read_rows` reads with `os.pread` — any set of samples, without mapping or
reading the rest of the file.

The header is untrusted input: its length, its JSON, every tensor's dtype, shape and
byte range are checked against the file and against the layout the folder's index.json
describes (`ShardFile.check_layout`): the five tensors of `tensor_layout`, one row per
sample, and the band lists recorded in the shard itself (metadata key ``csmoe``), so an
index.json whose band order was edited no longer matches its shards. Shards written
before the band lists were recorded (metadata key ``patch_ids`` only) are read without
that check.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import numpy as np

from csmoe.errors import InputError

FORMAT = "csmoe-shards/1"
INDEX, STATS, SKIPPED = "index.json", "stats.json", "skipped.tsv"
SENSORS = ("s1", "s2")  # the image tensors of a shard, each with its `<sensor>_bands`
SIDE = 120  # pixels per side of every stored image (1,200 m at 10 m)
CLASSES = 19  # BigEarthNet-19 labels
METADATA_KEY = "csmoe"  # one key: safetensors writes metadata in hash order
MAX_HEADER = 64 << 20  # bytes; a shard header lists five tensors and the patch ids
_DTYPES = {"U8": np.uint8, "U16": np.uint16, "I64": np.int64, "F16": np.float16,
           "F32": np.float32}  # fmt: skip


def tensor_layout(index: dict) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    """What every shard of a folder holds: tensor -> (dtype, shape of one sample)."""
    return {
        "s2": (np.dtype(np.uint16), (len(index["s2_bands"]), SIDE, SIDE)),
        "s1": (np.dtype(np.float16), (len(index["s1_bands"]), SIDE, SIDE)),
        "labels": (np.dtype(np.uint8), (CLASSES,)),
        "reference_map": (np.dtype(np.uint16), (SIDE, SIDE)),
        "has_reference_map": (np.dtype(np.uint8), ()),
    }


def shard_metadata(patch_ids: list[str], index_bands: dict[str, list[str]]) -> dict[str, str]:
    """The safetensors metadata of a shard: its patch ids and band lists, one key."""
    content = {"patch_ids": list(patch_ids)}
    content |= {f"{sensor}_bands": list(bands) for sensor, bands in index_bands.items()}
    return {METADATA_KEY: json.dumps(content, sort_keys=True)}


def sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shard_problem(path: Path, entry: dict, *, checksum: bool = True) -> str | None:
    """Missing, truncated, too long or (with `checksum`) corrupt, or None for an intact
    shard; `entry` is the shard's record in index.json."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size < entry["bytes"]:
        return f"truncated: {size} of {entry['bytes']} bytes"
    if size > entry["bytes"]:
        return f"{size} bytes, {entry['bytes']} expected"
    if checksum and sha256(path) != entry["sha256"]:
        return "corrupt: checksum mismatch"
    return None


def _strict_json(path: Path, what: str):
    """The file's JSON, with NaN and Infinity refused (Python's json accepts them)."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not a number")

    try:
        return json.loads(path.read_text(), parse_constant=refuse)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as error:
        raise InputError(path, f"not a valid {what} ({error})") from None


def read_index(folder: str | os.PathLike[str]) -> dict:
    path = Path(folder) / INDEX
    if not path.is_file():
        raise InputError(folder, f"no {INDEX}: not a shard folder")
    index = _strict_json(path, "shard index")
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        found = index.get("format") if isinstance(index, dict) else index
        raise InputError(path, f"unknown shard format {found!r}")
    check_index(path, index)
    return index


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_index(path: Path, index: dict) -> None:
    """Keys and types of a shard index, and sample counts that add up."""
    shard_keys = {"file": str, "samples": int, "bytes": int, "sha256": str}
    try:
        shards = index["shards"]
        if not _count(index["samples"]) or not isinstance(shards, list):
            raise TypeError("'samples' must be a count and 'shards' a list")
        for shard in shards:
            for key, kind in shard_keys.items():
                if not isinstance(shard[key], kind) or (kind is int and not _count(shard[key])):
                    raise TypeError(f"shard entry {key!r} must be {kind.__name__}")
            name = shard["file"]
            if name != Path(name).name or name in ("", ".", ".."):
                raise TypeError(f"shard file {name!r} is not a file name in the folder")
        for key in ("s2_bands", "s1_bands"):
            bands = index[key]
            if (
                not isinstance(bands, list)
                or not bands
                or not all(isinstance(b, str) for b in bands)
            ):
                raise TypeError(f"{key!r} must be a list of band names")
            if len(set(bands)) != len(bands):
                raise TypeError(f"{key!r} names a band twice")
    except (KeyError, TypeError) as error:
        raise InputError(path, f"not a shard index ({error})") from None
    if sum(shard["samples"] for shard in shards) != index["samples"]:
        raise InputError(path, "the shards' sample counts do not add up to 'samples'")
    if len({shard["file"] for shard in shards}) != len(shards):
        raise InputError(path, "a shard file is listed twice")


def read_stats(folder: str | os.PathLike[str]) -> dict[str, dict[str, float]]:
    """Per-band ``{"mean": ..., "std": ...}`` used for normalisation: finite numbers,
    positive standard deviations."""
    path = Path(folder) / STATS
    if not path.is_file():
        raise InputError(folder, f"no {STATS}: not a complete shard folder")
    stats = _strict_json(path, "statistics file")
    try:
        bands = stats["bands"]
        for band, values in bands.items():
            mean, std = values["mean"], values["std"]
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (mean, std)):
                raise TypeError(f"{band}: mean and std must be numbers")
            if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
                raise ValueError(f"{band}: mean {mean}, std {std}")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(path, f"not a statistics file ({error})") from None
    return {band: {"mean": float(v["mean"]), "std": float(v["std"])} for band, v in bands.items()}


def check_stats_cover(where, stats: dict, index: dict) -> None:
    """Every band the shards store has a mean and std in `stats`."""
    absent = [b for b in index["s2_bands"] + index["s1_bands"] if b not in stats]
    if absent:
        raise InputError(where, f"no statistics for band(s) {', '.join(absent)}")


def band_norm(stats: dict, bands: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(mean, 1/std) per band, shaped (bands, 1, 1) for broadcasting over images."""
    mean = np.array([stats[b]["mean"] for b in bands], dtype=np.float32)[:, None, None]
    std = np.array([stats[b]["std"] for b in bands], dtype=np.float32)[:, None, None]
    return mean, 1.0 / std


def normalise(values: np.ndarray, norm: tuple[np.ndarray, np.ndarray],
              out: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """(x - mean) / std as x * (1/std) - mean/std: one cast-multiply into float32 and
    one in-place subtraction, about twice as fast as the textbook expression. `values`
    may be any strided view (a flipped image); `out`, if given, receives the result."""
    mean, inv_std = norm
    out = np.empty(values.shape, dtype=np.float32) if out is None else out
    np.multiply(values, inv_std, out=out, casting="unsafe")
    out -= mean * inv_std
    return out


class ShardFile:
    """Random access to the samples (rows) of one shard's tensors; the header is checked
    against the file when opened (`check_layout` checks it against the folder's index)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            file_size = self.path.stat().st_size
            with open(self.path, "rb") as handle:
                raw = handle.read(8)
                if len(raw) < 8:
                    raise InputError(self.path, "truncated shard (no safetensors header)")
                (size,) = struct.unpack("<Q", raw)
                if size > min(MAX_HEADER, file_size - 8):
                    raise InputError(self.path, f"header length {size} exceeds the shard")
                header = json.loads(handle.read(size))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
            raise InputError(self.path, f"unreadable safetensors header ({error})") from None
        except OSError as error:
            raise InputError(self.path, f"unreadable shard ({error.strerror})") from None
        self.data_start = 8 + size
        self.metadata, self.tensors = self._parse(header, file_size)
        self._content = self._metadata_content()

    def _parse(self, header, file_size: int) -> tuple[dict[str, str], dict]:
        if not isinstance(header, dict):
            raise InputError(self.path, "safetensors header is not a JSON object")
        metadata = header.pop("__metadata__", None) or {}
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise InputError(self.path, "safetensors metadata is not a map of strings")
        tensors = {}
        for name, entry in header.items():
            try:
                dtype = np.dtype(_DTYPES[entry["dtype"]])
                shape = tuple(entry["shape"])
                start, stop = entry["data_offsets"]
                if not all(_count(v) for v in (*shape, start, stop)):
                    raise ValueError("negative or non-integer sizes")
            except (KeyError, TypeError, ValueError) as error:
                raise InputError(
                    self.path, f"tensor {name!r}: bad header entry ({error})"
                ) from None
            if stop - start != int(np.prod(shape, dtype=object)) * dtype.itemsize:
                raise InputError(self.path, f"tensor {name!r}: byte range does not fit its shape")
            if self.data_start + stop > file_size:
                raise InputError(self.path, f"truncated shard ({file_size} bytes, tensor "
                                 f"{name!r} ends at {self.data_start + stop})")  # fmt: skip
            tensors[name] = (dtype, shape, start)
        return metadata, tensors

    def _metadata_content(self) -> dict:
        """Patch ids and band lists (the band lists absent in older shards)."""
        try:
            if METADATA_KEY in self.metadata:
                content = json.loads(self.metadata[METADATA_KEY])
            else:
                content = {"patch_ids": json.loads(self.metadata.get("patch_ids", "[]"))}
            ids = content["patch_ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise TypeError("patch ids must be a list of strings")
        except (json.JSONDecodeError, KeyError, TypeError, RecursionError) as error:
            raise InputError(self.path, f"unreadable shard metadata ({error})") from None
        return content

    def check_layout(self, index: dict, samples: int) -> None:
        """The tensors, shapes, sample count and band lists the folder's index promises."""
        expected = tensor_layout(index)
        if set(self.tensors) != set(expected):
            raise InputError(self.path, f"tensors {sorted(self.tensors)}, expected "
                             f"{sorted(expected)}")  # fmt: skip
        for name, (dtype, shape) in expected.items():
            found = self.tensors[name]
            if found[0] != dtype or found[1] != (samples, *shape):
                raise InputError(self.path, f"tensor {name!r} is {found[0]} {found[1]}, "
                                 f"expected {dtype} {(samples, *shape)}")  # fmt: skip
        if len(self.patch_ids()) != samples:
            raise InputError(self.path, f"{len(self.patch_ids())} patch ids for {samples} samples")
        for sensor in ("s2", "s1"):
            recorded = self._content.get(f"{sensor}_bands")
            if recorded is not None and recorded != index[f"{sensor}_bands"]:
                raise InputError(self.path, f"holds {sensor.upper()} bands {recorded}, but "
                                 f"index.json lists {index[f'{sensor}_bands']}")  # fmt: skip

    def patch_ids(self) -> list[str]:
        return self._content["patch_ids"]

    def read_range(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows start .. stop - 1 of tensor `name`: one read."""
        dtype, shape, offset = self.tensors[name]
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        fd = os.open(self.path, os.O_RDONLY)
        try:
            data = os.pread(fd, (stop - start) * row_bytes,
                            self.data_start + offset + start * row_bytes)  # fmt: skip
        finally:
            os.close(fd)
        if len(data) != (stop - start) * row_bytes:
            raise InputError(self.path, f"truncated shard (rows {start}-{stop} of {name})")
        return np.frombuffer(data, dtype=dtype).reshape(stop - start, *shape[1:])

    def read_rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Rows `rows` (sample indices) of tensor `name`, in the order given."""
        dtype, shape, _ = self.tensors[name]
        out = np.empty((len(rows), *shape[1:]), dtype=dtype)
        self.read_rows_into(name, rows, out, np.arange(len(rows)))
        return out

    def read_rows_into(self, name: str, rows: np.ndarray, out: np.ndarray, slots) -> None:
        """Row rows[i] of tensor `name` into out[slots[i]], read straight from the file
        into the array (no intermediate copy; a file shorter than its header says is an
        InputError, not the SIGBUS a memory map would give)."""
        _, shape, offset = self.tensors[name]
        row_bytes = out[0].nbytes if len(out) else 0
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for slot, row in zip(slots, np.asarray(rows, dtype=np.int64), strict=True):
                start = self.data_start + offset + int(row) * row_bytes
                if os.preadv(fd, [out[slot]], start) != row_bytes:
                    raise InputError(self.path, f"truncated shard (row {row} of {name})")
        finally:
            os.close(fd)
