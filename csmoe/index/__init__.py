"""Index stage: one GeoParquet row per S1/S2 pair of an archive (see `table` for columns)."""

from __future__ import annotations

import os
from pathlib import Path

from csmoe.index.table import finalize, write_index, write_skipped

KINDS = ("bigearthnet-v1", "bigearthnet-v2", "ssl4eo-s12", "ssl4eo-s12-v1.1", "bigearthnet-names")


def build_index(
    kind: str,
    out: str | os.PathLike[str],
    *,
    s1_root: Path | None = None,
    s2_root: Path | None = None,
    reference_root: Path | None = None,
    reference_metadata: Path | None = None,
    root: Path | None = None,
    s2_product: str = "l2a",
    check: str = "full",
    non_finite: str = "reject",
    cloud_threshold: float | None = None,
    skip_bad: bool = False,
    workers: int = 1,
) -> int:
    """Index one archive into `out`; return the number of indexed pairs.

    With `skip_bad`, bad patches are listed in ``<out>.skipped.tsv`` instead of failing.
    `non_finite` is the policy for NaN or infinite pixels (`csmoe.finite`);
    `cloud_threshold` the cloud share above which an SSL4EO-S12 v1.1 sample is flagged
    cloudy (default `ssl4eo_s12_zarr.DEFAULT_CLOUD_THRESHOLD`).
    Paths in the index (``s1_dir``, ``s2_dir``, ``reference_map``) are absolute.
    """
    # Absolute roots give absolute paths in the index, so later stages find the pixels
    # from any working directory.
    s1_root, s2_root, reference_root, reference_metadata, root = (
        None if path is None else Path(path).absolute()
        for path in (s1_root, s2_root, reference_root, reference_metadata, root)
    )
    options = {"check": check, "non_finite": non_finite, "skip_bad": skip_bad, "workers": workers}
    if kind == "bigearthnet-v1":
        from csmoe.index.bigearthnet_v1 import index_bigearthnet_v1

        frame, skipped = index_bigearthnet_v1(
            s1_root,
            s2_root,
            reference_root=reference_root,
            reference_metadata=reference_metadata,
            **options,
        )
    elif kind == "bigearthnet-v2":
        from csmoe.index.bigearthnet_v2 import index_bigearthnet_v2

        frame, skipped = index_bigearthnet_v2(root, **options)
    elif kind == "ssl4eo-s12":
        from csmoe.index.ssl4eo_s12 import index_ssl4eo_s12

        frame, skipped = index_ssl4eo_s12(root, s2_product=s2_product, **options)
    elif kind == "ssl4eo-s12-v1.1":
        from csmoe.index.ssl4eo_s12_zarr import DEFAULT_CLOUD_THRESHOLD, index_ssl4eo_s12_zarr

        threshold = DEFAULT_CLOUD_THRESHOLD if cloud_threshold is None else cloud_threshold
        frame, skipped = index_ssl4eo_s12_zarr(
            root, s2_product=s2_product, cloud_threshold=threshold, **options
        )
    elif kind == "bigearthnet-names":
        from csmoe.index.bigearthnet_names import index_bigearthnet_names

        frame, skipped = index_bigearthnet_names()
    else:
        raise ValueError(f"unknown archive kind {kind!r}; expected one of {KINDS}")
    index = finalize(frame, root or s2_root or kind)
    if skip_bad:
        write_skipped(skipped, out)
    write_index(index, out)
    return len(index)
