"""Exported encoders: ``encoder.safetensors`` + ``encoder.json``, usable without training code.

``encoder.json`` holds everything needed to use the weights: the constructor arguments of
`CrossSensorEncoder`, the input it expects (side, patch size, band names in channel
order, per-band normalisation mean and std, how BigEarthNet's 120 px patches are
resampled to that side), the Soft MoE layout, and where the weights come from (preset,
variant, training step, run id).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model

from csmoe.atomic import atomic_path, write_text
from csmoe.errors import InputError
from csmoe.models.checkpoint import config_path
from csmoe.models.description import check_architecture, check_inputs, check_weights_fit
from csmoe.models.encoder import CrossSensorEncoder
from csmoe.models.weights import save_weights

FORMAT = "csmoe-encoder/1"
# No trained ViT weight comes near this; damaged bytes (e.g. 0x7F7F7F7F = 3.4e38) do, and
# finite weights that large overflow to infinite features.
MAX_WEIGHT = 1e4


def moe_layout(encoder: CrossSensorEncoder) -> dict | None:
    config = encoder.config
    if not config["moe_blocks"]:
        return None
    return {
        "blocks": config["moe_blocks"],
        "experts": config["num_experts"],
        "slots_per_expert": config["slots_per_expert"],
        "slots": config["num_experts"] * config["slots_per_expert"],
        "tokens_at_img_size": (config["img_size"] // config["patch_size"]) ** 2,
    }


def save_encoder(
    encoder: CrossSensorEncoder, path: str | os.PathLike[str], *, inputs: dict, origin: dict
) -> None:
    """Write the encoder's weights and ``<path>.json`` (`inputs`: bands, normalisation;
    `origin`: preset, variant, step, run id)."""
    with atomic_path(path) as tmp:
        save_weights(encoder, tmp)
    description = {
        "format": FORMAT,
        "encoder": encoder.config,
        "input": {"img_size": encoder.img_size, "patch_size": encoder.patch_size} | inputs,
        "moe": moe_layout(encoder),
        "embedding": "mean of the patch tokens, then LayerNorm (CrossSensorEncoder.embedding)",
    } | origin
    write_text(config_path(path), json.dumps(description, indent=2) + "\n")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def read_description(path: str | os.PathLike[str]) -> dict:
    """``encoder.json`` beside `path`, checked (`csmoe.models.description`)."""
    meta_path = config_path(path)
    try:
        description = json.loads(meta_path.read_text(encoding="utf-8"),
                                 parse_constant=_refuse_constant)  # fmt: skip
    except FileNotFoundError:
        raise InputError(
            meta_path, "missing: an exported encoder needs its JSON beside it"
        ) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InputError(meta_path, f"not valid JSON ({str(error)[:200]})") from None
    if not isinstance(description, dict):
        raise InputError(meta_path, "not a JSON object")
    if description.get("format") != FORMAT:
        raise InputError(
            meta_path, f"unknown encoder format {str(description.get('format'))[:80]!r}"
        )
    args = check_architecture(meta_path, description.get("encoder"))
    check_inputs(meta_path, description.get("input"), args)
    return description


def build_encoder(description: dict) -> CrossSensorEncoder:
    """The described architecture (fresh weights), with `encoder.description` set."""
    encoder = CrossSensorEncoder(**description["encoder"])
    encoder.description = description
    return encoder


def input_description(index: dict, stats: dict[str, dict[str, float]]) -> dict:
    """Band names per sensor in channel order and their normalisation (mean, std), from a
    shard folder's index.json and statistics."""
    bands = {"s2": index["s2_bands"], "s1": index["s1_bands"]}
    normalisation = {
        sensor: {"mean": [stats[b]["mean"] for b in names], "std": [stats[b]["std"] for b in names]}
        for sensor, names in bands.items()
    }
    return {"bands": bands, "normalisation": normalisation}


def load_encoder(path: str | os.PathLike[str], device: str = "cpu") -> CrossSensorEncoder:
    """The exported encoder in eval mode; its description is in `encoder.description`."""
    if not Path(path).is_file():
        raise InputError(path, "no such encoder weights file")
    description = read_description(path)
    check_weights_fit(Path(path), description["encoder"])
    encoder = build_encoder(description)
    try:
        load_model(encoder, str(Path(path)), device=device)
    except (OSError, RuntimeError, SafetensorError) as error:
        raise InputError(path, f"weights do not fit the description ({error})") from None
    bad = [name for name, tensor in encoder.state_dict().items() if tensor.is_floating_point()
           and not (torch.isfinite(tensor).all() and tensor.abs().max() <= MAX_WEIGHT)]  # fmt: skip
    if bad:
        raise InputError(path, f"weights hold NaN, infinite or absurd values beyond "
                         f"±{MAX_WEIGHT:g} ({bad[0]})")  # fmt: skip
    return encoder.to(device).eval()
