"""Class counts of a categorical raster inside many footprints, vectorised.

Pixel-inclusion rule (the one `rasterstats` applies with ``all_touched=False``, plus a
fallback): a pixel belongs to a footprint when its centre lies inside the footprint's
quadrilateral (the patch corners transformed to the raster's CRS). A footprint smaller
than a pixel may contain no pixel centre at all; it then takes the one pixel that
contains its centre (the mean of its corners), which is what `rasterstats` reports for
that point. Pixels whose value is the raster's declared nodata (negative values such as
CORINE's -128 included), or that lie beyond the raster's edge, are left out of the class
counts but counted in ``pixels``, so ``counts.sum(1) / pixels`` is a footprint's covered
share.

Footprints are processed in groups that share one raster window, so a continental
raster (or a mosaic of tiles) is read block by block, never whole. Inside a group, a
pixel row of a convex quad is one run of columns: membership is two comparisons per
pixel against each row's run, for footprints of a dozen pixels (CORINE at 100 m) as for
footprints of hundreds (ESA WorldCover at 10 m).
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
GROUP_PIXELS = 1 << 22  # candidate pixels per vectorised batch (bounds memory)
SMALL = 48  # footprints up to this many pixels a side are counted together
NODATA_CLASS = -2
UNKNOWN_CLASS = -1
OUTSIDE = ("error", "nodata")  # a footprint beyond the raster's frame: refused, or uncovered

Classify = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ClassCounts:
    counts: np.ndarray  # (n, classes) int64: valid pixels of each class
    pixels: np.ndarray  # (n,) int64: pixels assigned to the footprint (nodata included)
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


def lookup_table(src: rasterio.DatasetReader, class_of_value: dict[int, int]) -> Classify:
    """A function from raster values to class indices: the legend's class, NODATA_CLASS
    for the declared nodata value, UNKNOWN_CLASS for any other value.

    8- and 16-bit rasters (signed or not) use a dense table over the whole value range;
    wider ones look values up in the sorted legend codes, so memory stays that of the
    legend whatever the data type."""
    dtype = np.dtype(src.dtypes[0])
    if not np.issubdtype(dtype, np.integer):
        raise InputError(src.name, f"expected an integer class raster, found {dtype}")
    info = np.iinfo(dtype)
    mapping = {v: c for v, c in class_of_value.items() if info.min <= v <= info.max}
    nodata = src.nodata
    if nodata is not None and float(nodata).is_integer() and info.min <= nodata <= info.max:
        mapping[int(nodata)] = NODATA_CLASS
    if dtype.itemsize <= 2:
        table = np.full(int(info.max) - int(info.min) + 1, UNKNOWN_CLASS, dtype=np.int16)
        for value, cls in mapping.items():
            table[value - int(info.min)] = cls
        if info.min == 0:
            return lambda values: table[values]
        return lambda values: table[values.astype(np.int32) - int(info.min)]
    codes = np.array(sorted(mapping), dtype=dtype)
    classes = np.array([mapping[c] for c in sorted(mapping)] + [UNKNOWN_CLASS], dtype=np.int16)

    def classify(values: np.ndarray) -> np.ndarray:
        at = np.searchsorted(codes, values)
        hit = at < len(codes)
        hit[hit] = codes[at[hit]] == values[hit]
        return classes[np.where(hit, at, len(codes))]

    return classify


def row_runs(corners: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column range [lo, hi] of each convex quad (n, 4, 2 in pixel units) on the lines
    y = `rows` (n, h): the pixel centres x + 0.5 with lo <= x + 0.5 <= hi lie inside.
    Rows the quad does not reach get an empty range (lo > hi)."""
    x, y = corners[..., 0], corners[..., 1]
    x1, y1 = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    lo = np.full(rows.shape, np.inf)
    hi = np.full(rows.shape, -np.inf)
    for k in range(4):
        ya, yb = np.minimum(y[:, k], y1[:, k])[:, None], np.maximum(y[:, k], y1[:, k])[:, None]
        crosses = (rows >= ya) & (rows <= yb)
        dy = (y1[:, k] - y[:, k])[:, None]
        flat = dy == 0
        t = np.where(flat, 0.0, (rows - y[:, k, None]) / np.where(flat, 1.0, dy))
        at = x[:, k, None] + t * (x1[:, k] - x[:, k])[:, None]
        # A horizontal edge on the line contributes both of its ends.
        at_lo = np.where(flat, np.minimum(x[:, k], x1[:, k])[:, None], at)
        at_hi = np.where(flat, np.maximum(x[:, k], x1[:, k])[:, None], at)
        lo = np.where(crosses, np.minimum(lo, at_lo), lo)
        hi = np.where(crosses, np.maximum(hi, at_hi), hi)
    return lo, hi


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
    outside: str = "error",
) -> ClassCounts:
    """Count each class's valid pixels inside every footprint `quads` (raster CRS).

    `outside`: a footprint wholly beyond the raster's frame is an error naming it, or
    (``nodata``) a footprint without valid pixels, like one on the raster's nodata."""
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
        beyond = (col1 <= 0) | (row1 <= 0) | (col0 >= src.width) | (row0 >= src.height)
        if beyond.any() and outside == "error":
            first = int(np.flatnonzero(beyond)[0])
            who = f"patch {names[first]}" if names is not None else f"footprint {first}"
            raise InputError(raster, f"{who} lies outside the raster ({beyond.sum()} in all)")
        classify = lookup_table(src, class_of_value)
        counts = np.zeros((len(quads), n_classes), dtype=np.int64)
        pixels = np.zeros(len(quads), dtype=np.int64)
        centred = np.zeros(len(quads), dtype=bool)
        # Wholly beyond the frame: nothing to read, no valid pixel (counted by its box).
        pixels[beyond] = np.maximum((row1 - row0) * (col1 - col0), 1)[beyond]
        inside = np.flatnonzero(~beyond)
        block = (row0 // BLOCK) * (src.width // BLOCK + 2) + col0 // BLOCK
        order = inside[np.argsort(block[inside], kind="stable")]
        starts = np.flatnonzero(np.diff(block[order], prepend=-1))
        size = np.maximum(row1 - row0, col1 - col0)
        for group in np.split(order, starts[1:]) if len(order) else []:
            per_batch = max(1, GROUP_PIXELS // int(size[group].max()) ** 2)
            for part in np.array_split(group, -(-len(group) // per_batch)):
                _count_group(src, raster, classify, pix, row0, col0, size, part,
                             counts, pixels, centred)  # fmt: skip
    return ClassCounts(counts, pixels, centred)


def _count_group(src, raster, classify, pix, row0, col0, size, ids, counts, pixels,
                 centred) -> None:  # fmt: skip
    n_classes = counts.shape[1]
    span = int(size[ids].max())
    r_lo, c_lo = int(row0[ids].min()), int(col0[ids].min())
    height = int(row0[ids].max()) - r_lo + span
    width = int(col0[ids].max()) - c_lo + span
    values = read_window(src, r_lo, c_lo, height, width, 0)
    bins = _bins(classify(values), n_classes, src, r_lo, c_lo)
    unknown = n_classes + 1  # bins: classes, then nodata, unknown, not in the footprint
    outside = n_classes + 2
    offsets = np.arange(span)
    row = row0[ids, None] + offsets[None, :]  # (n, span) pixel rows
    col = col0[ids, None] + offsets[None, :]  # (n, span) pixel columns
    lo, hi = row_runs(pix[ids], row + 0.5)
    centre_x = col[:, None, :] + 0.5
    member = (centre_x >= lo[..., None]) & (centre_x <= hi[..., None])  # (n, span, span)
    empty = ~member.any(axis=(1, 2))
    if empty.any():
        centre = pix[ids[empty]].mean(axis=1)
        member[empty] = (col[empty, None, :] == np.floor(centre[:, 0, None, None])) & (
            row[empty, :, None] == np.floor(centre[:, 1, None, None])
        )
        centred[ids[empty]] = True
    if span <= SMALL:  # many small footprints: one vectorised histogram
        tiles = bins[(row - r_lo)[:, :, None], (col - c_lo)[:, None, :]]
        keys = np.where(member, tiles, outside).astype(np.int64)
        keys += np.arange(len(ids))[:, None, None] * (outside + 1)
        hist = np.bincount(keys.ravel(), minlength=len(ids) * (outside + 1))
        hist = hist.reshape(len(ids), outside + 1)
    else:  # large footprints: one view of the window each, no gathered copies
        hist = np.empty((len(ids), outside + 1), dtype=np.int64)
        for i, (r, c) in enumerate(zip(row0[ids] - r_lo, col0[ids] - c_lo, strict=True)):
            view = bins[r : r + span, c : c + span]
            hist[i] = np.bincount(np.where(member[i], view, outside).ravel(),
                                  minlength=outside + 1)  # fmt: skip
    if hist[:, unknown].any():
        i = int(np.flatnonzero(hist[:, unknown])[0])
        r, c = row0[ids[i]] - r_lo, col0[ids[i]] - c_lo
        view = bins[r : r + span, c : c + span]
        where = np.argwhere(member[i] & (view == unknown))[0]
        value = values[r + where[0], c + where[1]]
        raise InputError(raster, f"pixel value {int(value)} is not in the legend")
    counts[ids] = hist[:, :n_classes]
    pixels[ids] = hist[:, :outside].sum(axis=1)


def _bins(classes: np.ndarray, n_classes: int, src, row0: int, col0: int) -> np.ndarray:
    """Histogram bins of a window's classes (0..n-1 classes, n nodata, n+1 unknown),
    pixels beyond the raster's edge as nodata."""
    bins = np.where(classes >= 0, classes, np.where(classes == NODATA_CLASS, n_classes,
                                                    n_classes + 1))  # fmt: skip
    bins = bins.astype(np.uint8 if n_classes + 3 <= 256 else np.int16)
    r_in = slice(max(-row0, 0), max(src.height - row0, 0))
    c_in = slice(max(-col0, 0), max(src.width - col0, 0))
    edge = np.ones(bins.shape, dtype=bool)
    edge[r_in, c_in] = False
    bins[edge] = n_classes
    return bins
