"""``predictions.safetensors``: what an evaluation keeps per test patch and per query.

Arrays (numpy, written as safetensors: deterministic bytes, memory-mapped, no pickle):
``cls_labels`` (N, 19) and ``cls_<sensor>_scores`` (N, 19) of the test split;
``seg_counts`` (probe seeds, M, 3, classes) pixel counts (intersection, predicted,
true) of the M test patches with a reference map, ``seg_rows`` their rows in the test
split; ``ret_<source>_to_<target>_k<K>_<precision|recall|ap>`` (Q,) per query. The
metadata (one key) holds the test and query patch ids, so runs are paired by patch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from csmoe.atomic import atomic_path
from csmoe.errors import InputError

PREDICTIONS = "predictions.safetensors"


def write_predictions(path: str | os.PathLike[str], arrays: dict[str, np.ndarray],
                      patch_ids: dict[str, list[str]]) -> None:  # fmt: skip
    from safetensors.numpy import save_file

    metadata = {"csmoe": json.dumps({"patch_ids": patch_ids}, sort_keys=True)}
    arrays = {name: np.ascontiguousarray(values) for name, values in sorted(arrays.items())}
    with atomic_path(path) as tmp:
        save_file(arrays, str(tmp), metadata=metadata)


def read_predictions(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, patch ids per split) of one evaluation."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "missing: rerun the evaluation (it keeps per-patch scores)")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            names = handle.keys()  # noqa: SIM118 - a safe_open handle is not iterable
            arrays = {name: handle.get_tensor(name) for name in names}
            ids = json.loads((handle.metadata() or {})["csmoe"])["patch_ids"]
    except (SafetensorError, OSError, KeyError, ValueError, TypeError) as error:
        raise InputError(path, f"not a predictions file ({error})") from None
    return arrays, ids
