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
    for the declared nodata value, UNKNOWN_CLASS for any other value."""
    return ValueLookup.of(src, class_of_value, NODATA_CLASS, UNKNOWN_CLASS, np.int16)


@dataclass(frozen=True)
class ValueLookup:
    """Raster values to ``mapping[value]``, `nodata` for the declared nodata value
    (whatever its sign), `default` for any other value.

    8- and 16-bit rasters (signed or not) use a `dense` table over the whole value range,
    indexed by the value's bits with the sign bit flipped (value - minimum, without a
    wider copy); wider ones look values up in the sorted mapped values, so memory stays
    that of the legend whatever the data type."""

    dense: np.ndarray | None
    codes: np.ndarray | None  # wide rasters: sorted values, and their outputs + default
    outputs: np.ndarray | None
    signed: bool

    @classmethod
    def of(cls, src, mapping: dict[int, int], nodata: int, default: int, dtype) -> ValueLookup:
        kind = np.dtype(src.dtypes[0])
        if not np.issubdtype(kind, np.integer):
            raise InputError(src.name, f"expected an integer class raster, found {kind}")
        info = np.iinfo(kind)
        table = {v: c for v, c in mapping.items() if info.min <= v <= info.max}
        declared = src.nodata
        inside = declared is not None and info.min <= declared <= info.max
        if inside and float(declared).is_integer():
            table[int(declared)] = nodata
        if kind.itemsize <= 2:
            dense = np.full(1 << (8 * kind.itemsize), default, dtype=dtype)
            for value, out in table.items():
                dense[value - int(info.min)] = out
            return cls(dense, None, None, info.min < 0)
        codes = np.array(sorted(table), dtype=kind)
        outputs = np.array([table[c] for c in sorted(table)] + [default], dtype=dtype)
        return cls(None, codes, outputs, info.min < 0)

    def index(self, values: np.ndarray) -> np.ndarray:
        """Positions of 8- or 16-bit `values` in the dense table."""
        if not self.signed:
            return values
        unsigned = np.dtype(f"u{values.dtype.itemsize}")
        return values.view(unsigned) ^ unsigned.type(1 << (8 * values.dtype.itemsize - 1))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            return self.dense[self.index(values)]
        at = np.searchsorted(self.codes, values)
        hit = at < len(self.codes)
        hit[hit] = self.codes[at[hit]] == values[hit]
        return self.outputs[np.where(hit, at, len(self.codes))]


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


def inside_raster(src, row0: int, col0: int, shape: tuple[int, int]) -> bool:
    """Whether a window at (`row0`, `col0`) of `shape` lies wholly inside the raster."""
    height, width = shape
    return row0 >= 0 and col0 >= 0 and row0 + height <= src.height and col0 + width <= src.width


def read_window(
    src: rasterio.DatasetReader, row0: int, col0: int, height: int, width: int, fill: int
) -> np.ndarray:
    """A window that may reach past the raster's edge; the outside is `fill`."""
    if inside_raster(src, row0, col0, (height, width)):
        return src.read(1, window=Window(col0, row0, width, height))
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
        # Histogram bins straight from raster values: classes, then nodata, then unknown.
        to_bins = ValueLookup.of(src, class_of_value, n_classes, n_classes + 1,
                                 np.uint8 if n_classes + 3 <= 256 else np.uint16)  # fmt: skip
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
                _count_group(src, raster, to_bins, pix, row0, col0, row1, col1, part,
                             counts, pixels, centred)  # fmt: skip
    return ClassCounts(counts, pixels, centred)


def _count_group(src, raster, to_bins, pix, row0, col0, row1, col1, ids, counts, pixels,
                 centred) -> None:  # fmt: skip
    """Histograms of one group's footprints over one window of the raster."""
    n_classes = counts.shape[1]
    r_lo, c_lo = int(row0[ids].min()), int(col0[ids].min())
    values = read_window(src, r_lo, c_lo, int(row1[ids].max()) - r_lo,
                         int(col1[ids].max()) - c_lo, 0)  # fmt: skip
    local = pix[ids] - np.array([c_lo, r_lo], dtype=np.float64)
    tops, lefts = row0[ids] - r_lo, col0[ids] - c_lo
    heights, widths = row1[ids] - row0[ids], col1[ids] - col0[ids]
    n_bins = n_classes + 2  # classes, then nodata (n_classes), unknown (n_classes + 1)
    inside = inside_raster(src, r_lo, c_lo, values.shape)
    raw = False
    if max(heights.max(), widths.max()) <= SMALL:
        bins = _bins(to_bins, values, n_classes, src, r_lo, c_lo)
        span = int(max(heights.max(), widths.max()))
        hist = _small_histograms(bins, local, tops, lefts, span, n_bins)
    else:
        # 8-bit rasters: histograms of the raw values, mapped to bins once per footprint.
        raw = inside and to_bins.dense is not None and len(to_bins.dense) == 256
        bins = to_bins.index(values) if raw else _bins(to_bins, values, n_classes, src, r_lo,
                                                       c_lo)  # fmt: skip
        runs = row_runs(local, tops[:, None] + np.arange(heights.max()) + 0.5)
        hist = np.stack([
            _large_histogram(bins, runs[0][i], runs[1][i], tops[i], lefts[i], heights[i],
                             widths[i], 256 if raw else n_bins)
            for i in range(len(ids))
        ])  # fmt: skip
        if raw:
            hist = hist @ (to_bins.dense[:, None] == np.arange(n_bins)).astype(np.int64)
    empty = hist.sum(axis=1) == 0
    if raw and (empty.any() or hist[:, n_classes + 1].any()):
        bins = _bins(to_bins, values, n_classes, src, r_lo, c_lo)  # for the checks below
    if empty.any():  # no pixel centre inside: the pixel of its centre
        at = np.flatnonzero(empty)
        x, y = np.floor(local[at].mean(axis=1)).astype(np.int64).T
        hist[at, bins[y, x]] = 1
        centred[ids[at]] = True
    if hist[:, n_classes + 1].any():
        i = int(np.flatnonzero(hist[:, n_classes + 1])[0])
        mask = _member_mask(local[i], tops[i], lefts[i], heights[i], widths[i])
        view = bins[tops[i] : tops[i] + heights[i], lefts[i] : lefts[i] + widths[i]]
        r, c = (
            np.argwhere(mask & (view == n_classes + 1))[0]
            if not empty[i]
            else (np.floor(local[i].mean(axis=0)).astype(int)[::-1] - (tops[i], lefts[i]))
        )
        value = values[tops[i] + r, lefts[i] + c]
        raise InputError(raster, f"pixel value {int(value)} is not in the legend")
    counts[ids] = hist[:, :n_classes]
    pixels[ids] = hist.sum(axis=1)


def _member_mask(corners: np.ndarray, top: int, left: int, height: int, width: int):
    """(height, width) pixels of a box whose centre lies in the quad `corners`."""
    lo, hi = row_runs(corners[None], (top + np.arange(height) + 0.5)[None])
    centre_x = left + np.arange(width) + 0.5
    return (centre_x >= lo[0, :, None]) & (centre_x <= hi[0, :, None])


def _small_histograms(bins, corners, tops, lefts, span: int, n_bins: int) -> np.ndarray:
    """Many small footprints at once: one gathered (n, span, span) stack, one bincount."""
    offsets = np.arange(span)
    row, col = tops[:, None] + offsets, lefts[:, None] + offsets  # (n, span)
    lo, hi = row_runs(corners, row + 0.5)
    centre_x = col[:, None, :] + 0.5
    member = (centre_x >= lo[..., None]) & (centre_x <= hi[..., None])
    member &= (row[:, :, None] < bins.shape[0]) & (col[:, None, :] < bins.shape[1])
    row, col = np.minimum(row, bins.shape[0] - 1), np.minimum(col, bins.shape[1] - 1)
    tiles = bins[row[:, :, None], col[:, None, :]].astype(np.int64)
    keys = np.where(member, tiles + np.arange(len(tops))[:, None, None] * (n_bins + 1), -1)
    hist = np.bincount(keys[member], minlength=len(tops) * (n_bins + 1))
    return hist.reshape(len(tops), n_bins + 1)[:, :n_bins]


def _large_histogram(bins, lo, hi, top, left, height, width, n_bins: int) -> np.ndarray:
    """One large footprint (its row runs `lo`, `hi`, `row_runs`): the histogram of its
    bounding box, less the slivers of each pixel row outside the quad (few pixels for the
    nearly axis-aligned squares of an index), so each pixel of the box is read once,
    without a mask."""
    box = bins[top : top + height, left : left + width]
    hist = np.bincount(box.ravel(), minlength=n_bins)
    # Columns whose centre is inside: ceil(lo - 0.5) .. floor(hi - 0.5), box-relative.
    first = np.clip(np.ceil(lo[:height] - 0.5) - left, 0, width).astype(np.int64)
    last = np.clip(np.floor(hi[:height] - 0.5) - left, -1, width - 1).astype(np.int64)
    first = np.where(last < first, width, first)  # a row the quad misses: all outside
    last = np.where(last < first, width - 1, last)
    left_len, right_len = first, width - 1 - last
    rows = np.arange(height)
    outside = np.concatenate([
        _runs(rows * width, left_len), _runs(rows * width + last + 1, right_len)
    ])  # fmt: skip
    if len(outside):
        hist -= np.bincount(box.ravel()[outside], minlength=n_bins)
    return hist


def _runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Flat positions start, start + 1, ... of each run (lengths >= 0)."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    begin = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return begin + np.arange(total)


def _bins(to_bins: ValueLookup, values, n_classes: int, src, row0: int, col0: int):
    bins = to_bins(values)
    _edge_as_nodata(bins, n_classes, src, row0, col0)
    return bins


def _edge_as_nodata(bins: np.ndarray, nodata: int, src, row0: int, col0: int) -> None:
    """Pixels of a window beyond the raster's edge become the `nodata` bin."""
    if inside_raster(src, row0, col0, bins.shape):
        return
    r_in = slice(max(-row0, 0), max(src.height - row0, 0))
    c_in = slice(max(-col0, 0), max(src.width - col0, 0))
    edge = np.ones(bins.shape, dtype=bool)
    edge[r_in, c_in] = False
    bins[edge] = nodata
