"""Seeded mutations of files: bytes, and the structures inside JSON, YAML, Parquet,
GeoTIFF, safetensors, HDF5 and zarr zip files.

Every mutation is a function of a `random.Random` and a file; it rewrites the file in
place and returns a short description (kept with each fuzz result, so a failing case can
be read and replayed from its seed).
"""

from __future__ import annotations

import io
import json
import math
import random
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

# Values a structured mutation may put where a value was.
ODD_VALUES = [None, True, False, 0, -1, 1, 2**63, -(2**63), 1e308, -1e-308, math.nan, math.inf,
              -math.inf, "", "x", "../../etc/passwd", "0", "NaN", [], {}, [1, 2, 3],
              {"a": 1}, [[[[[]]]]], "\u00ff" * 3, 10**30]  # fmt: skip


# ------------------------------------------------------------------------- bytes
def mutate_bytes(rng: random.Random, data: bytes, boundaries: list[int] = ()) -> tuple[bytes, str]:
    """One byte-level edit; `boundaries` are offsets where truncation is likely to hurt."""
    if not data:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))), "fill empty"
    data = bytearray(data)
    n = len(data)
    op = rng.choice(["flip", "flip", "set", "truncate", "truncate_boundary", "insert", "delete",
                     "duplicate", "zero", "head_flip"])  # fmt: skip
    if op == "flip" or (op == "head_flip" and n < 8):
        for _ in range(rng.randrange(1, 9)):
            i = rng.randrange(n)
            data[i] ^= 1 << rng.randrange(8)
        return bytes(data), "flip bits"
    if op == "head_flip":  # headers decide how the rest is read
        i = rng.randrange(min(n, 512))
        data[i] = rng.randrange(256)
        return bytes(data), f"set header byte {i}"
    if op == "set":
        i = rng.randrange(n)
        span = rng.randrange(1, 9)
        data[i : i + span] = bytes(rng.choice([0, 0xFF, 0x7F, 0x80]) for _ in range(span))
        return bytes(data), f"set bytes at {i}"
    if op == "truncate":
        cut = rng.randrange(n)
        return bytes(data[:cut]), f"truncate at {cut}"
    if op == "truncate_boundary":
        points = [b for b in boundaries if 0 <= b <= n] or [0, n // 2]
        cut = max(0, rng.choice(points) + rng.choice([-1, 0, 0, 1]))
        return bytes(data[:cut]), f"truncate at boundary {cut}"
    if op == "insert":
        i = rng.randrange(n + 1)
        data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        return bytes(data), f"insert at {i}"
    if op == "delete":
        i = rng.randrange(n)
        del data[i : i + rng.randrange(1, 64)]
        return bytes(data), f"delete at {i}"
    if op == "duplicate":
        i = rng.randrange(n)
        chunk = data[i : i + rng.randrange(1, 256)]
        j = rng.randrange(n + 1)
        data[j:j] = chunk
        return bytes(data), f"duplicate {len(chunk)} bytes at {j}"
    i = rng.randrange(n)
    data[i : i + rng.randrange(1, 1024)] = bytes(min(1024, n - i))
    return bytes(data), f"zero at {i}"


def mutate_file_bytes(rng: random.Random, path: Path, boundaries: list[int] = ()) -> str:
    data, what = mutate_bytes(rng, path.read_bytes(), boundaries)
    path.write_bytes(data)
    return what


# ---------------------------------------------------------------- JSON-like trees
def _paths(node, prefix=(), limit: int = 5000) -> list[tuple]:
    """Paths into nested dicts and lists (the root included), up to `limit` of them."""
    found = [prefix]
    children = (node.items() if isinstance(node, dict) else enumerate(node[:50])
                if isinstance(node, list) else ())  # fmt: skip
    for key, child in children:
        if len(found) >= limit:
            break
        found += _paths(child, (*prefix, key), limit - len(found))
    return found


def _get(node, path):
    for part in path:
        node = node[part]
    return node


def mutate_tree(rng: random.Random, tree):
    """One structural edit of a JSON-like tree: delete, retype, empty, nest, shuffle,
    duplicate or rename; returns (tree, description)."""
    paths = _paths(tree)
    path = rng.choice(paths)
    op = rng.choice(["delete", "retype", "retype", "empty", "nest", "shuffle", "copy",
                     "rename", "grow"])  # fmt: skip
    if not path:  # the root itself
        return rng.choice(ODD_VALUES + [[tree], {"wrapped": tree}]), f"replace root ({op})"
    parent, key = _get(tree, path[:-1]), path[-1]
    where = "/".join(map(str, path))[:80]
    if op == "delete":
        del parent[key]
        return tree, f"delete {where}"
    if op in ("retype", "grow") or not isinstance(parent[key], dict | list):
        value = rng.choice(ODD_VALUES)
        if (
            op == "grow"
            and isinstance(parent[key], int | float)
            and not isinstance(parent[key], bool)
        ):
            value = parent[key] * rng.choice([-1, 0, 10**6, 1e-9])  # a number out of range
        parent[key] = value
        return tree, f"set {where} = {str(value)[:30]}"
    if op == "empty":
        parent[key] = type(parent[key])()
        return tree, f"empty {where}"
    if op == "nest":
        parent[key] = [parent[key]]
        return tree, f"nest {where}"
    if op == "shuffle" and isinstance(parent[key], list):
        rng.shuffle(parent[key])
        return tree, f"shuffle {where}"
    if op == "copy" and isinstance(parent[key], list) and parent[key]:
        parent[key].append(parent[key][0])
        return tree, f"duplicate an item of {where}"
    if op == "rename" and isinstance(parent, dict):
        parent[f"{key}_"] = parent.pop(key)
        return tree, f"rename {where}"
    parent[key] = None
    return tree, f"null {where}"


def _refuse_constant(name: str):
    raise ValueError(name)


def mutate_json_text(rng: random.Random, text: str) -> tuple[str, str]:
    """A structural edit, a duplicated key, or a non-standard constant, as JSON text."""
    op = rng.random()
    keys = list(re.finditer(r'"([^"\\]{1,40})"\s*:', text))
    if op < 0.15 and keys:  # a duplicated key, before the original in the same object
        found = rng.choice(keys)
        value = rng.choice(["0", '"x"', "null", "[]", "NaN"])
        text = text[: found.start()] + f'"{found.group(1)}": {value}, ' + text[found.start() :]
        return text, f"duplicate key {found.group(1)}"
    if op < 0.25:
        for constant in ("NaN", "Infinity", "-Infinity", "1e999"):
            if rng.random() < 0.5:
                continue
            digits = [i for i, c in enumerate(text) if c.isdigit()]
            if digits:
                i = rng.choice(digits)
                j = i
                while j < len(text) and (text[j].isdigit() or text[j] in ".eE+-"):
                    j += 1
                return text[:i] + constant + text[j:], f"number -> {constant}"
    try:
        tree = json.loads(text)
    except ValueError:
        data, what = mutate_bytes(rng, text.encode())
        return data.decode("utf-8", "replace"), what
    tree, what = mutate_tree(rng, tree)
    return json.dumps(tree), what


def mutate_json_file(rng: random.Random, path: Path) -> str:
    if rng.random() < 0.3:
        return mutate_file_bytes(rng, path, _json_boundaries(path.read_bytes()))
    text, what = mutate_json_text(rng, path.read_text(errors="replace"))
    path.write_text(text)
    return what


def _json_boundaries(data: bytes) -> list[int]:
    return [i for i, c in enumerate(data[:4096]) if c in b"{}[],:"]


# ---------------------------------------------------------------------------- YAML
def mutate_yaml_file(rng: random.Random, path: Path) -> str:
    import yaml

    text = path.read_text(errors="replace")
    op = rng.random()
    if op < 0.15:
        lines = text.splitlines()
        keyed = [i for i, line in enumerate(lines) if ":" in line and not line.startswith("#")]
        i = rng.choice(keyed)
        lines.insert(i, lines[i])
        path.write_text("\n".join(lines) + "\n")
        return f"duplicate line {i + 1}"
    if op < 0.25:
        bomb = "\n".join([f"lol{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]"
                          for k in range(1, 12)])  # fmt: skip
        path.write_text(text + "\nlol0: &l0 [lol]\n" + bomb + "\n")
        return "alias bomb"
    if op < 0.35:
        data = bytearray(text.encode())
        data[rng.randrange(len(data))] = rng.choice([0xFF, 0xC3, 0x80, 0x00])
        path.write_bytes(bytes(data))
        return "invalid byte"
    if op < 0.5 or "*" in text or "&" in text:  # anchors: a tree walk could be exponential
        return mutate_file_bytes(rng, path, [i for i, c in enumerate(text) if c == "\n"])
    config = yaml.safe_load(text)
    if rng.random() < 0.3:  # YAML's own non-finite and odd scalars
        tree_path = rng.choice([p for p in _paths(config) if p])
        parent = _get(config, tree_path[:-1])
        parent[tree_path[-1]] = rng.choice([math.nan, math.inf, -math.inf, "yes", 1e400])
        path.write_text(yaml.safe_dump(config))
        return f"set {'/'.join(map(str, tree_path))} to an odd scalar"
    config, what = mutate_tree(rng, config)
    path.write_text(yaml.safe_dump(config))
    return what


# --------------------------------------------------------------------------- tables
def mutate_parquet_file(rng: random.Random, path: Path) -> str:
    import pandas as pd

    if rng.random() < 0.35:
        return mutate_file_bytes(rng, path, [0, 4, len(path.read_bytes()) - 8])
    try:
        table = pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - already unreadable: damage it further
        return mutate_file_bytes(rng, path)
    column = rng.choice(list(table.columns))
    op = rng.choice(["drop", "rename", "retype", "null", "list", "range", "duplicate",
                     "empty", "shuffle", "strings"])  # fmt: skip
    what = f"{op} {column}"
    if op == "drop":
        table = table.drop(columns=column)
    elif op == "rename":
        table = table.rename(columns={column: column + "_x"})
    elif op == "retype":
        table[column] = rng.choice([1.5, -3, "text", True, None])
    elif op == "null" and len(table):
        table[column] = table[column].astype(object)
        table.at[table.index[rng.randrange(len(table))], column] = None
    elif op == "list" and len(table):
        table[column] = table[column].astype(object)
        table.at[table.index[rng.randrange(len(table))], column] = rng.choice(
            [np.zeros(18, np.uint8), np.full(19, 7, np.uint8), np.array(["a"] * 19),
             np.zeros((19, 2), np.uint8).tolist(), [], "x"]
        )  # fmt: skip
    elif op == "range" and len(table) and pd.api.types.is_numeric_dtype(table[column]):
        table.loc[table.index[rng.randrange(len(table))], column] = rng.choice(
            [math.nan, math.inf, -1e12, 1e300]
        )  # fmt: skip
    elif op == "duplicate" and len(table):
        table = pd.concat([table, table.iloc[[rng.randrange(len(table))]]])
    elif op == "empty":
        table = table.iloc[:0]
    elif op == "shuffle":
        table = table.sample(frac=1, random_state=rng.randrange(1000))
    else:
        table[column] = table[column].astype(str)
    try:
        table.to_parquet(path)
    except Exception:  # noqa: BLE001 - pyarrow cannot store this mix: store it as text
        table.astype(str).to_parquet(path)
        what += " (as text)"
    return what


# -------------------------------------------------------------------------- rasters
def mutate_tiff_file(rng: random.Random, path: Path) -> str:
    if rng.random() < 0.5:
        return mutate_file_bytes(rng, path, [0, 4, 8, 16, 256, len(path.read_bytes()) // 2])
    import rasterio
    from rasterio import Affine

    try:
        with rasterio.open(path) as src:
            profile, values = src.profile, src.read()
    except Exception:  # noqa: BLE001
        return mutate_file_bytes(rng, path)
    op = rng.choice(["dtype", "shape", "crs", "transform", "nan", "bands", "nodata", "scale"])
    t = profile["transform"]
    if op == "dtype":
        values = values.astype(rng.choice(["float32", "int8", "uint8", "float64", "int32"]))
        profile["dtype"] = values.dtype.name
    elif op == "shape":
        values = values[:, : rng.randrange(1, values.shape[1] + 2), :]
        profile["height"] = values.shape[1]
    elif op == "crs":
        profile["crs"] = rng.choice([None, "EPSG:4326", "EPSG:32601", "EPSG:3857"])
    elif op == "transform":
        profile["transform"] = t * Affine.translation(rng.choice([1, 7, 1e6, -1e6]), 0)
    elif op == "nan":
        values = values.astype("float32")
        profile["dtype"] = "float32"
        values.flat[rng.randrange(values.size)] = rng.choice([math.nan, math.inf])
    elif op == "bands":
        values = np.concatenate([values, values])
        profile["count"] = values.shape[0]
    elif op == "nodata":
        profile["nodata"] = rng.choice([0, -9999, math.nan])
    else:
        scale = rng.choice([math.nan, math.inf, 0.0, -10.0])
        profile["transform"] = Affine(scale, t.b, t.c, t.d, t.e, t.f)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values)
    return f"raster {op}"


# ------------------------------------------------------------------------ safetensors
def mutate_safetensors_file(rng: random.Random, path: Path) -> str:
    data = path.read_bytes()
    if len(data) < 8 or rng.random() < 0.4:
        return mutate_file_bytes(rng, path, _safetensors_boundaries(data))
    (size,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + size])
    except ValueError:
        return mutate_file_bytes(rng, path)
    op = rng.random()
    if op < 0.2:  # the length field alone
        size2 = rng.choice([0, 1, size - 1, size + 1, 2**32, 2**63, len(data)])
        path.write_bytes(struct.pack("<Q", size2) + data[8:])
        return f"header length {size2}"
    if op < 0.5 and isinstance(header, dict):
        name = rng.choice([k for k in header if k != "__metadata__"] or list(header))
        entry = header[name]
        field = rng.choice(["dtype", "shape", "data_offsets"])
        if isinstance(entry, dict):
            entry[field] = rng.choice({"dtype": ["F64", "I8", "BOOL", "X1", 5, None],
                                       "shape": [[], [0], [-1, 2], [10**9], "x", [1.5]],
                                       "data_offsets": [[0, 0], [5, 1], [0, 10**12], [-8, 8],
                                                        "x", [0]]}[field])  # fmt: skip
        what = f"{name}.{field}"
    else:
        header, what = mutate_tree(rng, header)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + size :])
    return f"header: {what}"


def _safetensors_boundaries(data: bytes) -> list[int]:
    if len(data) < 8:
        return [0]
    (size,) = struct.unpack("<Q", data[:8])
    points = [0, 8, 8 + size]
    try:
        header = json.loads(data[8 : 8 + size])
        entries = [e for k, e in header.items() if k != "__metadata__"]
        points += [8 + size + e["data_offsets"][0] for e in entries]
    except (ValueError, KeyError, TypeError):
        pass
    return points


# ----------------------------------------------------------------------------- HDF5
def mutate_hdf5_file(rng: random.Random, path: Path, outside: Path) -> str:
    """Byte damage, or an edit through h5py: a dataset retyped, reshaped, removed,
    linked to a file outside the task (`outside`), stored externally; or the pickled
    attribute mutated."""
    op = rng.random()
    if op < 0.35:
        return mutate_file_bytes(rng, path, [0, 8, 512, 1024, 2048])
    import h5py

    try:
        h5 = h5py.File(path, "a")
    except Exception:  # noqa: BLE001
        return mutate_file_bytes(rng, path)
    with h5:
        if op < 0.6 and "pickle" in h5.attrs:
            text = h5.attrs["pickle"]
            h5.attrs["pickle"] = mutate_pickle_literal(rng, text)
            return "pickle attribute"
        keys = list(h5)
        key = rng.choice(keys) if keys else "x"
        edit = rng.choice(["dtype", "shape", "delete", "external_link", "soft_link", "external",
                           "group", "scalar", "attr"])  # fmt: skip
        if edit == "attr":
            h5.attrs["pickle"] = rng.choice(["", "b''", "{}", "b'\\x80\\x04N.'", 3, "x" * 100])
        elif key in h5 and edit == "delete":
            del h5[key]
        elif key in h5 and edit in ("dtype", "shape", "scalar"):
            values = h5[key][()]
            del h5[key]
            if edit == "dtype":
                values = np.asarray(values).astype(rng.choice(["f8", "S4", "i1", "bool", "c8"]))
            elif edit == "shape":
                values = np.asarray(values).reshape(-1)[: rng.randrange(1, 64)]
            else:
                values = np.float64(rng.choice([math.nan, 1.0, -1e30]))
            h5[key] = values
        elif edit in ("external_link", "soft_link", "group"):
            if key in h5:
                del h5[key]
            if edit == "external_link":
                h5[key] = h5py.ExternalLink(str(outside), "data")
            elif edit == "soft_link":
                h5[key] = h5py.SoftLink("/" + (keys[0] if keys else "x"))
            else:
                h5.create_group(key)
        else:  # external raw storage
            if key in h5:
                del h5[key]
            raw = outside.with_suffix(".bin")
            raw.write_bytes(bytes(4096))
            h5.create_dataset(key, (16, 16), np.int16, external=[(str(raw), 0, 512)])
    return f"hdf5 {edit} {key}"


def mutate_pickle_literal(rng: random.Random, text) -> str:
    """A GEO-Bench ``pickle`` attribute (``str(pickle.dumps(...))``) mutated: its pickle
    bytes edited (opcodes and all), or the literal itself."""
    import ast
    import pickle

    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if rng.random() < 0.2:
        data, _ = mutate_bytes(rng, str(text).encode())
        return data.decode("latin-1")
    try:
        data = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        data = b""
    if not isinstance(data, bytes):
        data = b""
    op = rng.random()
    if op < 0.3:  # splice in an opcode sequence a hostile file could hold
        pieces = [b"cos\nsystem\n(S'true'\ntR.", b"cbuiltins\neval\n", b"(" * 50 + b"t" * 50,
                  b"\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94.", b"I99999999999999999999\n",
                  b"\x80\x05\x95\xff\xff\xff\xff\xff\xff\xff\x7f", b"N" * 10, b"0" * 20,
                  b"cdatetime\ndate\n(I1\nI2\ntR", b"\x8e" + b"\xff" * 8, b"h\x00", b"q\xff",
                  b"ccollections\nOrderedDict\n)R}b", b"cgeobench.label\nX\n)\x81}b"]  # fmt: skip
        i = rng.randrange(len(data) + 1)
        data = data[:i] + rng.choice(pieces) + data[i:]
    else:
        data, _ = mutate_bytes(rng, data, [2, len(data) // 2, len(data) - 1])
    return str(data) if rng.random() < 0.9 else str(pickle.dumps(data))


# -------------------------------------------------------------------------- zarr zip
def mutate_zarr_zip_file(rng: random.Random, path: Path) -> str:
    """Byte damage of the zip, or of one member: metadata JSON edits, a chunk damaged,
    removed or replaced."""
    if rng.random() < 0.25:
        return mutate_file_bytes(rng, path, [0, 30, len(path.read_bytes()) - 22])
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
    except Exception:  # noqa: BLE001
        return mutate_file_bytes(rng, path)
    names = sorted(members)
    meta = [n for n in names if n.rsplit("/", 1)[-1] in (".zarray", ".zattrs", ".zmetadata",
                                                         ".zgroup")]  # fmt: skip
    chunks = [n for n in names if n not in meta]
    op = rng.random()
    if op < 0.45 and meta:
        name = rng.choice(meta)
        text, what = mutate_json_text(rng, members[name].decode("utf-8", "replace"))
        members[name] = text.encode()
        what = f"{name}: {what}"
    elif op < 0.85 and chunks:
        name = rng.choice(chunks)
        members[name], what = mutate_bytes(rng, members[name])
        what = f"{name}: {what}"
    elif op < 0.95:
        name = rng.choice(names)
        del members[name]
        what = f"remove {name}"
    else:
        name = rng.choice(names)
        members[name + "x"] = members[name]
        what = f"copy {name}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    path.write_bytes(buffer.getvalue())
    return what
