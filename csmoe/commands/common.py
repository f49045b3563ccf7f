"""Argument helpers several commands share."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from csmoe.errors import InputError

EXCLUSIONS = ("snow", "cloud", "no_labels")  # config sampling.exclude.<name>


def since(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"


def say(message: str) -> None:
    print(message, file=sys.stderr)


def add_exclusions(parser: argparse.ArgumentParser) -> None:
    """``--exclude-snow`` / ``--no-exclude-snow`` ... (config ``sampling.exclude``)."""
    for name in EXCLUSIONS:
        parser.add_argument(
            f"--exclude-{name.replace('_', '-')}",
            default=True,
            action=argparse.BooleanOptionalAction,
            help=f"leave {name.replace('_', ' ')} patches out of the pool",
        )


def exclusions(args: argparse.Namespace) -> dict[str, bool]:
    return {f"exclude_{name}": getattr(args, f"exclude_{name}") for name in EXCLUSIONS}


def add_non_finite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--non-finite",
        choices=("reject", "repair"),
        default="reject",
        help="NaN or infinite pixels: bad input (default), or filled with the median of the "
        "band's finite pixels in the patch (counted in the index)",
    )


def add_koppen(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--koppen-raster", type=Path, help=help_text)
    parser.add_argument("--koppen-legend", type=Path, help="its code,symbol legend CSV")


def koppen(args: argparse.Namespace) -> tuple[Path, Path] | None:
    """(raster, legend) given together, or None."""
    if (args.koppen_raster is None) != (args.koppen_legend is None):
        raise InputError("--koppen-raster", "give --koppen-raster and --koppen-legend together")
    return (args.koppen_raster, args.koppen_legend) if args.koppen_raster else None


def named_paths(values: list[str]) -> dict[str, Path]:
    """``NAME=PATH`` arguments as a mapping."""
    pairs = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep:
            raise InputError(value, "expected NAME=PATH")
        pairs[name] = Path(path)
    return pairs


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)
