"""Read SSL4EO-S12 v1.1 pairs from their zarr zip files onto the shard grid.

v1.1 stores every band at 10 m on 264 x 264 px (2,640 m). Shards hold 120 x 120 px at
10 m (1,200 m, a BigEarthNet patch), so a pair is its centre 120 px crop: the same
ground resolution and patch size as BigEarthNet, no resampling. A pair is found by its
``patch_id`` (the release's ``sample_id``, ``<location>_<timestamp>``).

The release chunks ``bands`` by timestamp ("The timestamps are chunked separately",
README of DLR-MF-DAS/SSL4EO-S12-v1.1), so one chunk may hold a timestamp of many
locations, and decoding that chunk is most of the cost of a read. Pairs are therefore
read a file at a time: every manifest row of one file and timestamp in one selection,
which decodes each chunk once for all the rows it holds. The crops go into a
`CropCache` (two ``.npy`` arrays in manifest order, in the values the shards store),
from which the shards are then written in selection order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csmoe.data.patch import SIDE
from csmoe.errors import InputError
from csmoe.finite import problem_under, repair
from csmoe.zarr_zip import names as names_along
from csmoe.zarr_zip import open_zarr_zip

FULL_SIDE = 264
_CROP = slice((FULL_SIDE - SIDE) // 2, (FULL_SIDE - SIDE) // 2 + SIDE)
S1_NAMES = ("vv", "vh")  # the release's S1 band names, in our VV, VH order


@dataclass(frozen=True)
class CropCache:
    """Centre crops of every zarr-backed manifest row, at the row's manifest position:
    ``s2.npy`` (rows, bands, 120, 120) uint16 and ``s1.npy`` (rows, 2, 120, 120) float16."""

    folder: Path
    rows: int
    s2_bands: tuple[str, ...]

    @classmethod
    def create(cls, folder: Path, rows: int, s2_bands: tuple[str, ...]) -> CropCache:
        cache = cls(Path(folder), rows, tuple(s2_bands))
        for name, dtype, bands in (("s2", np.uint16, len(s2_bands)), ("s1", np.float16, 2)):
            shape = (rows, bands, SIDE, SIDE)
            np.lib.format.open_memmap(cache.folder / f"{name}.npy", "w+", dtype, shape).flush()
        return cache

    def array(self, name: str, mode: str = "r") -> np.memmap:
        return np.load(self.folder / f"{name}.npy", mmap_mode=mode)


def fill_from_file(cache: CropCache, positions: np.ndarray, patch_ids: list[str],
                   s2_path: str, s1_path: str, non_finite: str = "reject") -> None:  # fmt: skip
    """Crop every listed pair of one S2/S1 file pair into the cache at `positions`."""
    s2 = _crops(Path(s2_path), patch_ids, cache.s2_bands, non_finite)
    s1 = _crops(Path(s1_path), patch_ids, S1_NAMES, non_finite)
    s2_out, s1_out = cache.array("s2", "r+"), cache.array("s1", "r+")
    s2_out[positions] = np.clip(np.rint(s2), 0, 65535)
    s1_out[positions] = s1
    s2_out.flush()
    s1_out.flush()


def _crops(path: Path, patch_ids: list[str], names: tuple[str, ...],
           non_finite: str) -> np.ndarray:  # fmt: skip
    """(pairs, bands, 120, 120) float32 centre crops, one selection per timestamp."""
    dataset = open_zarr_zip(path)
    samples, times = _positions(path, dataset, patch_ids)
    bands = _band_positions(path, dataset, names)
    out = np.empty((len(patch_ids), len(names), SIDE, SIDE), dtype=np.float32)
    for time in np.unique(times):
        rows = np.flatnonzero(times == time)
        try:
            selected = dataset["bands"].isel(sample=samples[rows], time=int(time), band=bands,
                                             y=_CROP, x=_CROP)  # fmt: skip
            out[rows] = selected.values
        except Exception as error:  # zarr's codecs raise many types for damaged chunks
            raise InputError(path, f"unreadable bands of timestamp {time} ({error})") from None
    for pixels, patch_id in zip(out, patch_ids, strict=True):
        for band, values in zip(names, pixels, strict=True):
            problem = problem_under(non_finite, values)
            if problem:
                raise InputError(path, f"{patch_id} {band}: {problem}")
        if non_finite == "repair":
            pixels[:] = np.stack([repair(v) for v in pixels])
    return out


def _positions(path: Path, dataset, patch_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sample and time positions of ``<location>_<timestamp>`` ids in the file."""
    bands = dataset["bands"] if "bands" in dataset.variables else None
    if bands is None or bands.dims != ("sample", "time", "band", "y", "x"):
        raise InputError(path, "no bands (sample, time, band, y, x) variable")
    if bands.shape[-2:] != (FULL_SIDE, FULL_SIDE):
        raise InputError(path, f"bands are not {FULL_SIDE} px squares")
    positions = names_along(path, dataset, "sample")
    locations, times = [], []
    for patch_id in patch_ids:
        location, _, time = patch_id.rpartition("_")
        if not time.isdigit() or int(time) >= dataset.sizes["time"]:
            raise InputError(path, f"no sample {patch_id}: no timestamp {time!r}")
        locations.append(location)
        times.append(int(time))
    absent = [i for i, location in zip(patch_ids, locations, strict=True)
              if location not in positions]  # fmt: skip
    if absent:
        raise InputError(path, f"no sample {absent[0]}")
    return np.array([positions[location] for location in locations]), np.asarray(times)


def _band_positions(path: Path, dataset, wanted: tuple[str, ...]) -> np.ndarray:
    positions = names_along(path, dataset, "band")
    missing = [name for name in wanted if name not in positions]
    if missing:
        raise InputError(path, f"no band(s) {', '.join(missing)}")
    return np.array([positions[name] for name in wanted])
