"""``csmoe geobench-table``: our GEO-Bench scores beside the published CSMoE Table IV."""

from __future__ import annotations

import argparse
from pathlib import Path

from csmoe.commands.common import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results",
        type=Path,
        nargs="+",
        required=True,
        help="results/geobench/…/<task>.json files",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder: geobench.csv, .md")


def run(args: argparse.Namespace) -> None:
    from csmoe.geobench.table import write_geobench_table

    write_geobench_table(args.results, args.out)
    say(f"GEO-Bench table in {args.out}")
