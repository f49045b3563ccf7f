"""``csmoe eval-manifest``: the manifest of one official split (optionally a stratified
cap) for evaluation."""

from __future__ import annotations

import argparse
from pathlib import Path

from csmoe.commands.common import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=Path, required=True, help="index GeoParquet")
    parser.add_argument("--split", choices=("train", "validation", "test"), required=True)
    parser.add_argument("--size", type=int, help="stratified cap (default: the whole split)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="manifest GeoParquet")


def run(args: argparse.Namespace) -> None:
    from csmoe.sampling.splits import split_counts_line, write_evaluation_manifest

    manifest = write_evaluation_manifest(args.index, args.split, args.size, args.seed, args.out)
    say(f"{args.split}: {len(manifest)} patches into {args.out}")
    line = split_counts_line(args.index)
    if line:
        say(line)
