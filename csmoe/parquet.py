"""Parquet tables read as bad input is reported: every value decoded at once.

pandas reads text columns lazily through pyarrow: a string that is not valid UTF-8
raises `ArrowException` at its first use, far from the file. Here the whole table is
decoded when it is read, and whatever pyarrow or geopandas raises for a damaged file is
one `InputError` naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from csmoe.errors import InputError


def read_table(path: str | os.PathLike[str], what: str = "Parquet file", *,
               columns: list[str] | None = None, geo: bool = False) -> pd.DataFrame:  # fmt: skip
    """The table at `path` (a GeoDataFrame with `geo`), fully decoded."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file does not exist")
    try:
        if geo:
            import geopandas as gpd

            table = gpd.read_parquet(path, columns=columns)
        else:
            table = pd.read_parquet(path, columns=columns)
        for column in table.columns:
            if column != getattr(table, "_geometry_column_name", None):
                table[column].to_numpy()  # decodes text now, not at first use
    except InputError:
        raise
    except Exception as error:  # noqa: BLE001 - pyarrow and geopandas raise many types
        raise InputError(path, f"not a readable {what} ({type(error).__name__}: {error})") from None
    return table
