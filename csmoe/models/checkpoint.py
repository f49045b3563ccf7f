"""Weights as safetensors plus a JSON config beside them; nothing is ever unpickled."""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors.torch import load_model

from csmoe.atomic import atomic_path, write_text
from csmoe.models.mae import CrossSensorMAE
from csmoe.models.presets import create_model
from csmoe.models.weights import save_weights


def config_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(path.name.removesuffix(".safetensors") + ".json")


def save(model: CrossSensorMAE, path: str | os.PathLike[str], preset: str, **options) -> None:
    """Write ``<path>`` (weights; shared tensors stored once) and ``<path>.json``."""
    with atomic_path(path) as tmp:
        save_weights(model, tmp)
    write_text(config_path(path), json.dumps({"preset": preset, "options": options}, indent=2))


def load(path: str | os.PathLike[str]) -> CrossSensorMAE:
    config = json.loads(config_path(path).read_text())
    model = create_model(config["preset"], **config["options"])
    load_model(model, str(path))
    return model
