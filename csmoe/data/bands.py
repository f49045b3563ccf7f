"""Band sets and the BigEarthNet normalisation constants.

The default Sentinel-2 set is the ten CSMAE bands in CSMAE order (10 m bands first, then
the 20 m bands, which are resampled to 10 m). Constants: per-band mean / std of
BigEarthNet (S2 reflectance x 10,000; S1 in dB), as shipped in `bigearthnet-common`
(the values published with CSMAE).
"""

from __future__ import annotations

from bigearthnet_common import constants as _ben

S2_10M = ("B02", "B03", "B04", "B08")
S2_20M = ("B05", "B06", "B07", "B11", "B12", "B8A")
S2_60M = ("B01", "B09")
CSMAE_S2 = ("B02", "B03", "B04", "B08", "B05", "B06", "B07", "B11", "B12", "B8A")
S1 = ("VV", "VH")

# (mean, std) per band, from the constants bigearthnet-common ships.
BIGEARTHNET_STATS = {
    band: (stats["mean"][band], stats["std"][band])
    for stats in (_ben.BAND_STATS_S2, _ben.BAND_STATS_S1)
    for band in stats["mean"]
    if band in S2_10M + S2_20M + S2_60M + S1
}


def pixel_factor(band: str) -> int:
    """10 m pixels per native pixel of a band (1, 2 or 6)."""
    if band in S2_10M or band in S1:
        return 1
    return 2 if band in S2_20M else 6
