"""Training checkpoints: safetensors for tensors, JSON for everything else; nothing pickled.

A checkpoint is a folder ``<checkpoints>/<run id>/step-NNNNNNNN/`` written under a
temporary name and renamed when complete (a killed run leaves no partial checkpoint):

    model.safetensors      the whole autoencoder (shared decoder tensors stored once)
    optimizer.safetensors  AdamW moments and step counts, per parameter index
    state.json             step, epoch, options, optimizer hyper-parameters, counters
    log.jsonl              the training log up to this step

The run id is a hash of every option that changes the result, so a changed command
starts a new run beside the old one instead of resuming it. Randomness needs no saved
state: masks, flips and the data order are drawn from (seed, step).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, load_model, save_file

from csmoe.atomic import atomic_dir, write_text
from csmoe.errors import InputError
from csmoe.models.weights import save_weights

_STEP = re.compile(r"^step-(\d{8})$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first."""
    if not run_dir.is_dir():
        return []
    found = []
    for path in run_dir.iterdir():
        match = _STEP.match(path.name)
        if match and (path / "state.json").is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, list]:
    state = optimizer.state_dict()
    tensors = {
        f"state.{index}.{key}": value.detach().cpu().contiguous()
        for index, entries in state["state"].items()
        for key, value in entries.items()
    }
    return tensors, state["param_groups"]


def restore_optimizer(optimizer: torch.optim.Optimizer, path: Path, groups: list) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in load_file(str(path)).items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict,
    log: Path,
) -> Path:
    target = run_dir / checkpoint_name(step)
    with atomic_dir(target) as tmp:
        save_weights(model, tmp / "model.safetensors")
        tensors, groups = optimizer_tensors(optimizer)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        if log.is_file():
            shutil.copyfile(log, tmp / "log.jsonl")
        write_text(tmp / "state.json", json.dumps(state | {"param_groups": groups}, indent=2))
    return target


def remove_partial(run_dir: Path) -> None:
    """Checkpoints a killed run left half-written (under their temporary names)."""
    if run_dir.is_dir():
        for partial in run_dir.glob(".step-*.tmp"):
            shutil.rmtree(partial, ignore_errors=True)


def prune(run_dir: Path, keep: int) -> None:
    """Keep the `keep` newest checkpoints of the run."""
    for _, path in checkpoints(run_dir)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Restore model and optimizer in place; return the checkpoint's state.json."""
    try:
        state = json.loads((path / "state.json").read_text())
        load_model(
            model, str(path / "model.safetensors"), device=str(next(model.parameters()).device)
        )
        restore_optimizer(optimizer, path / "optimizer.safetensors", state["param_groups"])
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise InputError(path, f"unusable checkpoint ({error}); delete it to start over") from None
    return state
