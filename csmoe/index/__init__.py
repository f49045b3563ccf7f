"""Index stage: one GeoParquet row per S1/S2 pair of an archive (see `table` for columns;
the archive kinds and what each needs: `kinds`)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from csmoe.errors import InputError
from csmoe.index.kinds import KINDS, ROOT_KEYS
from csmoe.index.table import finalize, skipped_summary, write_index, write_skipped

__all__ = ["KINDS", "build_index"]


def build_index(
    kind: str,
    out: str | os.PathLike[str],
    *,
    check: str = "full",
    non_finite: str = "reject",
    skip_bad: bool = False,
    workers: int = 1,
    **roots_and_options,
) -> int:
    """Index one archive into `out`; return the number of indexed pairs.

    `roots_and_options`: the kind's roots (``s1_root``, ``root`` ...) and options
    (``s2_product``, ``cloud_threshold``), see `kinds`; None values are left out. With
    `skip_bad`, bad patches are listed in ``<out>.skipped.tsv`` instead of failing (also
    when every patch was bad: the list is written, then an `InputError` names the most
    common reason).
    `non_finite` is the policy for NaN or infinite pixels (`csmoe.finite`). Paths in the
    index (``s1_dir``, ``s2_dir``, ``reference_map``) are absolute.
    """
    if kind not in KINDS:
        raise InputError("kind", f"unknown archive kind {kind!r}; expected one of {list(KINDS)}")
    spec = KINDS[kind]
    given = {k: v for k, v in roots_and_options.items() if v is not None}
    missing = [root for root in spec.roots if root not in given]
    if missing:
        raise InputError(f"--{missing[0].replace('_', '-')}", f"required for kind {kind}")
    foreign = sorted(set(given) - set(spec.roots + spec.optional_roots + spec.options))
    if foreign:
        raise InputError(f"--{foreign[0].replace('_', '-')}", f"not an option of kind {kind}")
    # Absolute roots give absolute paths in the index, so later stages find the pixels
    # from any working directory.
    arguments = {k: Path(v).absolute() if k in ROOT_KEYS else v for k, v in given.items()}
    if spec.pixels:
        arguments |= {"check": check, "non_finite": non_finite, "skip_bad": skip_bad,
                      "workers": workers}  # fmt: skip
    module, function = spec.reader.split(":")
    frame, skipped = getattr(importlib.import_module(module), function)(**arguments)
    source = arguments.get("root") or arguments.get("s2_root") or kind
    if skip_bad:
        write_skipped(skipped, out)
    if frame.empty:  # readers return no pairs only when every item was skipped
        why = skipped_summary(skipped, out) if skipped else "the archive holds no pair"
        raise InputError(source, f"nothing to index: {why}")
    index = finalize(frame, source)
    write_index(index, out)
    return len(index)
