"""Frozen features of an evaluation split: what every task needs, in one pass.

For each sample of a shard folder (in stored order): the pooled S1 and S2 embeddings,
the S2 patch-token map of the last block (for the segmentation decoder), the
BigEarthNet-19 labels and the 10 m reference map. Images are normalised as the encoder
was trained (the statistics in its ``encoder.json``) and resampled to its input side.

`Featurizer` is the encoder; `BandStatistics` is the baseline without any network: per
band mean and standard deviation of the normalised image (S2 and S1 separately).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from csmoe.data.loader import ShardDataset
from csmoe.devices import autocast
from csmoe.errors import InputError
from csmoe.models.encoder import resample

SENSORS = ("s1", "s2")


@dataclass
class SplitFeatures:
    embeddings: dict[str, np.ndarray]  # sensor -> (N, D)
    token_maps: np.ndarray | None  # (N, D, h, w) float16, S2, or None
    labels: np.ndarray  # (N, 19) uint8
    reference_maps: np.ndarray  # (N, 120, 120) uint16 CLC codes (0: none)
    has_reference_map: np.ndarray  # (N,) bool
    patch_ids: list[str]


class Featurizer:
    """A frozen encoder as feature extractor."""

    def __init__(self, encoder, device: torch.device) -> None:
        self.encoder, self.device = encoder.to(device).eval(), device
        self.img = encoder.img_size
        description = getattr(encoder, "description", None) or {}
        self.inputs = description.get("input", {})

    def stats(self) -> dict[str, dict[str, float]] | None:
        """The encoder's training normalisation as a stats.json ``bands`` mapping."""
        norm, bands = self.inputs.get("normalisation"), self.inputs.get("bands")
        if not norm:
            return None
        return {
            band: {"mean": norm[s]["mean"][i], "std": norm[s]["std"][i]}
            for s in SENSORS
            for i, band in enumerate(bands[s])
        }

    def check_bands(self, index: dict, folder) -> None:
        bands = self.inputs.get("bands")
        for sensor in SENSORS if bands else ():
            if index[f"{sensor}_bands"] != bands[sensor]:
                raise InputError(folder, f"{sensor.upper()} bands {index[f'{sensor}_bands']} "
                                 f"differ from the encoder's {bands[sensor]}")  # fmt: skip

    @torch.no_grad()
    def __call__(self, batch: dict) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        out, tokens = {}, {}
        for sensor in SENSORS:
            with autocast(self.device):
                x = resample(batch[sensor].to(self.device), self.img)
                tokens[sensor] = self.encoder.forward_features(x, sensor)
                out[sensor] = self.encoder.pool(tokens[sensor])
        token_map = self.encoder.patch_map(tokens["s2"])
        return {s: v.float().cpu() for s, v in out.items()}, token_map.half().cpu()


class BandStatistics:
    """Per-band mean and standard deviation of the images, normalised with the
    probe-training split's statistics (the same for every split)."""

    def __init__(self, stats: dict[str, dict[str, float]]) -> None:
        self._stats = stats

    def stats(self) -> dict[str, dict[str, float]]:
        return self._stats

    def check_bands(self, index: dict, folder) -> None:
        return None

    def __call__(self, batch: dict) -> tuple[dict[str, torch.Tensor], None]:
        features = {
            s: torch.cat([batch[s].mean(dim=(2, 3)), batch[s].std(dim=(2, 3))], dim=1)
            for s in SENSORS
        }
        return features, None


def split_features(
    folder: str | os.PathLike[str], extractor, batch_size: int = 32
) -> SplitFeatures:
    data = ShardDataset(folder, shuffle=False, flips=False, stats=extractor.stats())
    extractor.check_bands(data.index, folder)
    parts: dict[str, list] = {"s1": [], "s2": [], "maps": [], "labels": [], "ref": [],
                              "has_ref": [], "ids": []}  # fmt: skip
    for batch in DataLoader(data, batch_size=batch_size):
        embeddings, token_map = extractor(batch)
        for sensor in SENSORS:
            parts[sensor].append(embeddings[sensor].numpy())
        if token_map is not None:
            parts["maps"].append(token_map.numpy())
        parts["labels"].append(batch["labels"].numpy().astype(np.uint8))
        parts["ref"].append(batch["reference_map"].numpy().astype(np.uint16))
        parts["has_ref"].append(batch["has_reference_map"].numpy())
        parts["ids"].extend(batch["patch_id"])
    embeddings = {s: np.concatenate(parts[s]) for s in SENSORS}
    if not all(np.isfinite(e).all() for e in embeddings.values()):
        raise InputError(folder, "its features hold NaN or infinite values (the encoder's "
                         "weights or normalisation)")  # fmt: skip
    return SplitFeatures(
        embeddings=embeddings,
        token_maps=np.concatenate(parts["maps"]) if parts["maps"] else None,
        labels=np.concatenate(parts["labels"]),
        reference_maps=np.concatenate(parts["ref"]),
        has_reference_map=np.concatenate(parts["has_ref"]).astype(bool),
        patch_ids=parts["ids"],
    )
