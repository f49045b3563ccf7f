"""The pretraining loop: model, optimizer, global batches, checkpoints, exports.

One optimizer step consumes one global batch (`--batch-size`), split over the processes
and, inside each, over `--accumulate` micro-batches. Everything random is drawn from
(seed, step) — masks, flips, data order — and never from a generator that carries
state, so a run resumed from a checkpoint continues bit for bit, and the samples, masks
and flips of a step are the same for any number of processes.
"""

from __future__ import annotations

import math
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from csmoe.data.shard_format import INDEX, sha256
from csmoe.devices import autocast
from csmoe.errors import InputError
from csmoe.models import checkpoint as model_checkpoint
from csmoe.models import create_model
from csmoe.models.encoder import resample
from csmoe.models.export import input_description, save_encoder
from csmoe.models.mae import CrossSensorMAE
from csmoe.training import distributed, state
from csmoe.training.batches import GlobalBatches
from csmoe.training.logbook import Progress, RunLog
from csmoe.training.options import PretrainOptions
from csmoe.training.recorder import TERMS, StepRecorder, StepResult, sync_every
from csmoe.training.schedule import scaled_lr, warmup_cosine

MASK_STREAM, GLOBAL_RNG_STREAM = 2, 3
SOURCE_SIDE = 120  # BigEarthNet patches in the shards


def stream_seed(*counters: int) -> int:
    """A 63-bit seed derived from counters (seed, step, stream, ...)."""
    return int(np.random.SeedSequence(list(counters)).generate_state(1, np.uint64)[0] >> 1)


@dataclass
class Run:
    """Everything the loop needs, built once."""

    options: PretrainOptions
    processes: distributed.Processes
    model: CrossSensorMAE
    optimizer: torch.optim.Optimizer
    data: GlobalBatches
    img: int
    total: int
    warmup: int
    peak_lr: float
    run_id: str
    run_dir: Path
    index_sha256: str

    @property
    def device(self) -> torch.device:
        return self.processes.device

    @property
    def autocast(self):
        return autocast(self.device)


# ----------------------------------------------------------------------- set-up
def build_model(options: PretrainOptions) -> CrossSensorMAE:
    try:
        return create_model(options.preset, variant=options.variant, **options.model_options)
    except ValueError as error:
        raise InputError("--model-option", str(error)) from None


NO_DECAY = {"bias", "b1", "b2", "mask_token"}


def no_decay(name: str, param: torch.nn.Parameter) -> bool:
    """Biases, norms, learned scalars and tokens are not decayed (as MAE / timm)."""
    return param.ndim <= 1 or name.rsplit(".", 1)[-1] in NO_DECAY or ".cls_token." in name


def build_optimizer(model: torch.nn.Module, options: PretrainOptions, device) -> torch.optim.AdamW:
    decay, rest = [], []
    for name, param in model.named_parameters():  # shared decoder parameters listed once
        (rest if no_decay(name, param) else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": options.weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    fused = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=options.lr, betas=tuple(options.betas), **fused)


def check_inputs(model: CrossSensorMAE, data: GlobalBatches, img: int, options) -> None:
    channels = {"s2": len(data.index["s2_bands"]), "s1": len(data.index["s1_bands"])}
    for sensor, count in channels.items():
        if count != model.in_chans[sensor]:
            raise InputError(
                data.folder,
                f"{count} {sensor.upper()} bands, the model takes {model.in_chans[sensor]}",
            )
    if img % model.encoder.patch_size:
        raise InputError(
            "--img", f"{img} is not a multiple of patch size {model.encoder.patch_size}"
        )
    per_process = options.batch_size // data.world_size
    if per_process % options.accumulate:
        raise InputError(
            "--accumulate",
            f"{per_process} samples per process do not split "
            f"into {options.accumulate} micro-batches",
        )


def prepare(options: PretrainOptions, processes: distributed.Processes) -> Run:
    if options.threads:
        torch.set_num_threads(options.threads)
    data = GlobalBatches(
        options.shards,
        batch_size=options.batch_size,
        seed=options.seed,
        start_step=0,
        steps=0,
        rank=processes.rank,
        world_size=processes.world_size,
        # GPU runs ship stored rows and normalise and flip on the GPU (csmoe.training.inputs)
        prepare_in_reader=processes.device.type != "cuda",
    )
    index_sha256 = sha256(options.shards / INDEX)
    torch.manual_seed(stream_seed(options.seed, GLOBAL_RNG_STREAM))  # initial weights
    model = build_model(options)
    img = options.img or model.encoder.img_size
    check_inputs(model, data, img, options)
    model.to(processes.device)
    total = options.total_steps(data.steps_per_epoch)
    run_id = options.run_id(index_sha256)
    return Run(
        options=options,
        processes=processes,
        model=model,
        optimizer=build_optimizer(model, options, processes.device),
        data=data,
        img=img,
        total=total,
        warmup=options.warmup(data.steps_per_epoch),
        peak_lr=scaled_lr(options.lr, options.batch_size),
        run_id=run_id,
        run_dir=options.checkpoint_dir / run_id,
        index_sha256=index_sha256,
    )


def resume(run: Run, log: RunLog) -> tuple[int, int]:
    """Load the newest checkpoint of this run, if any: (steps done, bad steps in a row)."""
    found = state.checkpoints(run.run_dir)
    if run.processes.main:
        state.remove_partial(run.run_dir)
        others = [
            p.name for p in run.options.checkpoint_dir.glob("*") if p.is_dir() and p != run.run_dir
        ]
        if others:
            print(
                f"note: checkpoints of other runs left in {run.options.checkpoint_dir}: "
                f"{', '.join(sorted(others))}",
                file=sys.stderr,
            )
    if not found:
        log.start(None)
        return 0, 0
    step, path = found[-1]
    saved = state.load_checkpoint(path, run.model, run.optimizer)
    log.start(path / "log.jsonl", step)
    if run.processes.main:
        print(f"resuming run {run.run_id} at step {step} from {path}", file=sys.stderr)
    return step, saved.get("bad_steps_in_a_row", 0)


# ------------------------------------------------------------------------ steps
def mask_order(run: Run, step: int) -> dict[str, torch.Tensor]:
    """This process's rows of the global batch's token orders, drawn from (seed, step)."""
    generator = torch.Generator().manual_seed(stream_seed(run.options.seed, step, MASK_STREAM))
    tokens = (run.img // run.model.encoder.patch_size) ** 2
    order = run.model.mask_order(run.options.batch_size, tokens, generator)
    share = run.options.batch_size // run.processes.world_size
    rows = slice(run.processes.rank * share, (run.processes.rank + 1) * share)
    return {s: o[rows].to(run.device, non_blocking=True) for s, o in order.items()}


def images(run: Run, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = run.data.model_inputs(batch, run.device)
    return tuple(resample(inputs[s], run.img) for s in ("s1", "s2"))


def optimizer_step(optimizer: torch.optim.Optimizer, finite: torch.Tensor) -> None:
    """One step where `finite` is true, none where it is false. Fused AdamW (CUDA runs)
    takes the decision inside its kernel from its `found_inf` flag (as under a gradient
    scaler: parameters, moments and step counts untouched), so the host does not wait
    for the GPU; other optimizers read `finite` on the host."""
    if optimizer.defaults.get("fused"):
        optimizer.found_inf = (~finite).float()
        try:
            optimizer.step()
        finally:
            del optimizer.found_inf
    elif finite:
        optimizer.step()


def train_step(run: Run, runner, ddp, s1, s2, order) -> tuple[torch.Tensor, ...]:
    """Forward and backward over the micro-batches, then one AdamW step if all is finite.

    Returns the loss terms (mean over processes), the global gradient norm, and whether
    the step was taken, all on the device.
    """
    accumulate = run.options.accumulate
    micro = s1.shape[0] // accumulate
    terms = torch.zeros(len(TERMS), device=run.device)
    for i in range(accumulate):
        rows = slice(i * micro, (i + 1) * micro)
        sync = ddp is None or i == accumulate - 1
        with nullcontext() if sync else ddp.no_sync():
            with run.autocast:
                out = runner(s1[rows], s2[rows], {k: v[rows] for k, v in order.items()})
            (out["loss"] / accumulate).backward()
        terms += torch.stack([out[k].detach().float() for k in TERMS]) / accumulate
    max_norm = run.options.clip_grad or math.inf
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), max_norm)
    terms = distributed.mean_over_processes(terms, run.processes)
    finite = torch.isfinite(terms).all() & torch.isfinite(grad_norm)
    optimizer_step(run.optimizer, finite)
    run.optimizer.zero_grad(set_to_none=True)
    return terms, grad_norm, finite


@torch.no_grad()
def expert_shares(run: Run, s1, s2, order) -> dict | None:
    """Share of each sensor's token outputs that each expert gives, per MoE layer."""
    if not run.model.encoder.moe_layers():
        return None
    with run.model.encoder.recording_expert_shares() as record, run.autocast:
        run.model(s1, s2, order)
    # Per sensor and layer, the expert mass summed over the tokens of the batch.
    mass = torch.stack([
        torch.stack([layer.sum(dim=(0, 1)) for layer in record[s][0]]) for s in ("s1", "s2")
    ])  # fmt: skip
    mass = distributed.sum_over_processes(mass, run.processes)
    shares = (mass / mass.sum(dim=-1, keepdim=True)).cpu()
    return {
        s: [[round(v, 4) for v in layer] for layer in shares[i].tolist()]
        for i, s in enumerate(("s1", "s2"))
    }


# ------------------------------------------------------------------------- run
def _checkpoint_state(run: Run, step: int, bad: int) -> dict:
    return {
        "step": step,
        "total_steps": run.total,
        "warmup_steps": run.warmup,
        "steps_per_epoch": run.data.steps_per_epoch,
        "run_id": run.run_id,
        "bad_steps_in_a_row": bad,
        "world_size": run.processes.world_size,
        "data": {"shards": str(run.options.shards), "index_sha256": run.index_sha256},
        "randomness": "masks, flips and data order are drawn from (seed, step)",
        "options": run.options.to_json(),
    }


def loader(run: Run, start: int) -> DataLoader:
    workers = run.options.loader_workers
    return DataLoader(
        run.data.for_steps(start, run.total),
        batch_size=None,
        num_workers=workers,
        pin_memory=run.device.type == "cuda",
        multiprocessing_context="spawn" if workers else None,
    )


def train(run: Run, start: int, bad: int, log: RunLog) -> None:
    ddp = None
    runner = run.model
    if run.processes.distributed:
        ids = [run.device.index] if run.device.type == "cuda" else None
        ddp = runner = DistributedDataParallel(run.model, device_ids=ids)
    if run.options.compile:
        runner = torch.compile(runner)
    progress = Progress(run.total, start, run.processes.main)
    recorder = StepRecorder(run, log, progress, bad, sync_every(run.device))
    for batch in loader(run, start):
        if "error" in batch:  # bad input met by a loader worker
            raise InputError(*batch["error"])
        step = batch["step"]
        lr = warmup_cosine(step, run.total, run.warmup, run.peak_lr, run.options.min_lr)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(
            stream_seed(run.options.seed, step, GLOBAL_RNG_STREAM, run.processes.rank)
        )
        s1, s2 = images(run, batch)
        order = mask_order(run, step)
        terms, grad_norm, finite = train_step(run, runner, ddp, s1, s2, order)
        extra = {}
        if (step + 1) % run.options.expert_log_every == 0:
            extra["experts"] = expert_shares(run, s1, s2, order)
        recorder.record(StepResult(step, lr, terms, grad_norm, finite, extra))
        if (step + 1) % run.options.checkpoint_every == 0 or step + 1 == run.total:
            recorder.flush()  # the checkpoint holds the log and the bad-step count
            save(run, step + 1, recorder.bad, log)
    recorder.flush()
    progress.close()


def save(run: Run, step: int, bad: int, log: RunLog) -> None:
    if run.processes.main:
        state.save_checkpoint(
            run.run_dir, step, run.model, run.optimizer, _checkpoint_state(run, step, bad), log.path
        )
        state.prune(run.run_dir, run.options.keep_checkpoints)
    distributed.barrier(run.processes)


def export(run: Run) -> None:
    """encoder.safetensors/.json and model.safetensors/.json in the run folder."""
    out, options, index = run.options.out, run.options, run.data.index
    model_checkpoint.save(
        run.model,
        out / "model.safetensors",
        options.preset,
        variant=options.variant,
        **options.model_options,
    )
    inputs = input_description(index, run.data.stats) | {
        "source_side": SOURCE_SIDE,
        "resampling": None if run.img == SOURCE_SIDE else "bicubic",
    }
    origin = {
        "preset": options.preset,
        "variant": options.variant,
        "model_options": options.model_options,
        "step": run.total,
        "run_id": run.run_id,
        "shards": str(options.shards),
        "shards_index_sha256": run.index_sha256,
    }
    save_encoder(run.model.encoder, out / "encoder.safetensors", inputs=inputs, origin=origin)


def pretrain(options: PretrainOptions) -> dict:
    """Train (or resume) and export; returns a short summary."""
    processes = distributed.start(options.device)
    try:
        run = prepare(options, processes)
        log = RunLog(options.out / "log.jsonl", processes.main)
        start, bad = resume(run, log)
        if start < run.total:
            train(run, start, bad, log)
        if processes.main:
            export(run)
        distributed.barrier(processes)
        return {
            "run_id": run.run_id,
            "steps": run.total,
            "resumed_at": start,
            "device": str(processes.device),
            "processes": processes.world_size,
        }
    finally:
        distributed.stop(processes)
