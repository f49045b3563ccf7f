"""The descriptors rule: index, Köppen raster and the archive's land-cover product in."""

from __future__ import annotations

import shlex

from csmoe.paths import INDEX
from csmoe.rules import index, koppen


def landcover_source(config: dict, wildcards) -> str:
    return index.archive(config, wildcards.archive).get("landcover", "corine")


def inputs(config: dict, wildcards) -> dict[str, str]:
    files = {
        "index": INDEX.format(archive=wildcards.archive),
        "koppen": koppen.raster(config),
        "koppen_legend": koppen.legend(config),
    }
    source = landcover_source(config, wildcards)
    if source == "corine":
        files["corine"] = config["descriptors"]["corine_raster"]
        files["corine_legend"] = config["descriptors"]["corine_legend"]
    elif source == "worldcover":
        files["worldcover"] = config["descriptors"]["worldcover_tiles"]
    return files


def arguments(config: dict, wildcards) -> str:
    settings = config["descriptors"]
    args = ["--landcover", landcover_source(config, wildcards)]
    args += ["--water-symbols", *settings["water_symbols"]]
    args += ["--fallback-radius-px", str(settings["fallback_radius_px"])]
    source = landcover_source(config, wildcards)
    if source == "corine":
        args += ["--corine-raster", settings["corine_raster"]]
        args += ["--corine-legend", settings["corine_legend"]]
    elif source == "worldcover":
        args += ["--worldcover-tiles", settings["worldcover_tiles"]]
    if source != "none":
        args += ["--landcover-min-valid", str(settings["landcover_min_valid"])]
    return shlex.join(args)
