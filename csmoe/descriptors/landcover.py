"""Land-cover descriptor: CORINE Land Cover class fractions within each footprint.

From a CLC raster in any CRS (footprints are transformed into it) with a ``code,symbol``
legend whose symbols are CLC level-3 codes (``111`` ... ``523``). The raster's declared
nodata, whatever its sign (the CLC2018 100 m product ``U2018_CLC2018_V2020_20u1.tif`` is
a signed 8-bit raster with nodata -128 outside the mapped area), and legend rows with
any other symbol (the product legend's ``48,999,NODATA`` row, unclassified classes) are
"no land cover": left out of the fractions, counted against ``landcover_valid``, the
share of a footprint's pixels that carry a class. A footprint beyond the raster's frame
(CORINE covers the EEA39 countries) has ``landcover_valid`` 0. Or, for archives with
labels, from the CORINE level-3 labels (equal fractions over a patch's labels).

Level-3 fractions are aggregated to CLC levels 2 and 1 and to BigEarthNet-19 (classes
that nomenclature drops, such as roads or bare rock, leave the 19 fractions below 1).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from csmoe.bigearthnet import nomenclature
from csmoe.descriptors import zonal
from csmoe.descriptors.legend import Legend
from csmoe.errors import InputError

LEVEL3 = tuple(sorted(nomenclature.CLC_LEVEL3_NAMES))
LEVEL2 = tuple(sorted(nomenclature.CLC_LEVEL2_NAMES))
LEVEL1 = tuple(sorted(nomenclature.CLC_LEVEL1_NAMES))
LEVELS = ("1", "2", "3", "19")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def level_columns(level: str) -> list[str]:
    if level == "19":
        return [f"ben19_{slug(name)}" for name in nomenclature.BEN19_CLASSES]
    codes = {"1": LEVEL1, "2": LEVEL2, "3": LEVEL3}[level]
    return [f"clc{level}_{code}" for code in codes]


def _aggregation(level: str) -> np.ndarray:
    """(44, k) 0/1 matrix mapping level-3 fractions to `level`."""
    if level == "19":
        targets = list(nomenclature.BEN19_CLASSES)
        keys = [nomenclature.clc_to_ben19([nomenclature.CLC_LEVEL3_NAMES[c]]) for c in LEVEL3]
        keys = [k[0] if k else None for k in keys]
    else:
        targets = list({"1": LEVEL1, "2": LEVEL2, "3": LEVEL3}[level])
        keys = [c // 10 ** (3 - int(level)) for c in LEVEL3]
    matrix = np.zeros((len(LEVEL3), len(targets)), dtype=np.float32)
    for i, key in enumerate(keys):
        if key is not None:
            matrix[i, targets.index(key)] = 1.0
    return matrix


def describe(level3: np.ndarray, valid: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """All land-cover columns from (n, 44) level-3 fractions."""
    parts = []
    for level in LEVELS:
        values = level3 if level == "3" else level3 @ _aggregation(level)
        parts.append(pd.DataFrame(values.astype(np.float32), columns=level_columns(level)))
    frame = pd.concat(parts, axis=1)
    has = level3.sum(axis=1) > 0
    for level, labels in (("1", LEVEL1), ("2", LEVEL2), ("3", LEVEL3)):
        values = frame[level_columns(level)].to_numpy()
        dominant = np.asarray(labels)[values.argmax(axis=1)]
        frame[f"landcover_l{level}"] = pd.array(np.where(has, dominant, 0), dtype="Int16")
        frame.loc[~has, f"landcover_l{level}"] = pd.NA
    ben19 = frame[level_columns("19")].to_numpy()
    names = np.asarray(nomenclature.BEN19_CLASSES, dtype=object)[ben19.argmax(axis=1)]
    frame["landcover_19"] = pd.array(np.where(ben19.sum(axis=1) > 0, names, None), dtype="string")
    frame["landcover_valid"] = valid.astype(np.float32)
    return frame.set_index(index)


def from_raster(
    index: pd.DataFrame, raster: str | os.PathLike[str], legend: Legend
) -> pd.DataFrame:
    raster = Path(raster)
    crs = zonal.raster_crs(raster)
    class_of_value = {}
    for code, symbol in zip(legend.codes, legend.symbols, strict=True):
        if symbol.isdigit() and int(symbol) in nomenclature.CLC_LEVEL3_NAMES:
            class_of_value[code] = LEVEL3.index(int(symbol))
        else:
            class_of_value[code] = len(LEVEL3)  # an extra column, dropped below: nodata
    quads = zonal.footprint_quads(index, crs)
    result = zonal.class_counts(
        raster, quads, class_of_value, len(LEVEL3) + 1, names=index["patch_id"].to_numpy(),
        outside="nodata",
    )  # fmt: skip
    counts = result.counts[:, : len(LEVEL3)].astype(np.float64)
    total = counts.sum(axis=1, keepdims=True)
    level3 = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    valid = np.divide(total[:, 0], result.pixels, out=np.zeros(len(index)), where=result.pixels > 0)
    return describe(level3, valid, index.index)


DOMINANT_COLUMNS = ("landcover_l1", "landcover_l2", "landcover_l3", "landcover_19",
                    "landcover_wc")  # fmt: skip


def require_coverage(frame: pd.DataFrame, min_valid: float) -> pd.DataFrame:
    """No land-cover descriptor (fractions 0, dominant classes missing) where less than
    `min_valid` of a footprint carries a class; ``landcover_valid`` is kept."""
    uncovered = (frame["landcover_valid"] < min_valid).to_numpy()
    if not uncovered.any():
        return frame
    frame = frame.copy()
    fractions = [c for c in frame.columns if c not in DOMINANT_COLUMNS and c != "landcover_valid"]
    frame.loc[uncovered, fractions] = 0.0
    for column in DOMINANT_COLUMNS:
        if column in frame:
            frame.loc[uncovered, column] = pd.NA
    return frame


def from_labels(index: pd.DataFrame, source: str = "index") -> pd.DataFrame:
    if "labels" not in index or index["labels"].isna().all():
        raise InputError(source, "land cover from labels needs CORINE level-3 labels; none here")
    level3 = np.zeros((len(index), len(LEVEL3)))
    for row, labels in enumerate(index["labels"]):
        if labels is None or len(labels) == 0:
            continue
        for name in labels:
            level3[row, LEVEL3.index(nomenclature.CLC_LEVEL3_CODES[name])] += 1.0 / len(labels)
    valid = (level3.sum(axis=1) > 0).astype(np.float32)
    return describe(level3, valid, index.index)
