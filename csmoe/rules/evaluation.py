"""The evaluation rules: split manifests, encoders and baselines, the study summary."""

from __future__ import annotations

import shlex

from csmoe.rules.pretrain import run_keys

# What the study rule writes under results/study/.
STUDY_OUTPUTS = (
    "table.csv",
    "table.md",
    "quality_vs_cost.png",
    "pretraining_loss.png",
    "expert_shares.png",
    "retrieval_examples.png",
    "timing.csv",
)


def eval_manifest_arguments(config: dict, wildcards) -> str:
    size = config["evaluation"]["split_size"][wildcards.split]
    args = ["--split", wildcards.split, "--seed", str(config["seed"])]
    if size is not None:
        args += ["--size", str(size)]
    return shlex.join(args)


def split_shards(wildcards) -> dict[str, str]:
    """Shards of the probe-training, query and test splits of the run's archive."""
    root = f"results/shards/{wildcards.archive}"
    return {
        "train": f"{root}/eval_train",
        "queries": f"{root}/eval_validation",
        "test": f"{root}/eval_test",
    }


def baseline_encoder(config: dict, wildcards) -> str:
    """Any run of the model gives the architecture and normalisation of its baseline."""
    sampler = config["pretrain"]["samplers"][0]
    return f"results/pretrain/{wildcards.archive}/{sampler}/{wildcards.model}/encoder.safetensors"


def arguments(config: dict) -> str:
    evaluation = config["evaluation"]
    args = ["--device", evaluation["device"], "--seed", str(config["seed"])]
    args += ["--segmentation-epochs", str(evaluation["segmentation_epochs"])]
    args += ["--finetune-epochs", str(evaluation["finetune_epochs"])]
    return shlex.join(args)


def evaluated_keys(config: dict) -> list[tuple[str, str, str]]:
    """(archive, sampler, model) of the runs evaluated (evaluation.archives)."""
    return [key for key in run_keys(config) if key[0] in config["evaluation"]["archives"]]


def evaluations(config: dict) -> list[str]:
    """metrics.json of every evaluated run and its baselines, runs first."""
    files = [
        f"results/evaluate/{archive}/{sampler}/{model}/metrics.json"
        for archive, sampler, model in evaluated_keys(config)
    ]
    for archive in config["evaluation"]["archives"]:
        files += [
            f"results/evaluate/{archive}/baseline/random_init_{model}/metrics.json"
            for model in config["pretrain"]["models"]
        ]
        files.append(f"results/evaluate/{archive}/baseline/band_stats/metrics.json")
    return files


def study_inputs(config: dict) -> dict[str, str | list[str]]:
    """Evaluations, logs, and the run and shards whose retrieval examples are drawn."""
    keys = evaluated_keys(config)
    archive, sampler, model = next((k for k in keys if "moe" in k[2]), keys[0])
    return {
        "metrics": evaluations(config),
        "logs": [f"results/pretrain/{a}/{s}/{m}/log.jsonl" for a, s, m in keys],
        "examples": f"results/evaluate/{archive}/{sampler}/{model}/metrics.json",
        "queries": f"results/shards/{archive}/eval_validation",
        "archive": f"results/shards/{archive}/eval_test",
    }
