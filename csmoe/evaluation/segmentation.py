"""Semantic segmentation of the 10 m reference maps with a frozen encoder.

Decoder (deliberately light, so that the score measures the frozen features): a linear
layer on each patch token of the last block (a 1x1 convolution on the token map) gives
class logits per token, which are upsampled bilinearly to the 120 x 120 reference grid
for prediction. It is trained on the probe-training split at the token grid, against
each token's class fractions (soft cross-entropy over the 10 m pixels under the token;
pixels whose CLC code is not a class are left out): a linear head on one token cannot
resolve its pixels, and the loss at the token grid costs 1/225 of a 10 m loss for patch
15 (AdamW, lr 1e-2, weight decay 1e-4, batches of 32, seeded).

Classes: the CLC level-3 codes found in the training or the test maps (0 = no map). A
class that occurs only in the test maps is one the decoder never learnt: it stays among
the outputs, its pixels count as errors and its IoU as 0, so the model is charged for it.
Scores on the test split: per-class IoU (from one confusion matrix over all pixels) and
mIoU over the classes that occur in the test maps or the predictions.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

IGNORE = -1
LR = 1e-2  # a linear head on frozen features: larger steps than a network


def class_codes(maps: np.ndarray) -> np.ndarray:
    codes = np.unique(maps)
    return codes[codes > 0]


def to_classes(maps: np.ndarray, codes: np.ndarray) -> torch.Tensor:
    """CLC codes -> class indices (IGNORE for codes that are no class)."""
    lookup = np.full(int(max(maps.max(), codes.max())) + 1, IGNORE, dtype=np.int64)
    lookup[codes] = np.arange(len(codes))
    return torch.from_numpy(lookup[maps])


def confusion(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) pixel counts, rows = truth; ignored pixels left out."""
    valid = truth >= 0
    flat = truth[valid] * classes + predicted[valid]
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def iou_scores(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-class IoU (NaN where a class is neither in truth nor prediction), and mIoU."""
    hits = np.diag(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - hits
    iou = np.divide(hits, union, out=np.full(len(hits), np.nan), where=union > 0)
    return iou, float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")


def token_fractions(targets: torch.Tensor, classes: int, grid: int,
                    chunk: int = 256) -> torch.Tensor:  # fmt: skip
    """(N, classes, grid, grid) share of each class among the valid pixels under each
    token (area-weighted where tokens do not split the map evenly; all zero where a
    token covers no valid pixel)."""
    parts = []
    for part in targets.split(chunk):
        one_hot = F.one_hot(part.clamp(min=0), classes).permute(0, 3, 1, 2).float()
        one_hot *= (part >= 0)[:, None]
        area = F.adaptive_avg_pool2d(one_hot, grid)
        parts.append(area / area.sum(dim=1, keepdim=True).clamp(min=1e-12))
    return torch.cat(parts)


def train_decoder(maps: torch.Tensor, targets: torch.Tensor, classes: int, *, epochs: int,
                  seed: int, batch: int = 32, select=None) -> torch.nn.Conv2d:  # fmt: skip
    """A 1x1 head trained on the token maps; with `select` (a function of the head that
    returns a validation score), the head of the best-scoring epoch, else the last one.
    `select`'s best epoch and score are left in ``head.selected``."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = torch.nn.Conv2d(maps.shape[1], classes, kernel_size=1)
    optimizer = torch.optim.AdamW(head.parameters(), lr=LR, weight_decay=1e-4)
    fractions = token_fractions(targets, classes, maps.shape[-1])
    weight = fractions.sum(dim=1)  # 1 where a token has valid pixels, else 0
    best = None
    for epoch in range(1, epochs + 1):
        for rows in torch.randperm(len(maps), generator=generator).split(batch):
            log_p = F.log_softmax(head(maps[rows].float()), dim=1)
            loss = -(fractions[rows] * log_p).sum() / weight[rows].sum().clamp(min=1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if select is not None:
            with torch.no_grad():
                score = select(head)
            if best is None or score > best[0]:
                best = (score, epoch, {k: v.clone() for k, v in head.state_dict().items()})
    if best is not None:
        head.load_state_dict(best[2])
        head.selected = {"epoch": best[1], "validation_score": best[0]}
    return head


def upsampled_logits(head: torch.nn.Conv2d, maps: torch.Tensor, side: int) -> torch.Tensor:
    return F.interpolate(head(maps), size=(side, side), mode="bilinear", align_corners=False)


def patch_counts(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(N, 3, classes) pixels per patch and class: intersection, predicted, true (valid
    pixels only): what the confusion matrix's diagonal and margins are sums of."""
    n = len(truth)
    valid = truth >= 0
    rows = np.repeat(np.arange(n), truth[0].size).reshape(truth.shape)
    out = np.zeros((n, 3, classes), dtype=np.int64)
    for k, (mask, cls) in enumerate(((valid & (truth == predicted), truth),
                                     (valid, predicted), (valid, truth))):  # fmt: skip
        flat = rows[mask] * classes + cls[mask]
        out[:, k] = np.bincount(flat, minlength=n * classes).reshape(n, classes)
    return out


def segmentation(train_maps, train_ref, test_maps, test_ref, *, epochs: int = 30,
                 seeds: tuple[int, ...] = (0,)) -> dict:  # fmt: skip
    """Train the decoder on (token maps, reference maps) once per probe seed and score it
    on the test pairs; scores are means over the seeds, ``per_seed`` lists each, and
    ``patch_counts`` (seeds, N, 3, classes) is what a bootstrap resamples."""
    if len(class_codes(train_ref)) < 2:
        return {"miou": None, "note": "fewer than two classes in the training maps"}
    codes = np.union1d(class_codes(train_ref), class_codes(test_ref))
    train_y, test_y = to_classes(train_ref, codes), to_classes(test_ref, codes)
    runs, counts = [], []
    for seed in seeds:
        head = train_decoder(torch.from_numpy(train_maps), train_y, len(codes), epochs=epochs,
                             seed=seed)  # fmt: skip
        predicted = np.zeros(test_y.shape, dtype=np.int64)
        with torch.no_grad():
            for lo in range(0, len(test_maps), 64):
                maps = torch.from_numpy(test_maps[lo : lo + 64]).float()
                logits = upsampled_logits(head, maps, test_y.shape[-1])
                predicted[lo : lo + 64] = logits.argmax(dim=1).numpy()
        truth = test_y.numpy()
        iou, miou = iou_scores(confusion(truth, predicted, len(codes)))
        runs.append({"seed": seed, "miou": miou, "iou": iou})
        counts.append(patch_counts(truth, predicted, len(codes)))
    stacked = np.stack(counts)
    inter, pred, true = (stacked[:, :, k].sum(axis=1) for k in range(3))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():  # a class in no seed's maps
        warnings.simplefilter("ignore", RuntimeWarning)
        iou = np.nanmean(np.stack([r["iou"] for r in runs]), axis=0)
    return {
        "miou": float(np.mean([r["miou"] for r in runs])),
        "pixel_accuracy": float(inter.sum() / max(true.sum(), 1)),
        "iou": {
            str(int(c)): (None if np.isnan(v) else float(v))
            for c, v in zip(codes, iou, strict=True)
        },
        "per_seed": [{"seed": r["seed"], "miou": r["miou"]} for r in runs],
        "classes_not_in_training": [int(c) for c in np.setdiff1d(codes, class_codes(train_ref))],
        "codes": [int(c) for c in codes],
        "train_samples": len(train_maps),
        "test_samples": len(test_maps),
        "patch_counts": stacked,
    }
