"""The presets as timm models: importing `csmoe.models` registers each preset's encoder.

    model = timm.create_model("csmoe_tiny", pretrained=True, sensor="s2",
                              pretrained_cfg_overlay=dict(file="RUN/encoder.safetensors"))

gives the exported encoder of a pretraining run (its ``encoder.json`` is read from beside
the file and checked as `load_encoder` checks it; the file must hold an encoder of the
preset asked for). One model sees one sensor, chosen by the ``sensor`` keyword (``s2``
by default, or ``s1``); both sensors' weights are kept, and `sensor` may be changed.

timm's interface: `forward_features` gives the (B, 1 + L, D) tokens after the final norm
(class token first), `forward_head` the pooled embedding (mean of the patch tokens, then
LayerNorm, as `CrossSensorEncoder.embedding`) through an optional linear ``head``
(``num_classes``, default 0: the embedding itself), `forward_intermediates` the token
maps after chosen blocks. ``model.pretrained_cfg`` carries ``input_size`` (channels,
side, side), ``mean`` / ``std`` per channel in the units of the input (reflectance DN for
S2, dB for S1) and ``bands`` (names in channel order); inputs of another side are
resampled by the caller (`csmoe.models.encoder.resample`).
"""

from __future__ import annotations

import sys

import torch
from timm.models import build_model_with_cfg, register_model
from torch import nn

from csmoe.errors import InputError
from csmoe.models.encoder import SENSORS, CrossSensorEncoder
from csmoe.models.export import load_encoder
from csmoe.models.presets import PRESETS, create_model


class SensorEncoder(nn.Module):
    """One sensor's view of a `CrossSensorEncoder`, with timm's classifier interface."""

    def __init__(self, encoder: CrossSensorEncoder, sensor: str = "s2", num_classes: int = 0,
                 in_chans: int | None = None) -> None:  # fmt: skip
        super().__init__()
        if sensor not in SENSORS:
            raise ValueError(f"sensor must be one of {SENSORS}, not {sensor!r}")
        channels = encoder.config["in_chans"][sensor]
        if in_chans is not None and in_chans != channels:
            raise ValueError(f"the {sensor} encoder takes {channels} channels, not {in_chans}")
        self.encoder, self.sensor = encoder, sensor
        self.num_features = self.head_hidden_size = self.embed_dim = encoder.embed_dim
        self.num_prefix_tokens = 1
        self.patch_size, self.img_size = encoder.patch_size, encoder.img_size
        self.reset_classifier(num_classes)

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        if global_pool not in (None, "avg"):
            raise ValueError("the embedding is the mean of the patch tokens (global_pool 'avg')")
        self.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x, self.sensor)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = self.encoder.pool(x)
        return pooled if pre_logits else self.head(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: int | list[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs of the blocks `indices` (an int n: the last n; default all), as
        (B, D, h, w) maps (``NCHW``) or (B, L, D) patch tokens (``NLC``), after the final
        norm with `norm`; with the final tokens unless `intermediates_only`."""
        if output_fmt not in ("NCHW", "NLC"):
            raise ValueError("output_fmt must be 'NCHW' or 'NLC'")
        blocks = self.encoder.stream(self.sensor)
        take = block_indices(len(blocks), indices)
        last = max(take)
        tokens = self.encoder.add_cls(self.encoder.embed(x, self.sensor), self.sensor)
        intermediates = []
        for i, block in enumerate(blocks[: last + 1] if stop_early or intermediates_only
                                  else blocks):  # fmt: skip
            tokens = block(tokens)
            if i in take:
                out = self.encoder.norm(tokens) if norm else tokens
                intermediates.append(
                    self.encoder.patch_map(out) if output_fmt == "NCHW" else out[:, 1:]
                )
        if intermediates_only:
            return intermediates
        return self.encoder.norm(tokens), intermediates


def block_indices(blocks: int, indices: int | list[int] | None) -> list[int]:
    """timm's convention: None all blocks, an int n the last n, a list those (negative
    values count from the end)."""
    if indices is None:
        return list(range(blocks))
    if isinstance(indices, int):
        if not 0 < indices <= blocks:
            raise ValueError(f"indices {indices}: the stream has {blocks} blocks")
        return list(range(blocks - indices, blocks))
    if any(not -blocks <= i < blocks for i in indices):
        raise ValueError(f"indices {list(indices)}: the stream has {blocks} blocks")
    return [i % blocks for i in indices]


def _pretrained_encoder(name: str, overlay: dict) -> CrossSensorEncoder:
    file = overlay.get("file")
    if not file:
        raise ValueError(f"{name}: pretrained=True needs the exported encoder, "
                         "pretrained_cfg_overlay=dict(file='RUN/encoder.safetensors')")  # fmt: skip
    encoder = load_encoder(file)
    preset = encoder.description.get("preset")
    if preset != name:
        raise InputError(file, f"holds a {preset} encoder, not {name}")
    return encoder


def _input_cfg(encoder: CrossSensorEncoder, sensor: str) -> dict:
    """input_size, mean and std of one sensor (identity normalisation without a file)."""
    side, channels = encoder.img_size, encoder.config["in_chans"][sensor]
    description = getattr(encoder, "description", None)
    if description is None:
        return {"input_size": (channels, side, side), "mean": (0.0,) * channels,
                "std": (1.0,) * channels}  # fmt: skip
    normalisation = description["input"]["normalisation"][sensor]
    return {"input_size": (channels, side, side), "mean": tuple(normalisation["mean"]),
            "std": tuple(normalisation["std"])}  # fmt: skip


def _create(name: str, pretrained: bool = False, sensor: str = "s2", **kwargs) -> SensorEncoder:
    overlay = dict(kwargs.pop("pretrained_cfg_overlay", None) or {})
    kwargs.pop("cache_dir", None)
    encoder = _pretrained_encoder(name, overlay) if pretrained else create_model(name).encoder
    model = build_model_with_cfg(
        SensorEncoder, name, False, pretrained_cfg_overlay=overlay | _input_cfg(encoder, sensor),
        encoder=encoder, sensor=sensor, **kwargs,
    )  # fmt: skip
    description = getattr(encoder, "description", None)
    model.pretrained_cfg["bands"] = description["input"]["bands"][sensor] if description else None
    if pretrained:
        model.eval()
    return model


def _entrypoint(name: str):
    def create(pretrained: bool = False, **kwargs) -> SensorEncoder:
        return _create(name, pretrained, **kwargs)

    create.__name__ = create.__qualname__ = name
    create.__doc__ = f"The {name} encoder (`csmoe.models.presets.{name}`), one sensor."
    create.__module__ = __name__
    return create


# timm reads these when each entrypoint is registered (one default config per preset).
default_cfgs = {
    name: {"url": "", "num_classes": 0, "first_conv": None, "classifier": "head",
           "interpolation": "bicubic", "crop_pct": 1.0, "license": "mit",
           "paper_ids": "arXiv:2509.14104"}
    for name in PRESETS
}  # fmt: skip
__all__ = ["SensorEncoder"]  # register_model adds each preset name
for _name in PRESETS:
    setattr(sys.modules[__name__], _name, register_model(_entrypoint(_name)))
