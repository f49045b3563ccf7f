"""Model inputs from stored shard rows: normalised per band, and flipped.

The shards store S2 as uint16 and S1 as float16. GPU runs ship these rows from the
loader workers (half the bytes of float32, no arithmetic in the workers), pinned, and
prepare them on the GPU with torch; CPU runs prepare them in the loader workers with
NumPy, flipping while casting (a strided read, no extra pass). Both compute
x * (1/std) - mean/std in float32, two rounded operations in that order, exactly as the
shard format's `normalise`: the values are identical bit for bit (tested).
"""

from __future__ import annotations

import numpy as np
import torch

from csmoe.data.shard_format import SENSORS, normalise


def flip(images: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Each image (B, C, H, W) mirrored left-right where flags[:, 0], up-down where
    flags[:, 1] (no host sync: the flags stay on the device)."""
    horizontal, vertical = (flags[:, i].view(-1, 1, 1, 1) for i in (0, 1))
    images = torch.where(horizontal, images.flip(-1), images)
    return torch.where(vertical, images.flip(-2), images)


def normalise_flipped(values: np.ndarray, norm, flags: np.ndarray | None) -> np.ndarray:
    """`normalise` of each image (B, C, H, W), read through its flipped view."""
    if flags is None:
        return normalise(values, norm)
    out = np.empty(values.shape, dtype=np.float32)
    for i, (horizontal, vertical) in enumerate(flags):
        image = values[i, :, :, ::-1] if horizontal else values[i]
        normalise(image[:, ::-1, :] if vertical else image, norm, out=out[i])
    return out


class InputPreparer:
    """(x * scale - offset) per band, then flips, for the bands of one shard folder."""

    def __init__(self, norm: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """`norm`: sensor -> (mean, 1/std), float32 arrays shaped (bands, 1, 1)."""
        self.norm = norm
        self._on_device: dict[torch.device, dict] = {}

    def _constants(self, device: torch.device) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Scale and offset on `device`, copied there once."""
        if device not in self._on_device:
            self._on_device[device] = {
                sensor: (torch.from_numpy(inv_std).to(device),
                         torch.from_numpy(mean * inv_std).to(device))
                for sensor, (mean, inv_std) in self.norm.items()
            }  # fmt: skip
        return self._on_device[device]

    def prepare(self, rows: dict[str, torch.Tensor], flips: torch.Tensor | None) -> dict:
        """float32 model inputs per sensor from stored rows on one device."""
        on_cpu = rows["s2"].device.type == "cpu"
        return self.with_numpy(rows, flips) if on_cpu else self.with_torch(rows, flips)

    def with_numpy(self, rows: dict[str, torch.Tensor], flips: torch.Tensor | None) -> dict:
        """`prepare` for CPU tensors, in NumPy (flips fused into the cast)."""
        flags = None if flips is None else flips.numpy()
        return {
            s: torch.from_numpy(normalise_flipped(rows[s].numpy(), self.norm[s], flags))
            for s in SENSORS
        }

    def with_torch(self, rows: dict[str, torch.Tensor], flips: torch.Tensor | None) -> dict:
        """`prepare` on the rows' device, in torch (no host sync)."""
        constants = self._constants(rows["s2"].device)
        images = {}
        for sensor in SENSORS:
            scale, offset = constants[sensor]
            image = (rows[sensor].to(torch.float32) * scale).sub_(offset)
            images[sensor] = image if flips is None else flip(image, flips)
        return images
