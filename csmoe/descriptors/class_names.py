"""Readable names of descriptor classes, for figures and tables.

Köppen-Geiger symbols are read letter by letter (main group, precipitation, temperature),
as the classification defines them; CORINE codes take their nomenclature names.
"""

from __future__ import annotations

from csmoe.bigearthnet import nomenclature

KOPPEN_GROUPS = {"A": "tropical", "B": "arid", "C": "temperate", "D": "cold", "E": "polar"}
_SECOND = {
    "A": {"f": "rainforest", "m": "monsoon", "w": "savanna, dry winter",
          "s": "savanna, dry summer"},
    "B": {"W": "desert", "S": "steppe"},
    "C": {"f": "no dry season", "s": "dry summer", "w": "dry winter"},
    "D": {"f": "no dry season", "s": "dry summer", "w": "dry winter"},
    "E": {"T": "tundra", "F": "ice cap"},
}  # fmt: skip
_THIRD = {
    "B": {"h": "hot", "k": "cold"},
    "C": {"a": "hot summer", "b": "warm summer", "c": "cold summer"},
    "D": {"a": "hot summer", "b": "warm summer", "c": "cold summer", "d": "very cold winter"},
}


def koppen_name(symbol: str) -> str:
    """``Cfb`` -> ``Cfb temperate, no dry season, warm summer``; unknown symbols as given."""
    group = symbol[:1]
    if group not in KOPPEN_GROUPS:
        return symbol
    words = [KOPPEN_GROUPS[group]]
    if len(symbol) > 1 and symbol[1] in _SECOND[group]:
        words.append(_SECOND[group][symbol[1]])
    if len(symbol) > 2 and symbol[2] in _THIRD.get(group, {}):
        words.append(_THIRD[group][symbol[2]])
    return f"{symbol} {', '.join(words)}"


def clc_name(code: int | str, level: str) -> str:
    """``24`` at level 2 -> ``24 Heterogeneous agricultural areas``."""
    names = {
        "1": nomenclature.CLC_LEVEL1_NAMES,
        "2": nomenclature.CLC_LEVEL2_NAMES,
        "3": nomenclature.CLC_LEVEL3_NAMES,
    }[level]
    name = names.get(int(code))
    return f"{code} {name}" if name else str(code)
