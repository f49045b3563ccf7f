"""Checks of an exported encoder's ``encoder.json`` before any weight is allocated.

The JSON is untrusted input: it chooses the architecture that `load_encoder` builds.
Every constructor argument must be of its type and within bounds no real model leaves
(a depth of a billion would hang construction, a width of a million exhaust memory),
the input description must fit the architecture (a band name per input channel, a
finite mean and positive standard deviation per band), and the weights file must hold
exactly the tensors of the described architecture (compared on the meta device, so a
description of a huge model never allocates it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from csmoe.errors import InputError

SENSORS = ("s1", "s2")
# Inclusive bounds of the integer constructor arguments (ViT-H/14 is 32 blocks of 1280).
INT_BOUNDS = {
    "img_size": (1, 2048), "patch_size": (1, 512), "embed_dim": (1, 8192), "depth": (1, 64),
    "num_heads": (1, 128), "shared_depth": (0, 64), "num_experts": (1, 4096),
    "slots_per_expert": (1, 4096),
}  # fmt: skip
MAX_MLP_RATIO = 64.0
MAX_CHANNELS = 64


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def check_architecture(where: Path, args: Any) -> dict[str, Any]:
    """The ``encoder`` mapping: the constructor arguments of `CrossSensorEncoder`."""
    expected = set(INT_BOUNDS) | {"in_chans", "mlp_ratio", "moe_blocks"}
    if not isinstance(args, dict) or set(args) != expected:
        found = sorted(args) if isinstance(args, dict) else type(args).__name__
        raise InputError(where, f"'encoder' must hold exactly {sorted(expected)}, found {found}")
    for key, (low, high) in INT_BOUNDS.items():
        if not _is_int(args[key]) or not low <= args[key] <= high:
            raise InputError(where, f"encoder {key} {args[key]!r} is not an integer in "
                             f"{low}..{high}")  # fmt: skip
    ratio = args["mlp_ratio"]
    if not _is_number(ratio) or not 0 < ratio <= MAX_MLP_RATIO:
        raise InputError(where, f"encoder mlp_ratio {ratio!r} is not a number in (0, 64]")
    chans = args["in_chans"]
    if (
        not isinstance(chans, dict)
        or set(chans) != set(SENSORS)
        or not all(_is_int(n) and 1 <= n <= MAX_CHANNELS for n in chans.values())
    ):
        raise InputError(where, f"encoder in_chans {chans!r} is not 1..64 channels per sensor")
    blocks = args["moe_blocks"]
    if not isinstance(blocks, list) or not all(
        _is_int(b) and 0 <= b < args["depth"] for b in blocks
    ) or len(set(blocks)) != len(blocks):  # fmt: skip
        raise InputError(where, f"encoder moe_blocks {blocks!r} are not distinct block indices")
    if args["embed_dim"] % args["num_heads"] or args["img_size"] % args["patch_size"]:
        raise InputError(where, "encoder embed_dim must divide by num_heads and img_size by "
                         "patch_size")  # fmt: skip
    if args["shared_depth"] > args["depth"]:
        raise InputError(where, "encoder shared_depth exceeds depth")
    return args


def check_inputs(where: Path, inputs: Any, args: dict[str, Any]) -> None:
    """The ``input`` mapping: side, patch size, bands and their normalisation."""
    if not isinstance(inputs, dict):
        raise InputError(where, "'input' is not a mapping")
    for key in ("img_size", "patch_size"):
        if inputs.get(key) != args[key]:
            raise InputError(where, f"input {key} {inputs.get(key)!r} differs from the "
                             f"encoder's {args[key]}")  # fmt: skip
    bands, norm = inputs.get("bands"), inputs.get("normalisation")
    if not isinstance(bands, dict) or not isinstance(norm, dict):
        raise InputError(where, "input needs 'bands' and 'normalisation' per sensor")
    for sensor in SENSORS:
        names = bands.get(sensor)
        count = args["in_chans"][sensor]
        if not isinstance(names, list) or len(names) != count or not all(
            isinstance(n, str) and n for n in names
        ) or len(set(names)) != count:  # fmt: skip
            raise InputError(where, f"input bands of {sensor} must be {count} distinct names")
        values = norm.get(sensor)
        if not isinstance(values, dict):
            raise InputError(where, f"no normalisation for {sensor}")
        mean, std = values.get("mean"), values.get("std")
        if not all(isinstance(v, list) and len(v) == count for v in (mean, std)) or not all(
            _is_number(m) and _is_number(s) and s > 0 for m, s in zip(mean, std, strict=True)
        ):
            raise InputError(where, f"normalisation of {sensor} must be {count} finite means "
                             "and positive standard deviations")  # fmt: skip


def check_weights_fit(path: Path, encoder_args: dict[str, Any]) -> None:
    """The weights file holds exactly the described architecture's tensors."""
    import torch
    from safetensors import SafetensorError, safe_open

    from csmoe.models.encoder import CrossSensorEncoder

    with torch.device("meta"):
        model = CrossSensorEncoder(**encoder_args)
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    try:
        with safe_open(str(path), framework="pt") as handle:
            names = handle.keys()  # noqa: SIM118 - a safe_open handle is not iterable
            found = {name: tuple(handle.get_slice(name).get_shape()) for name in names}
    except (SafetensorError, OSError, ValueError) as error:
        raise InputError(path, f"not a safetensors file ({error})") from None
    missing = sorted(set(expected) - set(found))  # the encoder shares no tensors
    extra = sorted(set(found) - set(expected))
    wrong = sorted(k for k in set(found) & set(expected) if found[k] != expected[k])
    if missing or extra or wrong:
        first = (missing or extra or wrong)[0]
        raise InputError(path, f"weights do not fit the description ({len(missing)} missing, "
                         f"{len(extra)} unexpected, {len(wrong)} of another shape, "
                         f"e.g. {first})")  # fmt: skip
