"""``csmoe index KIND``: one GeoParquet row per S1/S2 pair of an archive."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from csmoe.commands.common import add_non_finite, say, since


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.index.kinds import KINDS, ROOTS

    kinds = "; ".join(f"{kind.name}: {kind.about}" for kind in KINDS.values())
    parser.add_argument("kind", choices=KINDS, help=kinds)
    parser.add_argument("--out", type=Path, required=True, help="GeoParquet file to write")
    for name, about in ROOTS.items():
        text = f"{about}; " + ", ".join(
            [f"{k.name} (required)" for k in KINDS.values() if name in k.roots]
            + [f"{k.name} (optional)" for k in KINDS.values() if name in k.optional_roots]
        )
        parser.add_argument(f"--{name.replace('_', '-')}", type=Path, help=text)
    parser.add_argument("--s2-product", choices=("l2a", "l1c"), help="ssl4eo-s12*: S2 product")
    parser.add_argument(
        "--cloud-threshold",
        type=float,
        help="ssl4eo-s12-v1.1: flag a sample cloudy above this share of cloud "
        "and shadow pixels (default 0.05)",
    )
    parser.add_argument(
        "--check",
        choices=("full", "header"),
        default="full",
        help="full: decode every band (catches truncated files); header: headers only",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip bad patches and list them in <out>.skipped.tsv",
    )
    add_non_finite(parser)
    parser.add_argument("--workers", type=int, default=1, help="reader processes")


def run(args: argparse.Namespace) -> None:
    from csmoe.index import build_index
    from csmoe.sampling.splits import split_counts_line

    start = time.perf_counter()
    from csmoe.index.kinds import ROOT_KEYS

    options = (*ROOT_KEYS, "s2_product", "cloud_threshold")
    count = build_index(
        args.kind,
        args.out,
        check=args.check,
        non_finite=args.non_finite,
        skip_bad=args.skip_bad,
        workers=args.workers,
        **{name: getattr(args, name) for name in options},
    )
    say(f"indexed {count} pairs into {args.out} in {since(start)}")
    if args.skip_bad:
        from csmoe.index.table import skipped_line

        skipped = skipped_line(args.out)
        if skipped:
            say(skipped)
    line = split_counts_line(args.out)
    if line:
        say(line)
