"""Raster legends as data: a CSV of ``code,symbol`` rows (plus optional columns).

The legend CSV of the CORINE raster product (columns ``GRID_CODE``, ``CLC_CODE``, ...)
is read as is: GRID_CODE is the raster value, CLC_CODE the class. Comma- and
semicolon-separated files are both read (CLC legends come with either).

A legend maps raster values to class symbols. Codes absent from the legend (other than
the raster's nodata value) are an error, never silently dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from csmoe.errors import InputError


@dataclass(frozen=True)
class Legend:
    codes: tuple[int, ...]
    symbols: tuple[str, ...]


def read_legend(path: str | os.PathLike[str]) -> Legend:
    path = Path(path)
    try:
        table = pd.read_csv(path, sep=_separator(path))
    except FileNotFoundError:
        raise InputError(path, "legend file does not exist") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(path, f"not a CSV legend ({error})") from None
    if {"GRID_CODE", "CLC_CODE"} <= set(table.columns):  # the CLC raster product's legend
        table = table.rename(columns={"GRID_CODE": "code", "CLC_CODE": "symbol"})
    missing = {"code", "symbol"} - set(table.columns)
    if missing:
        raise InputError(path, f"legend lacks column(s) {sorted(missing)}")
    if table["code"].duplicated().any():
        code = table["code"][table["code"].duplicated()].iloc[0]
        raise InputError(path, f"legend repeats code {code}")
    if not pd.api.types.is_integer_dtype(table["code"]) or (table["code"] < 0).any():
        raise InputError(path, "legend codes must be non-negative integers")
    return Legend(tuple(int(c) for c in table["code"]), tuple(str(s) for s in table["symbol"]))


def _separator(path: Path) -> str:
    """``;`` when the header line is semicolon-separated, else ``,``."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            header = file.readline()
    except OSError:
        return ","  # the reader names the problem
    return ";" if ";" in header and "," not in header else ","


def write_legend(legend: Legend, path: str | os.PathLike[str]) -> None:
    pd.DataFrame({"code": legend.codes, "symbol": legend.symbols}).to_csv(path, index=False)
