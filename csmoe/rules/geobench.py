"""The GEO-Bench rules: every pretraining run on every configured task (when a GEO-Bench
root is configured), and the table beside the published values."""

from __future__ import annotations

import shlex

from csmoe.paths import GEOBENCH
from csmoe.rules.pretrain import run_keys


def enabled(config: dict) -> bool:
    return config["geobench"]["root"] is not None


def results(config: dict) -> list[str]:
    """One result file per pretraining run and task."""
    if not enabled(config):
        return []
    return [
        GEOBENCH.format(archive=archive, sampler=sampler, model=model, seed=seed, task=task)
        for archive, sampler, model, seed in run_keys(config)
        for task in config["geobench"]["tasks"]
    ]


def arguments(config: dict) -> str:
    settings = config["geobench"]
    args = ["--root", settings["root"], "--partition", settings["partition"]]
    args += ["--band-mapping", settings.get("band_mapping", "corrected")]
    args += ["--segmentation-epochs", str(settings["segmentation_epochs"])]
    args += ["--device", settings["device"]]
    args += ["--seed", str(config["seed"])]  # the probes' seed
    return shlex.join(args)
