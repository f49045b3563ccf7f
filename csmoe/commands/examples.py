"""``csmoe examples``: unpack the six real BigEarthNet example pairs in the v1 layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from csmoe.commands.common import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True)


def run(args: argparse.Namespace) -> None:
    from csmoe.bigearthnet.examples import extract_examples

    for root in extract_examples(args.out):
        say(str(root))
