"""``csmoe plot-training``: loss curves of a pretraining run (log.jsonl) as a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", type=Path, required=True, help="log.jsonl of a pretraining run")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--title", default="", help="what was trained, e.g. model on sampler")


def run(args: argparse.Namespace) -> None:
    from csmoe.training.plots import plot_training

    plot_training(args.log, args.out, args.title)
