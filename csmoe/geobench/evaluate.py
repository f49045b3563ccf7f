"""A frozen encoder on one GEO-Bench task, as the public CSMoE-protocol reproduction
reads the paper's Table IV protocol.

- **Inputs**: each task's bands z-scored with its ``band_stats.json``, mapped onto the
  encoder's S2 bands by the task's band mapping (``corrected`` by default, see
  `csmoe.geobench.tasks`; a band the task lacks is 0, its mean after z-scoring; the
  metrics list the missing ones and the mapping), resized bilinearly to the encoder's
  input side (224 px for the study presets). m-so2sat's Lee-filtered VV and VH go
  through the S1 branch in dB (z-scored with the training split's dB statistics), and
  its features are the S2 and S1 embeddings side by side.
- **Classification**: the study's probe policy (`csmoe.evaluation.classification`): a
  linear head on standardised pooled features whose regularisation is selected on the
  validation split; metric micro mAP for m-bigearthnet, average accuracy (mean
  per-class recall) for the others.
- **Segmentation**: a light decoder, one 1x1 convolution on the last block's S2 token
  map (simpler than UPerNet; `csmoe.evaluation.segmentation`), trained for `epochs`
  with the epoch selected by validation mIoU; logits are upsampled bilinearly to the
  label grid; mIoU over the classes present in truth or prediction, class 0 included.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from csmoe.atomic import write_text
from csmoe.devices import autocast, pick_device
from csmoe.errors import InputError
from csmoe.geobench.guarded import GuardedTaskReader
from csmoe.geobench.reader import TaskFolder
from csmoe.geobench.tasks import Task
from csmoe.geobench.tasks import task as find_task

BATCH = 32


@dataclass
class SplitFeatures:
    embeddings: np.ndarray  # (N, D)
    token_maps: torch.Tensor | None  # (N, D, h, w) for segmentation
    labels: np.ndarray


def _stack(sample_bands: dict[str, np.ndarray], names: list[str]) -> torch.Tensor:
    shape = next(iter(sample_bands.values())).shape
    zeros = np.zeros(shape, np.float32)
    return torch.from_numpy(np.stack([sample_bands.get(n, zeros) for n in names]))


def split_features(reader: GuardedTaskReader, task: Task, ids: list[str], encoder,
                   device) -> SplitFeatures:  # fmt: skip
    bands = encoder.description["input"]["bands"]
    side, segmentation = encoder.img_size, task.kind == "segmentation"
    embeddings, maps, labels = [], [], []
    for lo in range(0, len(ids), BATCH):
        samples = [reader.read(i) for i in ids[lo : lo + BATCH]]
        labels += [s.label for s in samples]
        inputs = {"s2": torch.stack([_stack(s.s2, bands["s2"]) for s in samples])}
        if task.s1:
            inputs["s1"] = torch.stack([_stack(s.s1, bands["s1"]) for s in samples])
        pooled = []
        with torch.no_grad(), autocast(device):
            for sensor, x in inputs.items():
                x = F.interpolate(x.to(device), size=(side, side), mode="bilinear",
                                  align_corners=False)  # fmt: skip
                tokens = encoder.forward_features(x, sensor)
                pooled.append(encoder.pool(tokens).float().cpu())
                if segmentation and sensor == "s2":
                    maps.append(encoder.patch_map(tokens).half().cpu())
        embeddings.append(torch.cat(pooled, dim=1).numpy())
    return SplitFeatures(
        np.concatenate(embeddings), torch.cat(maps) if maps else None, np.stack(labels)
    )


def classification(train: SplitFeatures, valid: SplitFeatures, test: SplitFeatures,
                   multi_label: bool, seed: int) -> dict:  # fmt: skip
    """The test score of the probe the validation split selected."""
    from csmoe.evaluation.classification import average_accuracy, micro_map, selected_probe

    outputs, selected = selected_probe(
        (train.embeddings, train.labels), (valid.embeddings, valid.labels), test.embeddings,
        multi_label=multi_label, seed=seed,
    )  # fmt: skip
    metric = micro_map if multi_label else average_accuracy
    return {"score": metric(test.labels, outputs), "selected": selected}


def _miou(head, maps: torch.Tensor, labels: np.ndarray, classes: int) -> float:
    from csmoe.evaluation.segmentation import confusion, iou_scores, upsampled_logits

    matrix = np.zeros((classes, classes), dtype=np.int64)
    for lo in range(0, len(maps), 64):
        logits = upsampled_logits(head, maps[lo : lo + 64].float(), labels.shape[-1])
        matrix += confusion(labels[lo : lo + 64], logits.argmax(dim=1).numpy(), classes)
    return iou_scores(matrix)[1]


def segmentation(train: SplitFeatures, valid: SplitFeatures, test: SplitFeatures,
                 classes: int, epochs: int, seed: int) -> dict:  # fmt: skip
    from csmoe.evaluation.segmentation import train_decoder

    head = train_decoder(
        train.token_maps, torch.from_numpy(train.labels), classes, epochs=epochs, seed=seed,
        select=lambda h: _miou(h, valid.token_maps, valid.labels, classes),
    )  # fmt: skip
    with torch.no_grad():
        score = _miou(head, test.token_maps, test.labels, classes)
    return {"score": score, "selected": head.selected}


def evaluate_task(
    encoder_path: str | os.PathLike[str],
    root: str | os.PathLike[str],
    task_name: str,
    out: str | os.PathLike[str],
    *,
    partition: str = "default",
    band_mapping: str = "corrected",
    epochs: int = 50,
    seed: int = 0,
    device: str = "auto",
    run: dict | None = None,
) -> dict:
    """Score `encoder_path` on one task and write ``metrics.json``-style JSON to `out`;
    `run` (archive, sampler, model, seed) names what the encoder belongs to."""
    from csmoe.data.shard_format import sha256
    from csmoe.models.export import load_encoder

    task = find_task(task_name, band_mapping)
    folder = TaskFolder(root, task)
    splits = folder.partition(partition)
    empty = [split for split, ids in splits.items() if not ids]
    if empty:
        raise InputError(folder.folder / f"{partition}_partition.json",
                         f"no samples in split(s) {', '.join(empty)}")  # fmt: skip
    run_device = pick_device(device)
    encoder = load_encoder(encoder_path).to(run_device)
    torch.manual_seed(seed)
    with GuardedTaskReader(root, task) as reader:
        db_stats = reader.fit_db_statistics(splits["train"]) if task.s1_linear else {}
        features = {s: split_features(reader, task, ids, encoder, run_device)
                    for s, ids in splits.items()}  # fmt: skip
    if task.kind == "single-label" and np.unique(features["train"].labels).size < 2:
        raise InputError(folder.folder / f"{partition}_partition.json",
                         f"the train split of {task.name} holds one class only: a classifier "
                         "needs two")  # fmt: skip
    if task.kind == "segmentation":
        result = segmentation(*features.values(), task.classes, epochs, seed)
    else:
        result = classification(*features.values(), task.kind == "multi-label", seed)
    s2_bands = encoder.description["input"]["bands"]["s2"]
    identity = {key: (run or {}).get(key) for key in ("archive", "sampler", "model", "seed")}
    metrics = {
        "run": identity | {"preset": encoder.description.get("preset")},
        "task": task.name,
        "metric": task.metric,
        "score": result["score"],
        "selected": result["selected"],
        "partition": partition,
        "split_sizes": {split: len(ids) for split, ids in splits.items()},
        "seed": seed,
        "encoder": str(encoder_path),
        "encoder_sha256": sha256(encoder_path),
        "input_side": encoder.img_size,
        "bands_missing": [b for b in s2_bands if b not in task.s2],
        "bands_unused": list(task.unused),
        "band_mapping": task.band_mapping,
        "s1_db_statistics": {name: {"mean": m, "std": s} for name, (m, s) in db_stats.items()},
    }
    write_text(out, json.dumps(metrics, indent=2) + "\n")
    return metrics
