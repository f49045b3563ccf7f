"""The synthetic archive: generation time, and how learnable (but not trivial) it is.

- ``band_mean_micro_map``: a logistic regression (one per BigEarthNet-19 class) on the
  14 per-band patch means (12 S2 + VV, VH), trained on 70 % of the patches, micro-averaged
  average precision on the other 30 %; ``chance_micro_map`` is the same for an
  uninformative ranking (the share of positive labels).
- ``pixel_miou``: a multinomial logistic regression on the 14 band values of single
  10 m pixels (coarser bands repeated onto the 10 m grid) predicting the reference map's
  CLC class; mean intersection-over-union over the classes of the held-out patches.
Everything is read back through the BigEarthNet v1 index and rasterio, as real data.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, jaccard_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from csmoe.bench.world import koppen_raster
from csmoe.index.bigearthnet_v1 import index_bigearthnet_v1
from csmoe.synthetic.archive import REFERENCE_ROOT, generate_archive
from csmoe.synthetic.spectra import S1_BANDS, S2_BANDS

PIXELS_PER_PATCH = 200


def read_patch(row) -> tuple[np.ndarray, np.ndarray]:
    """(14, 120, 120) band stack on the 10 m grid and the (120, 120) reference map."""
    layers = []
    for band in S2_BANDS:
        with rasterio.open(Path(row.s2_dir) / f"{row.s2_name}_{band}.tif") as src:
            values = src.read(1).astype(np.float32)
        factor = 120 // values.shape[0]
        layers.append(np.repeat(np.repeat(values, factor, 0), factor, 1))
    for band in S1_BANDS:
        with rasterio.open(Path(row.s1_dir) / f"{row.s1_name}_{band}.tif") as src:
            layers.append(src.read(1))
    with rasterio.open(row.reference_map) as src:
        reference = src.read(1)
    return np.stack(layers), reference


def bench_synth(n: int, workdir: Path, seed: int = 0) -> dict:
    koppen = koppen_raster(workdir)
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root, landcover = Path(tmp) / "archive", Path(tmp) / "landcover.tif"
        start = time.perf_counter()
        generate_archive(n, seed, root, landcover, koppen, with_examples=False, workers=workers)
        seconds = time.perf_counter() - start
        index, _ = index_bigearthnet_v1(
            root / "BigEarthNet-S1-v1.0", root / "BigEarthNet-v1.0",
            reference_root=root / REFERENCE_ROOT, check="header", workers=workers,
        )  # fmt: skip
        patches = [read_patch(row) for row in index.itertuples()]
    rng = np.random.default_rng(seed)
    test = rng.random(len(index)) < 0.3
    labels = np.stack(index["multi_hot_19"].to_numpy())
    means = np.stack([stack.reshape(len(stack), -1).mean(axis=1) for stack, _ in patches])
    # Classes with positives and negatives among the training patches.
    present = labels[~test].any(axis=0) & ~labels[~test].all(axis=0)
    model = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=2000)))
    model.fit(means[~test], labels[~test][:, present])
    scores = model.decision_function(means[test])
    truth = labels[test][:, present]
    result = {
        "n": n,
        "seconds": seconds,
        "patches_per_s": n / seconds,
        "band_mean_micro_map": float(average_precision_score(truth, scores, average="micro")),
        "chance_micro_map": float(truth.mean()),
    }
    result["pixel_miou"] = _pixel_miou(patches, test, rng)
    return result


def _pixel_miou(patches, test: np.ndarray, rng: np.random.Generator) -> float:
    xs, ys = [], []
    for (stack, reference), held_out in zip(patches, test, strict=True):
        if held_out:
            continue
        pick = rng.integers(0, 120 * 120, PIXELS_PER_PATCH)
        xs.append(stack.reshape(len(stack), -1)[:, pick].T)
        ys.append(reference.ravel()[pick])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(np.concatenate(xs), np.concatenate(ys))
    truth, predicted = [], []
    for (stack, reference), held_out in zip(patches, test, strict=True):
        if held_out:
            truth.append(reference.ravel())
            predicted.append(model.predict(stack.reshape(len(stack), -1).T))
    truth, predicted = np.concatenate(truth), np.concatenate(predicted)
    return float(jaccard_score(truth, predicted, labels=np.unique(truth), average="macro"))
