"""CORINE Land Cover nomenclature and the BigEarthNet-19 class set.

The tables come from `bigearthnet-common` (data, not code of ours): CLC level-3 names and
codes, their level-1/2 parents, and the 43 -> 19 mapping of Sumbul et al. (2021).
BigEarthNet-19 multi-hot vectors follow the lexicographic class order (`BEN19_CLASSES`),
the order used by `bigearthnet-common` and the BigEarthNet v2 tooling.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from bigearthnet_common import constants as _ben

CLC_LEVEL3_CODES: dict[str, int] = {
    name: int(code) for name, code in _ben.CLC_LV3_TO_CLC_CODE.items()
}
CLC_LEVEL3_NAMES: dict[int, str] = {code: name for name, code in CLC_LEVEL3_CODES.items()}
# (The packaged level-2 table spells "comercial"; CLC's nomenclature has "commercial".)
CLC_LEVEL2_NAMES: dict[int, str] = {
    code: name.replace("comercial", "commercial") for code, name in _ben.CLC_CODE_TO_CLC_LV2.items()
}
CLC_LEVEL1_NAMES: dict[int, str] = dict(_ben.CLC_CODE_TO_CLC_LV1)

BEN19_CLASSES: tuple[str, ...] = tuple(_ben.NEW_LABELS)
_BEN19_INDEX = {name: i for i, name in enumerate(BEN19_CLASSES)}
_CLC_TO_BEN19: dict[str, str | None] = dict(_ben.OLD2NEW_LABELS_DICT)


def is_clc_level3(name: str) -> bool:
    return name in CLC_LEVEL3_CODES


def clc_to_ben19(labels: Iterable[str]) -> list[str]:
    """Map CLC level-3 label names to BigEarthNet-19 names (sorted, deduplicated).

    Classes dropped by the 19-class nomenclature (roads, ports, bare rock, ...) vanish, and
    so does the one CLC class absent from BigEarthNet (glaciers and perpetual snow).
    Raises KeyError for a name that is not a CLC level-3 class.
    """
    mapped = {_CLC_TO_BEN19.get(name) if name in CLC_LEVEL3_CODES else name for name in labels}
    unknown = mapped - set(_CLC_TO_BEN19.values()) - {None}
    if unknown:
        raise KeyError(f"not a CORINE level-3 class: {sorted(unknown)[0]!r}")
    return sorted(name for name in mapped if name is not None)


def ben19_multi_hot(names: Iterable[str]) -> np.ndarray:
    """Multi-hot uint8 vector of length 19 in `BEN19_CLASSES` order."""
    vector = np.zeros(len(BEN19_CLASSES), dtype=np.uint8)
    for name in names:
        vector[_BEN19_INDEX[name]] = 1
    return vector


def is_ben19(name: str) -> bool:
    return name in _BEN19_INDEX
