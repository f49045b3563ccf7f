"""Band sets and the BigEarthNet normalisation constants.

The default Sentinel-2 set is the ten CSMAE bands in CSMAE order (10 m bands first, then
the 20 m bands, which are resampled to 10 m). Constants: per-band mean / std of
BigEarthNet (S2 reflectance x 10,000; S1 in dB), as published with CSMAE.
"""

from __future__ import annotations

S2_10M = ("B02", "B03", "B04", "B08")
S2_20M = ("B05", "B06", "B07", "B11", "B12", "B8A")
S2_60M = ("B01", "B09")
CSMAE_S2 = ("B02", "B03", "B04", "B08", "B05", "B06", "B07", "B11", "B12", "B8A")
S1 = ("VV", "VH")

BIGEARTHNET_STATS = {
    "B01": (340.77, 554.81), "B02": (429.94, 572.42), "B03": (614.22, 582.88),
    "B04": (590.24, 675.89), "B05": (950.68, 729.90), "B06": (1792.46, 1096.01),
    "B07": (2075.47, 1273.45), "B08": (2218.95, 1365.46), "B8A": (2266.46, 1356.14),
    "B09": (2246.06, 1302.33), "B11": (1594.43, 1079.19), "B12": (1009.33, 818.87),
    "VH": (-19.29, 5.46), "VV": (-12.62, 5.12),
}  # fmt: skip


def pixel_factor(band: str) -> int:
    """10 m pixels per native pixel of a band (1, 2 or 6)."""
    if band in S2_10M or band in S1:
        return 1
    return 2 if band in S2_20M else 6
