"""Cluster resources shared by the GPU rules."""

from __future__ import annotations


def job_gpus(resources) -> int:
    return int(resources.get("gpu", 0) or 0)


def cpus_per_gpu(config: dict, section: str, threads: int) -> int:
    """The job's CPUs per GPU (SLURM ``--cpus-per-gpu``; ignored without GPUs) for the
    GPUs that the config's `section` gives each job."""
    return max(threads // max(config[section]["gpus"], 1), 1)


def gpu(config: dict, section: str) -> dict:
    """``gpu`` and ``cpus_per_gpu`` of a rule whose config `section` has ``gpus``: spread
    into the rule's resources (``**resource_rules.gpu(config, "pretrain")``)."""
    return {
        "gpu": config[section]["gpus"],
        "cpus_per_gpu": lambda wildcards, threads: cpus_per_gpu(config, section, threads),
    }
