"""What a config's pretraining costs in GPU-hours, from measured step rates.

Runs: every model of ``pretrain.models`` on every sampler of ``pretrain.samplers`` of
every archive of ``pretrain.archives``, once per seed of ``pretrain.seeds``. Steps of a
run: ``pretrain.steps``, or ``pretrain.epochs`` x (manifest size // global batch), the
incomplete last batch of an epoch being dropped (`csmoe.training.batches`). GPU-hours:
the samples a run processes over the step rate of one GPU, times nothing else, so the
figure assumes that the GPUs of a job scale linearly and ignores the compile time of
the first step (131 s dense, 220 s Soft MoE in the measurement) and evaluation.

Step rates (samples/s on one GPU): measured with ``python -m csmoe bench model --task
pretraining`` (``tools/gpu-bench.sh``) on one NVIDIA H100 80GB, torch 2.11.0+cu130, bf16
autocast, fused AdamW, ``torch.compile``, batch 256, 120 px: ``csmae_b`` 2,940 and
``csmoe_b15`` 2,098. A preset measured at its own input side uses its rate; any other is
derived from the measured Soft MoE step at the same achieved FLOP/s, i.e. scaled by the
training FLOPs per sample (forward and backward, attention included, as
`csmoe.bench.model.Workload.flops_per_sample` counts them): ``csmoe_b15`` at 120 px
49.8 GFLOP, ``csmoe_b16`` at 224 px 145.0 GFLOP, so ``csmoe_b16`` gets
2,098 x 49.8 / 145.0 = 721 samples/s. The study runs at a global batch of 128, i.e. 32
per GPU on 4 GPUs, where the steps were measured at 256: per-sample rates at the smaller
batch are not higher, so the GPU-hours are a lower bound.

``python -m csmoe.study.cost config/study.yaml`` prints the runs and their cost.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

CARD = "NVIDIA H100 80GB"
MEASURED = {"csmae_b": 2940.0, "csmoe_b15": 2098.0}  # samples/s, at 120 px (see above)
MEASURED_IMG = 120
TRAINING_GFLOP = {("csmoe_b15", 120): 49.8, ("csmoe_b16", 224): 145.0}
REFERENCE = "csmoe_b15"  # the measured Soft MoE step the others are scaled from
NATIVE_IMG = {"csmae_b": 120, "csmoe_b15": 120, "csmoe_b16": 224, "csmoe_b14": 224,
              "csmoe_b28": 224, "csmoe_b32": 224}  # fmt: skip


@dataclass(frozen=True)
class Run:
    archive: str
    sampler: str
    model: str
    preset: str
    img: int
    seed: int
    gpus: int
    steps: int
    batch: int

    @property
    def samples(self) -> int:
        return self.steps * self.batch

    @property
    def rate(self) -> float | None:
        """Samples per second on one GPU (measured, or derived: see the module); None
        for a preset and input side with neither a measurement nor a FLOP count here."""
        if self.preset in MEASURED and self.img == MEASURED_IMG:
            return MEASURED[self.preset]
        if (self.preset, self.img) not in TRAINING_GFLOP:
            return None
        reference = MEASURED[REFERENCE] * TRAINING_GFLOP[(REFERENCE, MEASURED_IMG)]
        return reference / TRAINING_GFLOP[(self.preset, self.img)]

    @property
    def gpu_hours(self) -> float:
        return float("nan") if self.rate is None else self.samples / self.rate / 3600

    @property
    def wall_hours(self) -> float:
        return self.gpu_hours / max(self.gpus, 1)


def _size(config: dict, archive: str) -> int:
    return int(config["archives"][archive].get("sample_size", config["sampling"]["size"]))


def runs(config: dict) -> list[Run]:
    """Every pretraining run of `config`, in the workflow's order of archives, samplers,
    models and seeds."""
    pretrain = config["pretrain"]
    seeds = list(pretrain.get("seeds") or [config["seed"]])
    batch = int(pretrain["batch_size"])
    found = []
    for archive in pretrain["archives"]:
        steps = pretrain.get("steps")
        if steps is None:
            steps = int(pretrain["epochs"]) * (_size(config, archive) // batch)
        for sampler in pretrain["samplers"]:
            for model, options in pretrain["models"].items():
                preset = options["preset"]
                img = int(options.get("img", NATIVE_IMG.get(preset, 0)))
                found += [Run(archive, sampler, model, preset, img, seed,
                              int(pretrain["gpus"]), int(steps), batch)
                          for seed in seeds]  # fmt: skip
    return found


def summary(config: dict) -> str:
    found = runs(config)
    lines = [f"{len(found)} pretraining runs ({CARD} step rates, see csmoe/study/cost.py):"]
    for model in dict.fromkeys(run.model for run in found):
        mine = [run for run in found if run.model == model]
        first = mine[0]
        if first.rate is None:
            lines.append(f"  {model} ({first.preset}): {len(mine)} runs x {first.steps:,} "
                         f"steps x {first.batch} samples; no GPU step rate here")  # fmt: skip
            continue
        lines.append(f"  {model} ({first.preset}, {first.img} px): {len(mine)} runs x "
                     f"{first.steps:,} steps x {first.batch} samples, {first.rate:,.0f} "
                     f"samples/s per GPU: {first.gpu_hours:.1f} GPU-hours per run "
                     f"({first.wall_hours:.2f} h on {first.gpus} GPUs), "
                     f"{sum(run.gpu_hours for run in mine):.1f} in all")  # fmt: skip
    if all(run.rate is not None for run in found):
        lines.append(f"  total: {sum(run.gpu_hours for run in found):.1f} GPU-hours")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(yaml.safe_load(Path(sys.argv[1]).read_text(encoding="utf-8"))))
