"""``csmoe descriptors``: climate and land-cover descriptors of every patch of an index."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from csmoe.commands.common import say, since


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.descriptors.build import LANDCOVER_SOURCES, MIN_VALID

    parser.add_argument("--index", type=Path, required=True, help="index GeoParquet")
    parser.add_argument("--koppen-raster", type=Path, required=True, help="Köppen-Geiger GeoTIFF")
    parser.add_argument("--koppen-legend", type=Path, required=True, help="code,symbol CSV")
    parser.add_argument(
        "--water-symbols", nargs="+", default=["Ocean"], help="legend symbols that are water"
    )
    parser.add_argument(
        "--fallback-radius-px",
        type=int,
        default=60,
        help="nearest-land search radius in Köppen raster pixels",
    )
    parser.add_argument("--landcover", choices=LANDCOVER_SOURCES, default="corine",
                        help="land-cover product")  # fmt: skip
    parser.add_argument("--corine-raster", type=Path, help="CORINE Land Cover raster (any CRS)")
    parser.add_argument("--corine-legend", type=Path, help="code,symbol CSV (symbol: CLC code)")
    parser.add_argument("--worldcover-tiles", type=Path,
                        help="folder of ESA WorldCover map tiles (searched whole)")  # fmt: skip
    parser.add_argument("--landcover-min-valid", type=float, default=MIN_VALID,
                        help="least share of a patch with land cover to describe it")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True)


def run(args: argparse.Namespace) -> None:
    from csmoe.descriptors.build import build_descriptors

    start = time.perf_counter()
    table = build_descriptors(
        args.index,
        args.out,
        koppen_raster=args.koppen_raster,
        koppen_legend=args.koppen_legend,
        landcover_source=args.landcover,
        corine_raster=args.corine_raster,
        corine_legend=args.corine_legend,
        worldcover_tiles=args.worldcover_tiles,
        landcover_min_valid=args.landcover_min_valid,
        water_symbols=tuple(args.water_symbols),
        fallback_radius_px=args.fallback_radius_px,
    )
    say(f"described {len(table)} patches into {args.out} in {since(start)}")
    if "landcover_valid" in table:
        valid = table["landcover_valid"]
        say(f"land cover ({args.landcover}): {int((valid >= args.landcover_min_valid).sum())} "
            f"patches described, {int((valid < args.landcover_min_valid).sum())} below "
            f"{args.landcover_min_valid:g} of their pixels covered, {int((valid == 0).sum())} "
            "with none")  # fmt: skip
