"""Options of a pretraining run: the command line, defaults, and the run id.

Published CSMAE settings are the defaults: AdamW, base learning rate 1e-4 for a global
batch of 128 (scaled linearly with the batch), weight decay 0.05, betas (0.9, 0.95),
150 epochs with 10 of them warm-up, then cosine to 0, seed as given.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from csmoe.errors import InputError

# Options that change the trained weights; the rest (device, workers, checkpoint
# cadence, output paths) only change how the run is carried out.
RESULT_OPTIONS = (
    "preset",
    "variant",
    "model_options",
    "steps",
    "epochs",
    "batch_size",
    "lr",
    "min_lr",
    "weight_decay",
    "betas",
    "warmup_steps",
    "warmup_epochs",
    "clip_grad",
    "accumulate",
    "seed",
    "img",
)
PUBLISHED_WARMUP = 10 / 150  # 10 warm-up epochs of 150


@dataclass
class PretrainOptions:
    shards: Path
    out: Path
    preset: str
    variant: str = "CECD"
    model_options: dict = field(default_factory=dict)
    steps: int | None = None
    epochs: float | None = None
    batch_size: int = 128
    lr: float = 1e-4
    min_lr: float = 0.0
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: int | None = None
    warmup_epochs: float | None = None
    clip_grad: float = 0.0
    accumulate: int = 1
    seed: int = 0
    img: int | None = None
    device: str = "auto"
    compile: bool = False
    loader_workers: int = 2
    threads: int | None = None
    checkpoint_dir: Path | None = None
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    expert_log_every: int = 100
    max_bad_steps: int = 10

    def __post_init__(self) -> None:
        if self.steps is not None and self.epochs is not None:
            raise InputError("--steps", "give --steps or --epochs, not both")
        if self.steps is None and self.epochs is None:
            self.epochs = 150.0
        if self.warmup_steps is not None and self.warmup_epochs is not None:
            raise InputError("--warmup-steps", "give --warmup-steps or --warmup-epochs, not both")
        for name in (
            "batch_size",
            "accumulate",
            "checkpoint_every",
            "keep_checkpoints",
            "expert_log_every",
            "max_bad_steps",
        ):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')}", "must be at least 1")
        if (self.steps is not None and self.steps < 1) or (
            self.epochs is not None and self.epochs <= 0
        ):
            raise InputError("--steps", "the run must have at least one step")
        if self.checkpoint_dir is None:
            self.checkpoint_dir = self.out / "checkpoints"

    def total_steps(self, steps_per_epoch: int) -> int:
        if self.steps is not None:
            return self.steps
        return max(1, round(self.epochs * steps_per_epoch))

    def warmup(self, steps_per_epoch: int) -> int:
        """Warm-up steps: as given, else the published share of the run (10 of 150 epochs)."""
        if self.warmup_steps is not None:
            return self.warmup_steps
        if self.warmup_epochs is not None:
            return round(self.warmup_epochs * steps_per_epoch)
        return round(PUBLISHED_WARMUP * self.total_steps(steps_per_epoch))

    def result_options(self) -> dict:
        values = dataclasses.asdict(self)
        return {name: values[name] for name in RESULT_OPTIONS} | {"betas": list(self.betas)}

    def run_id(self, shards_sha256: str) -> str:
        """Hash of the data and of every option that changes the result."""
        payload = json.dumps({"data": shards_sha256} | self.result_options(), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def to_json(self) -> dict:
        values = dataclasses.asdict(self)
        return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


def _model_option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # a plain string, e.g. mask_mode=complementary


def add_arguments(parser: argparse.ArgumentParser, presets: list[str], variants: tuple) -> None:
    d = PretrainOptions.__dataclass_fields__
    add = parser.add_argument
    add("--shards", type=Path, required=True, help="shard folder (python -m csmoe shard)")
    add(
        "--out",
        type=Path,
        required=True,
        help="run folder: encoder.safetensors/.json, model.safetensors/.json, log.jsonl",
    )
    add("--preset", choices=presets, required=True, help="model preset (csmoe.models.presets)")
    add(
        "--variant",
        choices=variants,
        default=d["variant"].default,
        help="CSMAE layout: C/S = common / sensor-specific Encoder and Decoder",
    )
    add(
        "--model-option",
        action="append",
        type=_model_option,
        default=[],
        metavar="KEY=VALUE",
        help="preset keyword (JSON value or string), e.g. mask_mode=complementary; repeatable",
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimizer steps (one global batch each)")
    length.add_argument("--epochs", type=float, help="passes over the shards (default 150)")
    add(
        "--batch-size",
        type=int,
        default=d["batch_size"].default,
        help="GLOBAL batch, split over processes and accumulation steps (default %(default)s)",
    )
    add(
        "--lr",
        type=float,
        default=d["lr"].default,
        help="base learning rate for a batch of 128, scaled linearly (default %(default)s)",
    )
    add("--min-lr", type=float, default=d["min_lr"].default, help="end of the cosine")
    add(
        "--weight-decay",
        type=float,
        default=d["weight_decay"].default,
        help="AdamW decoupled weight decay (not on biases, norms, tokens, scales)",
    )
    add("--betas", type=float, nargs=2, default=list(d["betas"].default), help="AdamW betas")
    warm = parser.add_mutually_exclusive_group()
    warm.add_argument("--warmup-steps", type=int, help="linear warm-up steps")
    warm.add_argument(
        "--warmup-epochs",
        type=float,
        help="warm-up in epochs (default: 10/150 of the run, as published)",
    )
    add(
        "--clip-grad",
        type=float,
        default=d["clip_grad"].default,
        help="clip the global gradient norm to this value; 0 = no clipping",
    )
    add(
        "--accumulate",
        type=int,
        default=d["accumulate"].default,
        help="micro-batches per optimizer step (gradient accumulation)",
    )
    add("--seed", type=int, default=d["seed"].default, help="seed of masks, flips, data order")
    add(
        "--img",
        type=int,
        help="input side in px: 120 px patches resampled bicubically "
        "on the fly (default: the preset's own size)",
    )
    add(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: CUDA if available; bf16 autocast and fused AdamW on CUDA, fp32 on CPU",
    )
    add("--compile", action="store_true", help="torch.compile the model")
    add(
        "--loader-workers",
        type=int,
        default=d["loader_workers"].default,
        help="data loader processes per training process (0: load in the training process)",
    )
    add("--threads", type=int, help="torch CPU threads per process (default: torch's)")
    add("--checkpoint-dir", type=Path, help="default: OUT/checkpoints")
    add(
        "--checkpoint-every",
        type=int,
        default=d["checkpoint_every"].default,
        help="steps between checkpoints (one is also written at the end)",
    )
    add(
        "--keep-checkpoints",
        type=int,
        default=d["keep_checkpoints"].default,
        help="newest checkpoints kept",
    )
    add(
        "--expert-log-every",
        type=int,
        default=d["expert_log_every"].default,
        help="steps between records of the experts' output share per sensor and layer",
    )
    add(
        "--max-bad-steps",
        type=int,
        default=d["max_bad_steps"].default,
        help="stop after this many steps in a row with a non-finite loss or gradient",
    )


def from_args(args: argparse.Namespace) -> PretrainOptions:
    names = {f.name for f in dataclasses.fields(PretrainOptions)} - {"model_options"}
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    values["betas"] = tuple(values["betas"])
    return PretrainOptions(model_options=dict(args.model_option), **values)
