"""The pretraining rule: one run per archive x sampler x model x seed."""

from __future__ import annotations

import itertools
import json
import shlex

from csmoe.paths import PRETRAIN_RUN
from csmoe.rules.resources import job_gpus


def arguments(config: dict, wildcards) -> str:
    """Options of `python -m csmoe pretrain` for one model."""
    settings = config["pretrain"]
    model = settings["models"][wildcards.model]
    args = ["--preset", model["preset"], "--variant", model.get("variant", "CECD")]
    # Sorted by name, whatever the YAML order (a reordered config must not rerun a run).
    for key, value in sorted(model.get("options", {}).items()):
        args += ["--model-option", f"{key}={json.dumps(value, sort_keys=True)}"]
    if "img" in model:
        args += ["--img", str(model["img"])]
    length = "steps" if "steps" in settings else "epochs"
    args += [f"--{length}", str(settings[length])]
    for key in ("batch_size", "lr", "weight_decay", "clip_grad", "accumulate",
                "checkpoint_every", "keep_checkpoints", "device"):  # fmt: skip
        args += [f"--{key.replace('_', '-')}", str(settings[key])]
    args += ["--loader-workers", str(settings["loader_workers"])]
    args += ["--expert-log-every", str(settings.get("expert_log_every", 100))]
    if settings["compile"]:
        args.append("--compile")
    return shlex.join(args)


def job_threads(config: dict) -> int:
    """CPUs of a pretraining job: each process (one per GPU) with its loader workers."""
    pretrain = config["pretrain"]
    return max(pretrain["gpus"], 1) * (pretrain["threads"] + pretrain["loader_workers"])


def process_threads(config: dict, threads: int, resources) -> int:
    """Torch threads of each training process: the job's CPUs (set-threads included)
    shared by its processes, less their loader workers."""
    share = threads // max(job_gpus(resources), 1)
    return max(share - config["pretrain"]["loader_workers"], 1)


def launcher(resources) -> str:
    """What follows the job's interpreter: the package, or torchrun (as that interpreter's
    ``torch.distributed.run`` module) with one process per GPU of the job."""
    gpus = job_gpus(resources)
    if gpus > 1:
        return f"-m torch.distributed.run --standalone --nproc-per-node {gpus} -m csmoe"
    return "-m csmoe"


def seeds(config: dict) -> list[int]:
    """Pretraining seeds (`pretrain.seeds`; the master seed alone by default)."""
    return list(config["pretrain"].get("seeds") or [config["seed"]])


def model_names(config: dict) -> list[str]:
    """The configured models by name: a mapping's YAML order is no order of the study."""
    return sorted(config["pretrain"]["models"])


def run_keys(config: dict) -> list[tuple[str, str, str, int]]:
    """(archive, sampler, model, seed) of every pretraining run."""
    pretrain = config["pretrain"]
    return list(itertools.product(pretrain["archives"], pretrain["samplers"], model_names(config),
                                  seeds(config)))  # fmt: skip


def run_dirs(config: dict) -> list[str]:
    return [PRETRAIN_RUN.format(archive=a, sampler=s, model=m, seed=seed)
            for a, s, m, seed in run_keys(config)]  # fmt: skip
