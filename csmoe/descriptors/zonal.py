"""Class counts of a categorical raster inside many small footprints, vectorised.

Pixel-inclusion rule (the one `rasterstats` applies with ``all_touched=False``, plus a
fallback): a pixel belongs to a footprint when its centre lies inside the footprint's
quadrilateral (the patch corners transformed to the raster's CRS). A footprint smaller
than a pixel may contain no pixel centre at all; it then takes the one pixel that
contains its centre (the mean of its corners), which is what `rasterstats` reports for
that point. Pixels whose value is the raster's nodata, or that lie beyond the raster's
edge, are left out of the class counts.

Footprints are processed in groups that share one raster window, so a continental
raster is read block by block, never whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rasterio.crs
from rasterio.windows import Window

from csmoe.errors import InputError
from csmoe.footprints import utm_corners

BLOCK = 1024  # raster pixels per side of the windows footprints are grouped into
GROUP = 16384  # footprints per vectorised batch
NODATA_CLASS = -2
UNKNOWN_CLASS = -1


@dataclass(frozen=True)
class ClassCounts:
    counts: np.ndarray  # (n, classes) int32: valid pixels of each class
    pixels: np.ndarray  # (n,) int32: pixels assigned to the footprint (nodata included)
    centred: np.ndarray  # (n,) bool: no centre inside; the centre pixel was used


def raster_crs(raster: Path) -> rasterio.crs.CRS:
    """The raster's CRS; a clear error when it has none."""
    with rasterio.open(raster) as src:
        if src.crs is None:
            raise InputError(raster, "raster has no CRS")
        return src.crs


def footprint_quads(index: pd.DataFrame, crs) -> np.ndarray:
    """(n, 4, 2) footprint corners in the raster's `crs` (see `csmoe.footprints`)."""
    return utm_corners(index, crs)


def lookup_table(src: rasterio.DatasetReader, class_of_value: dict[int, int]) -> np.ndarray:
    if not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
        raise InputError(src.name, f"expected an integer class raster, found {src.dtypes[0]}")
    size = int(np.iinfo(np.dtype(src.dtypes[0])).max) + 1
    table = np.full(size, UNKNOWN_CLASS, dtype=np.int16)
    for value, cls in class_of_value.items():
        if 0 <= value < size:
            table[value] = cls
    if src.nodata is not None and float(src.nodata).is_integer() and 0 <= src.nodata < size:
        table[int(src.nodata)] = NODATA_CLASS
    return table


def _inside(corners: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Points (n, h, w) inside the convex quads (n, 4, 2): same side of all four edges."""
    x, y = corners[..., 0], corners[..., 1]
    area = np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)
    sign = np.where(area >= 0, 1.0, -1.0)[:, None, None]
    inside = np.ones(cx.shape, dtype=bool)
    for k in range(4):
        x0, y0 = x[:, k, None, None], y[:, k, None, None]
        dx = (x[:, (k + 1) % 4] - x[:, k])[:, None, None]
        dy = (y[:, (k + 1) % 4] - y[:, k])[:, None, None]
        inside &= sign * (dx * (cy - y0) - dy * (cx - x0)) >= 0
    return inside


def read_window(
    src: rasterio.DatasetReader, row0: int, col0: int, height: int, width: int, fill: int
) -> np.ndarray:
    """A window that may reach past the raster's edge; the outside is `fill`."""
    out = np.full((height, width), fill, dtype=src.dtypes[0])
    r0, c0 = max(row0, 0), max(col0, 0)
    r1, c1 = min(row0 + height, src.height), min(col0 + width, src.width)
    if r1 > r0 and c1 > c0:
        out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = src.read(
            1, window=Window(c0, r0, c1 - c0, r1 - r0)
        )
    return out


def class_counts(
    raster: str | os.PathLike[str],
    quads: np.ndarray,
    class_of_value: dict[int, int],
    n_classes: int,
    *,
    names: np.ndarray | None = None,
) -> ClassCounts:
    """Count each class's valid pixels inside every footprint `quads` (raster CRS)."""
    raster = Path(raster)
    with rasterio.open(raster) as src:
        t = src.transform
        if t.b != 0 or t.d != 0:
            raise InputError(raster, "rotated rasters are not supported")
        cols = (quads[..., 0] - t.c) / t.a
        rows = (quads[..., 1] - t.f) / t.e
        pix = np.stack([cols, rows], axis=-1)
        col0 = np.floor(cols.min(axis=1)).astype(np.int64)
        row0 = np.floor(rows.min(axis=1)).astype(np.int64)
        col1 = np.ceil(cols.max(axis=1)).astype(np.int64)
        row1 = np.ceil(rows.max(axis=1)).astype(np.int64)
        outside = (col1 <= 0) | (row1 <= 0) | (col0 >= src.width) | (row0 >= src.height)
        if outside.any():
            first = int(np.flatnonzero(outside)[0])
            who = f"patch {names[first]}" if names is not None else f"footprint {first}"
            raise InputError(raster, f"{who} lies outside the raster ({outside.sum()} in all)")
        table = lookup_table(src, class_of_value)
        fill = 0  # pixels beyond the raster's edge are masked by position, not value
        counts = np.zeros((len(quads), n_classes), dtype=np.int32)
        pixels = np.zeros(len(quads), dtype=np.int32)
        centred = np.zeros(len(quads), dtype=bool)
        block = (row0 // BLOCK) * (src.width // BLOCK + 2) + col0 // BLOCK
        order = np.argsort(block, kind="stable")
        starts = np.flatnonzero(np.diff(block[order], prepend=-1))
        for group in np.split(order, starts[1:]):
            for part in np.array_split(group, -(-len(group) // GROUP)):
                _count_group(src, raster, table, fill, pix, row0, col0, row1, col1, part,
                             counts, pixels, centred)  # fmt: skip
    return ClassCounts(counts, pixels, centred)


def _count_group(src, raster, table, fill, pix, row0, col0, row1, col1, ids, counts, pixels,
                 centred) -> None:  # fmt: skip
    size = int(max((row1 - row0)[ids].max(), (col1 - col0)[ids].max()))
    r_lo, c_lo = int(row0[ids].min()), int(col0[ids].min())
    window = read_window(
        src, r_lo, c_lo, int(row0[ids].max()) - r_lo + size, int(col0[ids].max()) - c_lo + size,
        fill,
    )  # fmt: skip
    offsets = np.arange(size)
    row = row0[ids, None, None] + offsets[None, :, None]
    col = col0[ids, None, None] + offsets[None, None, :]
    row, col = np.broadcast_arrays(row, col)
    corners = pix[ids]
    member = _inside(corners, col + 0.5, row + 0.5)
    empty = ~member.any(axis=(1, 2))
    if empty.any():
        centre = corners[empty].mean(axis=1)
        member[empty] = (col[empty] == np.floor(centre[:, 0, None, None])) & (
            row[empty] == np.floor(centre[:, 1, None, None])
        )
        centred[ids[empty]] = True
    values = window[row - r_lo, col - c_lo]
    classes = table[values]
    beyond = (row < 0) | (col < 0) | (row >= src.height) | (col >= src.width)
    classes[beyond] = NODATA_CLASS
    unknown = member & (classes == UNKNOWN_CLASS)
    if unknown.any():
        value = int(values[unknown][0])
        raise InputError(raster, f"pixel value {value} is not in the legend")
    pixels[ids] = member.sum(axis=(1, 2))
    valid = member & (classes >= 0)
    local = np.broadcast_to(np.arange(len(ids))[:, None, None], valid.shape)[valid]
    n_classes = counts.shape[1]
    flat = np.bincount(local * n_classes + classes[valid], minlength=len(ids) * n_classes)
    counts[ids] = flat.reshape(len(ids), n_classes)
