"""Module weights as safetensors files: each shared tensor stored once, and the same
weights always give the same bytes.

safetensors' `save_model` records every dropped alias in the file's metadata, which it
writes as a hash map in a different order in every process: two runs with identical
weights wrote different files. Here aliases are dropped without metadata; `load_model`
restores them from the module itself.
"""

from __future__ import annotations

import os

import torch
from safetensors.torch import save_file


def unique_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with each shared tensor under its alphabetically first name (the
    name `safetensors.torch.load_model` keeps), contiguous, in name order."""
    state = module.state_dict()
    first_name: dict[tuple, str] = {}
    for name in sorted(state):
        tensor = state[name]
        if tensor.numel() == 0:  # empty tensors share no data
            first_name[(name,)] = name
            continue
        view = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(),
                tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)  # fmt: skip
        first_name.setdefault(view, name)
    return {name: state[name].contiguous() for name in sorted(first_name.values())}


def save_weights(module: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    save_file(unique_tensors(module), str(path))
