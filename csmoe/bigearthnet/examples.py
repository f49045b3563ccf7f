"""The six real BigEarthNet v1 S1/S2 example pairs shipped inside `bigearthnet-common`.

`extract_examples` unpacks them into the original archive layout (two roots named like
the real ones), so every reader runs on real pixels and metadata without a download.
"""

from __future__ import annotations

import os
import tarfile
from importlib import resources
from pathlib import Path

from csmoe.atomic import atomic_dir

S1_ROOT = "BigEarthNet-S1-v1.0"
S2_ROOT = "BigEarthNet-v1.0"
_ARCHIVES = {
    S1_ROOT: ("BigEarthNet-S1-Example.tar.bz2", "BigEarthNet-S1-Example"),
    S2_ROOT: ("BigEarthNet-S2-Example.tar.bz2", "BigEarthNet-S2-Example"),
}


def extract_examples(out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``<out>/BigEarthNet-S1-v1.0`` and ``<out>/BigEarthNet-v1.0``; return both roots."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        for root, (archive, member) in _ARCHIVES.items():
            data = resources.files("bigearthnet_common").joinpath(archive)
            with resources.as_file(data) as path, tarfile.open(path, "r:bz2") as tar:
                tar.extractall(tmp, filter="data")
            (tmp / member).rename(tmp / root)
    return out / S1_ROOT, out / S2_ROOT
