"""Land-cover class priors conditioned on the Köppen-Geiger climate.

Weights of CORINE level-3 codes per climate family. They encode broad, well-known
associations (boreal: conifers, bogs, lakes; oceanic: pastures, arable land, broad-leaved
forest; Mediterranean: olives, vines, sclerophyllous scrub; arid: sparse vegetation and
bare rock) and are not calibrated against CORINE statistics.
"""

from __future__ import annotations

import numpy as np

from csmoe.bigearthnet import nomenclature

_COMMON = {112: 2.0, 121: 0.6, 122: 0.3, 512: 1.0, 142: 0.3, 131: 0.2}
FAMILY_PRIORS: dict[str, dict[int, float]] = {
    "tropical": {311: 10, 324: 4, 242: 3, 211: 3, 231: 2, 411: 1},
    "arid": {333: 8, 332: 6, 321: 5, 211: 2, 242: 1, 331: 1},
    "mediterranean": {223: 6, 221: 5, 323: 6, 211: 5, 242: 4, 243: 3, 311: 2, 244: 1, 312: 1},
    "humid_subtropical": {211: 8, 311: 5, 221: 3, 242: 4, 231: 2, 313: 2, 222: 1},
    "oceanic": {231: 10, 211: 7, 311: 4, 242: 3, 243: 2, 313: 2, 322: 1, 412: 1, 312: 1},
    "continental": {211: 9, 313: 5, 311: 4, 231: 4, 312: 3, 242: 2, 324: 2, 222: 1},
    "boreal": {312: 10, 313: 5, 412: 4, 512: 4, 324: 4, 211: 2, 231: 1, 411: 1},
    "polar": {332: 6, 321: 6, 322: 5, 335: 3, 333: 3, 412: 1, 512: 1},
}


def family(symbol: str | None) -> str:
    """Climate family of a Köppen-Geiger symbol (unknown or water -> oceanic)."""
    if not symbol or symbol[0] not in "ABCDE":
        return "oceanic"
    if symbol[0] == "A":
        return "tropical"
    if symbol[0] == "B":
        return "arid"
    if symbol[0] == "E":
        return "polar"
    if symbol[0] == "C":
        if symbol[1] == "s":
            return "mediterranean"
        return "humid_subtropical" if symbol[2:] == "a" else "oceanic"
    return "boreal" if symbol[2:] in ("c", "d") else "continental"


def prior_matrix(families: list[str]) -> tuple[np.ndarray, tuple[int, ...]]:
    """(families, classes) probabilities over the CLC codes that any family uses."""
    codes = sorted({c for p in FAMILY_PRIORS.values() for c in p} | set(_COMMON))
    assert all(c in nomenclature.CLC_LEVEL3_NAMES for c in codes)
    matrix = np.zeros((len(families), len(codes)))
    for i, name in enumerate(families):
        weights = _COMMON | FAMILY_PRIORS[name]
        matrix[i] = [weights.get(c, 0.0) for c in codes]
    return matrix / matrix.sum(axis=1, keepdims=True), tuple(codes)
