"""``csmoe check-config FILE``: validate a workflow config file."""

from __future__ import annotations

import argparse
from pathlib import Path

from csmoe.commands.common import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path)
    parser.add_argument(
        "--gpus", action="store_true", help="also check that the GPUs it asks for are visible"
    )


def run(args: argparse.Namespace) -> None:
    from csmoe import config, preflight

    loaded = config.load(args.config)
    preflight.check(loaded, str(args.config), local=args.gpus)
    say(f"{args.config}: valid; its input files are what their keys say")
