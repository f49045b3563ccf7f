"""``csmoe shard``: write training shards of a manifest, or ``--verify`` a shard folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from csmoe.commands.common import add_non_finite, say, since
from csmoe.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.data.bands import CSMAE_S2

    parser.add_argument("--manifest", type=Path, help="manifest GeoParquet")
    parser.add_argument("--out", type=Path, help="shard folder to write")
    parser.add_argument("--verify", type=Path, metavar="DIR", help="check a shard folder")
    parser.add_argument("--shard-size", type=int, default=256, help="samples per shard")
    parser.add_argument("--s2-bands", nargs="+", default=list(CSMAE_S2))
    parser.add_argument(
        "--stats",
        choices=("manifest", "bigearthnet"),
        default="manifest",
        help="normalisation: computed over the manifest, or the BigEarthNet constants",
    )
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help="leave out manifest ids absent from the archive (skipped.tsv)",
    )
    add_non_finite(parser)
    parser.add_argument("--workers", type=int, default=1)


def run(args: argparse.Namespace) -> None:
    from csmoe.data.shards import verify_shards, write_shards

    if args.verify is not None:
        say(f"{args.verify}: {verify_shards(args.verify)} samples, every shard intact")
        return
    for name in ("manifest", "out"):
        if getattr(args, name) is None:
            raise InputError(f"--{name}", "required unless --verify is given")
    start = time.perf_counter()
    index = write_shards(
        args.manifest,
        args.out,
        shard_size=args.shard_size,
        s2_bands=tuple(args.s2_bands),
        stats=args.stats,
        skip_missing=args.skip_missing,
        non_finite=args.non_finite,
        workers=args.workers,
    )
    say(
        f"{index['samples']} samples in {len(index['shards'])} shards at {args.out} "
        f"in {since(start)}"
    )
