"""``csmoe flops``: parameters and GMAC of one encoder pass (batch 1)."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csmoe.models.presets import PRESETS

    parser.add_argument("--preset", choices=sorted(PRESETS), required=True)
    parser.add_argument("--img", type=int, default=224, help="input side in pixels")
    parser.add_argument("--sensor", choices=("s1", "s2"), default="s2")


def run(args: argparse.Namespace) -> None:
    from csmoe.models.flops import preset_cost

    print(json.dumps({"preset": args.preset} | preset_cost(args.preset, args.img, args.sensor)))
