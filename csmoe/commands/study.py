"""``csmoe study``: table, comparisons, claims and figures of every evaluated encoder."""

from __future__ import annotations

import argparse
from pathlib import Path

from csmoe.commands.common import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics",
        type=Path,
        nargs="+",
        required=True,
        help="metrics.json of every evaluation (predictions beside them)",
    )
    parser.add_argument(
        "--logs", type=Path, nargs="+", required=True, help="log.jsonl of every pretraining run"
    )
    parser.add_argument(
        "--examples",
        type=Path,
        required=True,
        help="the metrics.json whose retrieval examples are drawn",
    )
    parser.add_argument("--queries", type=Path, required=True, help="validation shards")
    parser.add_argument("--test", type=Path, required=True, help="test shards")
    parser.add_argument("--seed", type=int, default=0, help="of the bootstrap resamples")
    parser.add_argument("--out", type=Path, required=True, help="folder: table.csv, ...")


def run(args: argparse.Namespace) -> None:
    from csmoe.study.run import write_study

    write_study(
        args.metrics,
        args.logs,
        args.out,
        examples=args.examples,
        queries=args.queries,
        test=args.test,
        seed=args.seed,
    )
    say(f"study table and figures in {args.out}")
