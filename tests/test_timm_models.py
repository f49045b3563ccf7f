"""The presets as timm models: an exported encoder through `timm.create_model`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch

from csmoe.errors import InputError
from csmoe.models import load_encoder


def pretrained(path: Path, name: str = "csmoe_tiny", **kwargs) -> torch.nn.Module:
    return timm.create_model(name, pretrained=True,
                             pretrained_cfg_overlay=dict(file=str(path)), **kwargs)  # fmt: skip


@pytest.mark.parametrize(("sensor", "channels"), [("s2", 10), ("s1", 2)])
def test_timm_gives_the_features_of_load_encoder(
    exported: Path, sensor: str, channels: int
) -> None:
    reference = load_encoder(exported)
    model = pretrained(exported, sensor=sensor)
    images = torch.randn(3, channels, 120, 120, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        tokens = model.forward_features(images)
        assert torch.equal(tokens, reference(images, sensor))
        assert torch.equal(model(images), reference.embedding(images, sensor))  # no head
        final, maps = model.forward_intermediates(images, indices=[1, -1])
        expected = reference.forward_intermediates(images, sensor, [1, -1])
    assert torch.equal(final, tokens)
    assert all(torch.equal(a, b) for a, b in zip(maps, expected, strict=True))
    assert maps[0].shape == (3, 192, 8, 8)
    assert not model.training


def test_pretrained_cfg_carries_bands_normalisation_and_input_size(exported: Path) -> None:
    description = json.loads(exported.with_suffix(".json").read_text())
    cfg = pretrained(exported).pretrained_cfg
    assert cfg["input_size"] == (10, 120, 120)
    assert cfg["bands"] == description["input"]["bands"]["s2"]
    assert list(cfg["mean"]) == description["input"]["normalisation"]["s2"]["mean"]
    assert list(cfg["std"]) == description["input"]["normalisation"]["s2"]["std"]
    assert cfg["file"] == str(exported) and cfg["architecture"] == "csmoe_tiny"


def test_a_head_intermediates_only_and_token_layout(exported: Path) -> None:
    model = pretrained(exported, num_classes=19)
    images = torch.randn(2, 10, 120, 120)
    with torch.no_grad():
        assert model(images).shape == (2, 19)
        assert model.forward_head(model.forward_features(images), pre_logits=True).shape == (2, 192)
        tokens = model.forward_intermediates(images, indices=2, output_fmt="NLC",
                                             intermediates_only=True)  # fmt: skip
    assert [t.shape for t in tokens] == [(2, 64, 192)] * 2


def test_the_wrong_preset_or_no_file_is_refused(exported: Path) -> None:
    with pytest.raises(InputError, match="holds a csmoe_tiny encoder, not csmae_tiny"):
        pretrained(exported, "csmae_tiny")
    with pytest.raises(ValueError, match="pretrained_cfg_overlay=dict"):
        timm.create_model("csmoe_tiny", pretrained=True)
    with pytest.raises(ValueError, match="takes 10 channels, not 3"):
        timm.create_model("csmoe_tiny", in_chans=3)
