"""The evaluation stage: one feature extractor, every task, one ``metrics.json``.

Splits: the probe-training split (classification probe, segmentation decoder), the
validation split (retrieval queries) and the test split (classification and
segmentation scores, retrieval archive), each a shard folder.

With `finetune_epochs`, S2 classification is also scored after fine-tuning a copy of
the encoder with a linear head (`classification.s2_finetuned`).

Outputs: ``metrics.json`` (deterministic given the seed) and ``timing.json`` (images/s
of the encoder on the machine that ran it).

Feature extractors: a pretrained encoder; the same architecture with random weights
(`random_init`, seeded; normalised like the pretrained one); per-band statistics
(`band_stats`, no network; retrieval within a sensor only, no segmentation).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from csmoe.atomic import write_text
from csmoe.data.shard_format import read_stats
from csmoe.devices import pick_device
from csmoe.errors import InputError
from csmoe.evaluation.classification import linear_probe
from csmoe.evaluation.efficiency import efficiency, throughput
from csmoe.evaluation.features import SENSORS, BandStatistics, Featurizer, split_features
from csmoe.evaluation.finetune import finetune
from csmoe.evaluation.retrieval import retrieval_metrics, top_k
from csmoe.evaluation.segmentation import segmentation
from csmoe.models.export import build_encoder, load_encoder, read_description

KINDS = ("pretrained", "random_init", "band_stats")
TIMING = "timing.json"  # measured speed: beside metrics.json, not part of the results
RETRIEVAL_K = (5, 10)
EXAMPLE_QUERIES = 3


def extractor(kind: str, encoder_path, train_folder, device, seed: int):
    if kind == "band_stats":
        return BandStatistics(read_stats(train_folder))
    if kind == "pretrained":
        return Featurizer(load_encoder(encoder_path), device)
    torch.manual_seed(seed)
    return Featurizer(build_encoder(read_description(encoder_path)), device)


def shard_patch_ids(folder: Path) -> list[str]:
    from csmoe.data.shard_format import ShardFile, read_index

    index = read_index(folder)
    return [i for entry in index["shards"] for i in ShardFile(folder / entry["file"]).patch_ids()]


def check_queries_apart(queries: Path, test: Path) -> None:
    """Retrieval queries must not be in the archive they search: each would find itself."""
    if Path(queries).resolve() == Path(test).resolve():
        raise InputError(queries, "the queries (--queries) are the test archive (--test) "
                         "itself: every query would retrieve itself first")  # fmt: skip
    shared = set(shard_patch_ids(queries)) & set(shard_patch_ids(test))
    if shared:
        raise InputError(queries, f"{len(shared)} query patch(es) are also in the test archive "
                         f"{test}, e.g. {min(shared)}: each would retrieve itself")  # fmt: skip


def retrieval(queries, archive, cross_sensor: bool) -> tuple[dict, dict]:
    metrics, examples = {}, {}
    for source in SENSORS:
        for target in SENSORS:
            if source != target and not cross_sensor:
                continue
            direction = f"{source}->{target}"
            q, a = queries.embeddings[source], archive.embeddings[target]
            metrics[direction] = {
                str(k): retrieval_metrics(q, queries.labels, a, archive.labels, k)
                for k in RETRIEVAL_K
            }
            best = top_k(q[:EXAMPLE_QUERIES], a, min(5, len(a)))
            examples[direction] = [
                {"query": queries.patch_ids[i], "retrieved": [archive.patch_ids[j] for j in row]}
                for i, row in enumerate(best)
            ]
    return metrics, examples


def classification(train, valid, test, seed: int) -> dict:
    """Per sensor: the linear probe whose C the validation split selected (probe policy)."""
    return {
        s: linear_probe(
            train.embeddings[s],
            train.labels,
            valid.embeddings[s],
            valid.labels,
            test.embeddings[s],
            test.labels,
            seed,
        )  # fmt: skip
        for s in SENSORS
    }


def dense(train, test, epochs: int, seed: int) -> dict | None:
    if train.token_maps is None:
        return None
    with_map = train.has_reference_map, test.has_reference_map
    if not with_map[0].any() or not with_map[1].any():
        return {"miou": None, "note": "no reference maps"}
    return segmentation(
        train.token_maps[with_map[0]], train.reference_maps[with_map[0]],
        test.token_maps[with_map[1]], test.reference_maps[with_map[1]],
        epochs=epochs, seed=seed,
    )  # fmt: skip


def describe(kind: str, features, encoder_path) -> dict:
    if kind == "band_stats":
        return {"kind": kind}
    description = features.encoder.description
    keys = ("preset", "variant", "run_id", "step")
    return {"kind": kind, "encoder": str(encoder_path)} | {k: description.get(k) for k in keys}


def evaluate(
    kind: str,
    encoder_path: str | os.PathLike[str] | None,
    *,
    train: Path,
    queries: Path,
    test: Path,
    out: Path,
    device: str = "auto",
    seed: int = 0,
    segmentation_epochs: int = 100,
    finetune_epochs: int = 0,
    batch_size: int = 32,
) -> dict:
    check_queries_apart(queries, test)
    torch_device = pick_device(device)
    features = extractor(kind, encoder_path, train, torch_device, seed)
    folders = {"train": train, "validation": queries, "test": test}
    splits = {name: split_features(path, features, batch_size) for name, path in folders.items()}
    ranked, examples = retrieval(splits["validation"], splits["test"], kind != "band_stats")
    metrics = {
        "features": describe(kind, features, encoder_path),
        "samples": {name: len(split.patch_ids) for name, split in splits.items()},
        "classification": classification(
            splits["train"], splits["validation"], splits["test"], seed
        ),  # fmt: skip
        "segmentation": dense(splits["train"], splits["test"], segmentation_epochs, seed),
        "retrieval": ranked,
        "retrieval_examples": examples,
        "efficiency": None if kind == "band_stats" else efficiency(features.encoder),
    }
    if finetune_epochs and kind != "band_stats":
        metrics["classification"]["s2_finetuned"] = finetune(
            features.encoder, train, test, features.stats(), epochs=finetune_epochs,
            device=torch_device, seed=seed, batch_size=batch_size,
        )  # fmt: skip
    timing = {} if kind == "band_stats" else throughput(features.encoder, torch_device)
    write_text(out / TIMING, json.dumps(timing, indent=2) + "\n")
    write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics
