"""``csmoe report``: the sampling report of an archive and its descriptor figure."""

from __future__ import annotations

import argparse
from pathlib import Path

from csmoe.commands.common import add_exclusions, add_koppen, exclusions, koppen, named_paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--descriptors", type=Path, required=True)
    parser.add_argument(
        "--archive",
        help="archive name for titles and the table (default: the descriptors file's name)",
    )
    add_koppen(parser, "Köppen raster: land and sea on the map")
    parser.add_argument("--water-symbols", nargs="+", default=["Ocean"], help="water symbols")
    parser.add_argument("--manifest", nargs="*", default=[], help="SAMPLER=manifest.parquet")
    parser.add_argument("--metrics", nargs="*", default=[], help="SAMPLER=metrics.json")
    parser.add_argument("--table", type=Path, help="sampling metrics TSV to write")
    parser.add_argument("--map", type=Path, help="map PNG to write")
    parser.add_argument("--distributions", type=Path, help="class-share PNG to write")
    parser.add_argument("--descriptor-figure", type=Path, help="descriptor summary PNG")
    add_exclusions(parser)


def run(args: argparse.Namespace) -> None:
    from csmoe.sampling.run import write_reports

    write_reports(
        args.descriptors,
        args.archive,
        koppen=koppen(args),
        water=tuple(args.water_symbols),
        manifests=named_paths(args.manifest),
        metrics=named_paths(args.metrics),
        table_out=args.table,
        map_out=args.map,
        distributions_out=args.distributions,
        descriptor_figure=args.descriptor_figure,
        **exclusions(args),
    )
