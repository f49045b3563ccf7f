"""The evaluation stage: one feature extractor, every task, one ``metrics.json``.

Splits: the probe-training split (classification probe, segmentation decoder), the
validation split (retrieval queries) and the test split (classification and
segmentation scores, retrieval archive), each a shard folder.

With `finetune_epochs`, S2 classification is also scored after fine-tuning a copy of
the encoder with a linear head (`classification.s2_finetuned`).

Outputs: ``metrics.json`` (deterministic given the seed), ``predictions.safetensors``
(per test patch and per query: probe scores and labels, segmentation pixel counts per
probe seed, retrieval precision, recall and AP; what the study's bootstrap resamples)
and ``timing.json`` (images/s of the encoder on the machine that ran it). For Soft MoE
encoders, ``experts`` holds the sensor specialisation of each MoE layer on test tokens
(`csmoe.evaluation.experts`).

Feature extractors: a pretrained encoder; the same architecture with random weights
(`random_init`, seeded; normalised like the pretrained one); per-band statistics
(`band_stats`, no network; retrieval within a sensor only, no segmentation).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from csmoe.atomic import write_text
from csmoe.data.shard_format import read_stats
from csmoe.devices import pick_device
from csmoe.errors import InputError
from csmoe.evaluation.classification import multilabel_metrics, selected_probe
from csmoe.evaluation.efficiency import efficiency, throughput
from csmoe.evaluation.experts import specialisation, token_shares
from csmoe.evaluation.features import SENSORS, BandStatistics, Featurizer, split_features
from csmoe.evaluation.finetune import finetune
from csmoe.evaluation.predictions import PREDICTIONS, write_predictions
from csmoe.evaluation.retrieval import per_query, summarise, top_k
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


def retrieval(queries, archive, cross_sensor: bool, kept: dict) -> tuple[dict, dict]:
    """Metrics per direction and K; per-query scores go into `kept`."""
    metrics, examples = {}, {}
    for source in SENSORS:
        for target in SENSORS:
            if source != target and not cross_sensor:
                continue
            direction = f"{source}->{target}"
            q, a = queries.embeddings[source], archive.embeddings[target]
            metrics[direction] = {}
            for k in RETRIEVAL_K:
                scores = per_query(q, queries.labels, a, archive.labels, k)
                metrics[direction][str(k)] = summarise(scores)
                for name, values in scores.items():
                    kept[retrieval_key(direction, k, name)] = values.astype(np.float32)
            best = top_k(q[:EXAMPLE_QUERIES], a, min(5, len(a)))
            examples[direction] = [
                {"query": queries.patch_ids[i], "retrieved": [archive.patch_ids[j] for j in row]}
                for i, row in enumerate(best)
            ]
    return metrics, examples


def retrieval_key(direction: str, k: int, name: str) -> str:
    return f"ret_{direction.replace('->', '_to_')}_k{k}_{name}"


def classification(train, valid, test, seed: int, kept: dict) -> dict:
    """Per sensor: the linear probe whose C the validation split selected (probe policy);
    its test scores go into `kept`."""
    metrics = {}
    for s in SENSORS:
        scores, selected = selected_probe(
            (train.embeddings[s], train.labels), (valid.embeddings[s], valid.labels),
            test.embeddings[s], multi_label=True, seed=seed,
        )  # fmt: skip
        kept[f"cls_{s}_scores"] = scores.astype(np.float32)
        metrics[s] = multilabel_metrics(test.labels, scores) | {"selected": selected}
    kept["cls_labels"] = test.labels.astype(np.uint8)
    return metrics


def dense(train, test, epochs: int, seeds: tuple[int, ...], kept: dict) -> dict | None:
    """Segmentation over the probe seeds; per-patch pixel counts go into `kept`."""
    if train.token_maps is None:
        return None
    with_map = train.has_reference_map, test.has_reference_map
    if not with_map[0].any() or not with_map[1].any():
        return {"miou": None, "note": "no reference maps"}
    result = segmentation(
        train.token_maps[with_map[0]], train.reference_maps[with_map[0]],
        test.token_maps[with_map[1]], test.reference_maps[with_map[1]],
        epochs=epochs, seeds=seeds,
    )  # fmt: skip
    if "patch_counts" in result:
        kept["seg_counts"] = result.pop("patch_counts")
        kept["seg_rows"] = np.flatnonzero(with_map[1]).astype(np.int64)
    return result


def run_identity(run: dict | None, kind: str, features) -> dict:
    """What the result belongs to (archive, sampler, model, seed; the tables read it), with
    the encoder's preset; baselines are sampler ``baseline``, models ``random_init_<model>``
    and ``band_stats``."""
    run = dict(run or {})
    preset = None if kind == "band_stats" else features.encoder.description.get("preset")
    if kind == "band_stats":
        run |= {"sampler": "baseline", "model": "band_stats", "seed": None}
    elif kind == "random_init" and run.get("model"):
        run |= {"sampler": "baseline", "model": f"random_init_{run['model']}"}
    identity = {key: run.get(key) for key in ("archive", "sampler", "model", "seed")}
    return identity | {"preset": preset}


def describe(kind: str, features, encoder_path) -> dict:
    """The features: their kind and, for an encoder, its file, SHA-256 and origin."""
    if kind == "band_stats":
        return {"kind": kind}
    from csmoe.data.shard_format import sha256

    description = features.encoder.description
    keys = ("preset", "variant", "run_id", "step")
    origin = {k: description.get(k) for k in keys}
    return {
        "kind": kind,
        "encoder": str(encoder_path),
        "encoder_sha256": sha256(encoder_path),
    } | origin


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
    probe_seeds: tuple[int, ...] = (0,),
    segmentation_epochs: int = 100,
    finetune_epochs: int = 0,
    batch_size: int = 32,
    run: dict | None = None,
) -> dict:
    """Every task; `probe_seeds` seed the segmentation decoder (fitted once per seed; the
    linear probes are deterministic). Writes metrics.json, predictions.safetensors (the
    per-patch and per-query scores a bootstrap resamples) and timing.json into `out`."""
    check_queries_apart(queries, test)
    torch_device = pick_device(device)
    features = extractor(kind, encoder_path, train, torch_device, seed)
    folders = {"train": train, "validation": queries, "test": test}
    splits = {name: split_features(path, features, batch_size) for name, path in folders.items()}
    kept: dict[str, np.ndarray] = {}
    ranked, examples = retrieval(splits["validation"], splits["test"], kind != "band_stats",
                                 kept)  # fmt: skip
    metrics = {
        "run": run_identity(run, kind, features),
        "features": describe(kind, features, encoder_path),
        "samples": {name: len(split.patch_ids) for name, split in splits.items()},
        "classification": classification(
            splits["train"], splits["validation"], splits["test"], seed, kept
        ),  # fmt: skip
        "segmentation": dense(
            splits["train"], splits["test"], segmentation_epochs, tuple(probe_seeds), kept
        ),  # fmt: skip
        "retrieval": ranked,
        "retrieval_examples": examples,
        "efficiency": None if kind == "band_stats" else efficiency(features.encoder),
        "experts": None,
    }
    if kind != "band_stats" and features.encoder.moe_layers():
        shares = token_shares(features, test, batch_size)
        metrics["experts"] = specialisation(shares, seed=seed)
    if finetune_epochs and kind != "band_stats":
        metrics["classification"]["s2_finetuned"] = finetune(
            features.encoder, train, test, features.stats(), epochs=finetune_epochs,
            device=torch_device, seed=seed, batch_size=batch_size,
        )  # fmt: skip
    timing = {} if kind == "band_stats" else throughput(features.encoder, torch_device)
    write_text(out / TIMING, json.dumps(timing, indent=2) + "\n")
    ids = {"test": splits["test"].patch_ids, "queries": splits["validation"].patch_ids}
    write_predictions(out / PREDICTIONS, kept, ids)
    write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics
