"""Surface materials of the synthetic world: Sentinel-2 reflectance and Sentinel-1
backscatter per CORINE class, with seasonal change.

Loosely physical: water is dark in NIR/SWIR; vegetation has the red edge and a high NIR
plateau; bare soil and rock are bright in SWIR; urban surfaces are bright and flat;
snow is very bright in the visible and dark in SWIR. Backscatter: calm water very low,
urban bright (double bounce), forest high in VH (volume scattering).
"""

from __future__ import annotations

import numpy as np

S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
S2_METRES = (60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 20, 20)
S1_BANDS = ("VV", "VH")

# Reflectance x 10,000 in S2_BANDS order.
REFLECTANCE = {
    "water": [600, 500, 450, 300, 250, 200, 180, 150, 130, 100, 60, 40],
    "broadleaf": [250, 300, 550, 300, 900, 2500, 3100, 3300, 3400, 3300, 1700, 800],
    "conifer": [200, 250, 400, 250, 600, 1600, 2000, 2200, 2300, 2200, 1100, 500],
    "grass": [300, 400, 700, 450, 1100, 2600, 3100, 3300, 3400, 3200, 2000, 1100],
    "crop": [350, 450, 750, 550, 1200, 2400, 2900, 3100, 3200, 3000, 2200, 1300],
    "soil": [700, 800, 1100, 1300, 1500, 1700, 1900, 2000, 2100, 2000, 2800, 2300],
    "urban": [1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1750, 1700, 2000, 1800],
    "rock": [1200, 1300, 1500, 1700, 1900, 2000, 2100, 2200, 2300, 2200, 2800, 2400],
    "sand": [1800, 2000, 2400, 2700, 2900, 3000, 3100, 3200, 3300, 3200, 3800, 3000],
    "wetland": [300, 350, 500, 400, 800, 1500, 1800, 1900, 2000, 1900, 1300, 700],
    "shrub": [400, 450, 650, 600, 1000, 1600, 1900, 2100, 2200, 2100, 2200, 1300],
    "orchard": [500, 600, 900, 850, 1300, 2000, 2300, 2500, 2600, 2500, 2500, 1800],
    "snow": [9000, 9200, 9300, 9300, 9200, 9100, 9000, 8800, 8600, 8000, 1000, 800],
}
# (VV, VH) in dB.
BACKSCATTER = {
    "water": (-22.0, -29.0), "broadleaf": (-8.0, -14.0), "conifer": (-8.5, -14.5),
    "grass": (-12.0, -19.0), "crop": (-11.0, -17.5), "soil": (-13.0, -22.0),
    "urban": (-6.0, -13.0), "rock": (-10.0, -18.0), "sand": (-18.0, -27.0),
    "wetland": (-13.0, -19.0), "shrub": (-10.0, -16.0), "orchard": (-10.5, -17.0),
    "snow": (-14.0, -22.0),
}  # fmt: skip
# CLC level-3 code -> (material, deciduous: loses its leaves or crop in winter)
MATERIAL = {
    111: ("urban", False), 112: ("urban", False), 121: ("urban", False),
    122: ("urban", False), 123: ("urban", False), 124: ("urban", False),
    131: ("rock", False), 132: ("soil", False), 133: ("soil", False),
    141: ("grass", True), 142: ("grass", True),
    211: ("crop", True), 212: ("crop", True), 213: ("wetland", True),
    221: ("orchard", True), 222: ("orchard", True), 223: ("shrub", False),
    231: ("grass", True), 241: ("crop", True), 242: ("crop", True), 243: ("grass", True),
    244: ("shrub", False), 311: ("broadleaf", True), 312: ("conifer", False),
    313: ("broadleaf", True), 321: ("grass", True), 322: ("shrub", False),
    323: ("shrub", False), 324: ("shrub", True), 331: ("sand", False), 332: ("rock", False),
    333: ("rock", False), 334: ("soil", False), 335: ("snow", False),
    411: ("wetland", True), 412: ("wetland", False), 421: ("wetland", True),
    422: ("sand", False), 423: ("sand", False), 511: ("water", False),
    512: ("water", False), 521: ("water", False), 522: ("water", False),
    523: ("water", False),
}  # fmt: skip
# Share of a deciduous surface that looks like bare soil, per season.
LEAF_OFF = {"Winter": 0.7, "Spring": 0.3, "Summer": 0.0, "Fall": 0.35}


def class_spectra(codes: np.ndarray, season: str) -> tuple[np.ndarray, np.ndarray]:
    """(k, 12) reflectance and (k, 2) backscatter (dB) of CLC `codes` in `season`."""
    reflectance, backscatter = [], []
    for code in codes:
        material, deciduous = MATERIAL[int(code)]
        spectrum = np.array(REFLECTANCE[material], dtype=np.float64)
        sar = np.array(BACKSCATTER[material])
        if deciduous:
            off = LEAF_OFF[season]
            spectrum = (1 - off) * spectrum + off * np.array(REFLECTANCE["soil"])
            sar = (1 - off) * sar + off * np.array(BACKSCATTER["soil"])
        reflectance.append(spectrum)
        backscatter.append(sar)
    return np.array(reflectance), np.array(backscatter)


def snow_spectrum() -> tuple[np.ndarray, np.ndarray]:
    return np.array(REFLECTANCE["snow"], dtype=np.float64), np.array(BACKSCATTER["snow"])
