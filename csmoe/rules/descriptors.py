"""The descriptors rule: index, Köppen and (optionally) CORINE rasters in."""

from __future__ import annotations

import shlex

from csmoe.paths import INDEX
from csmoe.rules import index, koppen


def landcover_source(config: dict, wildcards) -> str:
    return index.archive(config, wildcards.archive).get("landcover", "raster")


def inputs(config: dict, wildcards) -> dict[str, str]:
    files = {
        "index": INDEX.format(archive=wildcards.archive),
        "koppen": koppen.raster(config),
        "koppen_legend": koppen.legend(config),
    }
    if landcover_source(config, wildcards) == "raster":
        files["corine"] = config["descriptors"]["corine_raster"]
        files["corine_legend"] = config["descriptors"]["corine_legend"]
    return files


def arguments(config: dict, wildcards) -> str:
    settings = config["descriptors"]
    args = ["--landcover", landcover_source(config, wildcards)]
    args += ["--water-symbols", *settings["water_symbols"]]
    args += ["--fallback-radius-px", str(settings["fallback_radius_px"])]
    if landcover_source(config, wildcards) == "raster":
        args += ["--corine-raster", settings["corine_raster"]]
        args += ["--corine-legend", settings["corine_legend"]]
    return shlex.join(args)
