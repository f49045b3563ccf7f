"""``csmoe check-config FILE``: validate a workflow config file."""

from __future__ import annotations

import argparse
from pathlib import Path

from csmoe.commands.common import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path)


def run(args: argparse.Namespace) -> None:
    from csmoe import config

    config.load(args.config)
    say(f"{args.config}: valid")
