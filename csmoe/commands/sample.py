"""``csmoe sample``: a training manifest (and its metrics) drawn from descriptors."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from csmoe.commands.common import add_exclusions, exclusions, say, since


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.sampling.samplers import CLIMATE_LEVELS, LANDCOVER_LEVELS, NO_LANDCOVER, SAMPLERS

    parser.add_argument("--descriptors", type=Path, required=True, help="descriptors GeoParquet")
    parser.add_argument("--sampler", choices=SAMPLERS, required=True)
    parser.add_argument("--size", type=int, help="patches to select (not for 'full')")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--climate-level", choices=sorted(CLIMATE_LEVELS), default="group")
    parser.add_argument("--landcover-level", choices=list(LANDCOVER_LEVELS), default="2")
    parser.add_argument("--no-landcover", choices=NO_LANDCOVER, default="climate_only",
                        help="pool patches without a land-cover descriptor")  # fmt: skip
    parser.add_argument("--alpha", type=float, default=0.5, help="n_h ~ N_h^alpha")
    add_exclusions(parser)
    parser.add_argument("--out", type=Path, required=True, help="manifest GeoParquet")
    parser.add_argument("--metrics", type=Path, required=True, help="metrics JSON")


def run(args: argparse.Namespace) -> None:
    from csmoe.sampling.run import run_sampling

    start = time.perf_counter()
    manifest = run_sampling(
        args.descriptors,
        args.sampler,
        args.out,
        args.metrics,
        size=args.size,
        seed=args.seed,
        climate_level=args.climate_level,
        landcover_level=args.landcover_level,
        no_landcover=args.no_landcover,
        alpha=args.alpha,
        **exclusions(args),
    )
    say(f"{args.sampler}: {len(manifest)} patches into {args.out} in {since(start)}")
