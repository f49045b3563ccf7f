"""The evaluation rules: split manifests, encoders and baselines, the study summary."""

from __future__ import annotations

import shlex

from csmoe.paths import (
    BAND_STATS,
    EVAL_SHARDS_INDEX,
    EVALUATION,
    PRETRAIN_RUN,
    RANDOM_INIT,
)
from csmoe.rules.pretrain import model_names, run_keys, seeds
from csmoe.rules.shards import folder


def eval_manifest_arguments(config: dict, wildcards) -> str:
    size = config["evaluation"]["split_size"][wildcards.split]
    args = ["--split", wildcards.split, "--seed", str(config["seed"])]
    if size is not None:
        args += ["--size", str(size)]
    return shlex.join(args)


def split_shards(wildcards) -> dict[str, str]:
    """Shard indexes (`csmoe.paths.SHARDS_INDEX`) of the probe-training, query and test
    splits of the run's archive."""
    splits = {"train": "train", "queries": "validation", "test": "test"}
    return {key: EVAL_SHARDS_INDEX.format(archive=wildcards.archive, split=split)
            for key, split in splits.items()}  # fmt: skip


def shard_folders(input, keys: tuple[str, ...] = ("train", "queries", "test")) -> str:
    """``--train DIR --queries DIR --test DIR``: the folders of the shard-index inputs."""
    named = {key: getattr(input, key) for key in keys if hasattr(input, key)}
    return shlex.join([part for key, path in named.items() for part in (f"--{key}", folder(path))])


def baseline_encoder(config: dict, wildcards) -> str:
    """A run of the model with the same seed gives the architecture and normalisation of
    its random-weight baseline."""
    sampler = config["pretrain"]["samplers"][0]
    run = PRETRAIN_RUN.format(archive=wildcards.archive, sampler=sampler, model=wildcards.model,
                              seed=wildcards.seed)  # fmt: skip
    return f"{run}/encoder.safetensors"


def outputs(template: str) -> dict[str, str]:
    """What every evaluation writes into its folder (`template`: a csmoe.paths template)."""
    return {
        "metrics": f"{template}/metrics.json",
        "predictions": f"{template}/predictions.safetensors",
        "timing": f"{template}/timing.json",
    }


def encoder_argument(input) -> str:
    """``--encoder FILE`` for the features that have one (not band_stats)."""
    encoder = getattr(input, "encoder", None)
    return "" if encoder is None else f"--encoder {shlex.quote(encoder)}"


def run_arguments(wildcards) -> str:
    """What a result belongs to, recorded in its JSON: the run's wildcards."""
    names = {"archive": "--archive", "sampler": "--sampler", "model": "--model",
             "seed": "--run-seed"}  # fmt: skip
    args = []
    for key, option in names.items():
        value = getattr(wildcards, key, None)
        if value is not None:
            args += [option, str(value)]
    return shlex.join(args)


def arguments(config: dict) -> str:
    evaluation = config["evaluation"]
    seeds = evaluation.get("probe_seeds") or [config["seed"]]
    args = ["--device", evaluation["device"]]
    args += ["--probe-seeds", *map(str, seeds)]
    args += ["--segmentation-epochs", str(evaluation["segmentation_epochs"])]
    args += ["--finetune-epochs", str(evaluation["finetune_epochs"])]
    return shlex.join(args)


def evaluated_keys(config: dict) -> list[tuple[str, str, str, int]]:
    """(archive, sampler, model, seed) of the runs evaluated (evaluation.archives)."""
    return [key for key in run_keys(config) if key[0] in config["evaluation"]["archives"]]


def evaluations(config: dict) -> list[str]:
    """metrics.json of every evaluated run and its baselines, runs first."""
    files = [
        EVALUATION.format(archive=a, sampler=s, model=m, seed=seed) + "/metrics.json"
        for a, s, m, seed in evaluated_keys(config)
    ]
    for archive in config["evaluation"]["archives"]:
        files += [
            RANDOM_INIT.format(archive=archive, model=model, seed=seed) + "/metrics.json"
            for model in model_names(config)
            for seed in seeds(config)
        ]
        files.append(BAND_STATS.format(archive=archive) + "/metrics.json")
    return files


def study_inputs(config: dict) -> dict[str, str | list[str]]:
    """Evaluations, logs, and the run and shards whose retrieval examples are drawn."""
    keys = evaluated_keys(config)
    archive, sampler, model, seed = next((k for k in keys if "moe" in k[2]), keys[0])
    return {
        "metrics": evaluations(config),
        "logs": [
            PRETRAIN_RUN.format(archive=a, sampler=s, model=m, seed=n) + "/log.jsonl"
            for a, s, m, n in keys
        ],  # fmt: skip
        "examples": EVALUATION.format(archive=archive, sampler=sampler, model=model, seed=seed)
        + "/metrics.json",
        "queries": EVAL_SHARDS_INDEX.format(archive=archive, split="validation"),
        "test": EVAL_SHARDS_INDEX.format(archive=archive, split="test"),
    }
