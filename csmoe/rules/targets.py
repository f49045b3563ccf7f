"""The files `rule all` asks for: the study's final outputs of every stage."""

from __future__ import annotations

from csmoe.paths import INDEX, REPORT, SHARDS, STUDY, STUDY_OUTPUTS
from csmoe.rules import geobench
from csmoe.rules.pretrain import run_dirs


def study_outputs(config: dict) -> list[str]:
    study = config["study"]
    outputs = [INDEX.format(archive=a) for a in study["archives"]]
    outputs += [f"{REPORT.format(archive=a)}/descriptors.png" for a in study["archives"]]
    for archive in study.get("sample", []):
        outputs += [
            f"{REPORT.format(archive=archive)}/{name}"
            for name in ("sampling.tsv", "sampling_map.png", "sampling_distributions.png")
        ]
    outputs += [
        SHARDS.format(archive=archive, sampler=sampler)
        for archive in study.get("shard", [])
        for sampler in study.get("shard_samplers", [])
    ]
    for run in run_dirs(config):
        outputs += [f"{run}/encoder.safetensors", f"{run}/loss.png"]
    if config["evaluation"]["archives"]:
        outputs += [f"{STUDY}/{name}" for name in STUDY_OUTPUTS]
    if geobench.results(config):
        outputs += [f"{STUDY}/geobench.csv", f"{STUDY}/geobench.md"]
    return outputs
