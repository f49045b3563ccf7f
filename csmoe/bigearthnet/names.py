"""BigEarthNet patch names: acquisition times and locations encoded in them.

An S1 name such as ``S1A_IW_GRDH_1SDV_20170613T165043_33UUP_87_48`` carries the MGRS
100 km square (``33UUP``) and the patch column/row inside the Sentinel-2 tile. With
(E0, N0) the south-west corner of that square, the patch's upper-left corner in the
tile's UTM zone is::

    ulx = 60 * floor(E0 / 60) + 1200 * col
    uly = 60 * ceil((N0 + 100000) / 60) - 1200 * row

(the 60 m grid of the Sentinel-2 tile origin, then 1200 m patches). This reproduces the
coordinates stored in the JSON metadata of the real archive.

String work runs in Arrow compute kernels: 590,326 names parse in well under a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import cache

import mgrs
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PATCH_SIZE_M = 1200
_STAMP = r"(?P<date>\d{8})T(?P<time>\d{5,6})"


def _strings(names: Sequence[str] | pd.Series) -> pa.Array:
    array = pa.array(names, type=pa.large_string()) if not isinstance(names, pa.Array) else names
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array


def acquisition_times(names: Sequence[str] | pd.Series) -> np.ndarray:
    """Parse the first ``YYYYMMDDTHHMMSS`` stamp of each name (UTC, datetime64[s]).

    BigEarthNet v1 S2 names drop the leading zero of the hour (``T93020`` = 09:30:20).
    Some of those five-digit stamps are not valid clock times (``T94161``: 61 seconds,
    rolled over to 09:42:01) and differ from the JSON time by up to a minute: readers of
    an archive with JSON metadata take the JSON time instead.
    Raises ValueError naming the first name without a stamp.
    """
    array = _strings(names)
    has_stamp = pc.match_substring_regex(array, _STAMP)
    if not pc.all(has_stamp).as_py():
        first = pc.filter(array, pc.invert(has_stamp))[0].as_py()
        raise ValueError(f"no acquisition time (YYYYMMDDTHHMMSS) in name {first!r}")
    parts = pc.extract_regex(array, _STAMP)
    date = pc.struct_field(parts, "date")
    time = pc.utf8_lpad(pc.struct_field(parts, "time"), 6, "0")
    stamp = pc.binary_join_element_wise(date, time, pa.scalar("", pa.large_string()))
    parsed = pc.strptime(stamp, format="%Y%m%d%H%M%S", unit="s")
    return parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]")


@cache
def square_south_west(square: str) -> tuple[float, float]:
    """UTM easting/northing of the south-west corner of an MGRS 100 km square."""
    with warnings.catch_warnings():
        # The corner may lie just outside the square's latitude band; mgrs warns, but the
        # returned UTM coordinates are the grid values we need.
        warnings.simplefilter("ignore")
        _, _, easting, northing = mgrs.MGRS().MGRSToUTM(f"{square}0000000000")
    # A 1 m precision MGRS reference denotes the centre of a 1 m cell.
    return float(np.floor(easting)), float(np.floor(northing))


def utm_bounds_from_s1_names(names: Sequence[str] | pd.Series) -> pd.DataFrame:
    """MGRS square, UTM EPSG code and patch corners (ulx, uly, lrx, lry) per S1 name."""
    array = _strings(names)
    parts = pc.split_pattern(array, "_")
    if not pc.all(pc.equal(pc.list_value_length(parts), 8)).as_py():
        bad = pc.filter(array, pc.not_equal(pc.list_value_length(parts), 8))[0].as_py()
        raise ValueError(f"not a BigEarthNet S1 patch name: {bad!r}")
    square = pc.list_element(parts, 5).dictionary_encode()
    col = pc.cast(pc.list_element(parts, 6), pa.int64()).to_numpy()
    row = pc.cast(pc.list_element(parts, 7), pa.int64()).to_numpy()
    squares = square.dictionary.to_pylist()
    codes = square.indices.to_numpy()
    corners = np.array([square_south_west(sq) for sq in squares], dtype=np.float64)
    zones = np.array([int(sq[:2]) for sq in squares])
    east0, north0 = corners[codes, 0], corners[codes, 1]
    ulx = 60 * np.floor(east0 / 60) + PATCH_SIZE_M * col
    uly = 60 * np.ceil((north0 + 100_000) / 60) - PATCH_SIZE_M * row
    return pd.DataFrame(
        {
            "tile": pd.Categorical.from_codes(codes, squares).astype(str),
            "utm_epsg": 32600 + zones[codes],
            "utm_ulx": ulx,
            "utm_uly": uly,
            "utm_lrx": ulx + PATCH_SIZE_M,
            "utm_lry": uly - PATCH_SIZE_M,
        }
    )
