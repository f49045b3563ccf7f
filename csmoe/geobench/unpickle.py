"""Decode the pickled attributes of GEO-Bench HDF5 files into plain data, trusting nothing.

Each sample file stores ``str(pickle.dumps(attrs))`` in its root attribute ``pickle``:
the classification label, per-band metadata objects of `geobench` classes, dates, numpy
arrays. Unpickling calls whatever the stream names, so this decoder

1. parses the string with `ast.literal_eval` (a bytes literal; never `eval`), of bounded
   size;
2. resolves only an explicit list of globals, each to a constructor of ours: numpy
   arrays, dtypes and scalars are rebuilt from a validated dtype (booleans, integers,
   floats, complex, text, bytes; no objects, no fields), shape and byte string, never by
   numpy's own reconstruction (whose objects a stream can give a state that makes numpy
   read arbitrary memory); dates and times, sets, ``OrderedDict`` (a plain dict) and a
   few data-only builtins with bounded arguments;
3. turns the classes of the data-holding libraries the files were written with
   (`geobench`, its former names `ccb` and `geobench.io`, `affine`, `rasterio.crs`) into
   inert `Stub` objects: their constructor arguments and state become plain data in
   ``args`` and ``state``; a stub takes no attribute from the stream;
4. refuses everything else (``os.system``, ``builtins.eval`` ...) with an `UnsafePickle`
   error naming the global, before anything is called;
5. converts the result into plain data (dict, list, tuple, str, bytes, numbers, None,
   dates, numpy arrays and scalars, stubs), refusing structures nested deeper than
   `MAX_DEPTH`.

Whatever the attribute holds, `decode_attribute` returns that data or raises
`pickle.UnpicklingError` (which the reader reports as bad input, naming file and
attribute).
"""

from __future__ import annotations

import ast
import datetime
import io
import pickle
from typing import Any

import numpy as np

MAX_TEXT = 64 << 20  # characters of the attribute string
MAX_BYTES = 64 << 20  # bytes one numpy array or bytearray may hold
MAX_DEPTH = 64
# Kinds a dtype may have: bool, signed / unsigned int, float, complex, str, bytes.
DTYPE_KINDS = "biufcSU"
STUBBED = ("geobench", "ccb", "affine", "rasterio.crs")


class UnsafePickle(pickle.UnpicklingError):
    """The stream names a global outside the allowed list."""


class Stub:
    """An inert stand-in for an object of a stubbed class: it runs nothing, and keeps
    its constructor arguments and state as plain data in ``args`` and ``state`` (slots:
    the stream cannot give it any other attribute)."""

    __slots__ = ("args", "state")
    stub_of = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Stub:
        instance = super().__new__(cls)
        instance.args = args + tuple(sorted(kwargs.items()))
        instance.state = None
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<stub of {self.stub_of}>"


def _stub(module: str, name: str) -> type[Stub]:
    return type(name, (Stub,), {"__slots__": (), "stub_of": f"{module}.{name}"})


class _PlainDict(dict):
    """``OrderedDict`` as a plain dict: state (instance attributes) is dropped."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        pass


class _Pending:
    """numpy's ``_reconstruct``/``dtype`` result until BUILD gives its state."""

    __slots__ = ("kind", "spec", "value")

    def __init__(self, kind: str, spec: Any = None) -> None:
        self.kind, self.spec, self.value = kind, spec, None

    def __setstate__(self, state: Any) -> None:
        self.value = _array_from_state(state) if self.kind == "array" else _dtype_state(
            self.spec, state)  # fmt: skip


def _check_dtype(dtype: Any) -> np.dtype:
    if isinstance(dtype, _Pending):
        dtype = dtype.value
    if not isinstance(dtype, np.dtype) or dtype.kind not in DTYPE_KINDS or dtype.fields:
        raise pickle.UnpicklingError(f"array dtype {dtype!s:.40} is not plain data")
    return dtype


def _make_dtype(spec: Any, align: Any = False, copy: Any = False) -> _Pending:
    if not isinstance(spec, str) or len(spec) > 8:
        raise pickle.UnpicklingError("dtype name is not a short string")
    return _Pending("dtype", spec)


def _dtype_state(spec: str, state: Any) -> np.dtype:
    """numpy's dtype state: (version, byte order, subarray, names, fields, ...)."""
    if not isinstance(state, tuple) or len(state) < 5 or any(v is not None for v in state[2:5]):
        raise pickle.UnpicklingError("dtype state is not a plain dtype's")
    order = state[1]
    if order not in ("<", ">", "|", "="):
        raise pickle.UnpicklingError(f"dtype byte order {order!r:.10}")
    dtype = _check_dtype(np.dtype(spec))
    return dtype.newbyteorder(order) if order in "<>" else dtype


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> _Pending:
    return _Pending("array")


def _array(dtype: Any, shape: Any, data: Any, order: str = "C") -> np.ndarray:
    dtype = _check_dtype(dtype)
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise pickle.UnpicklingError("array shape is not a tuple of sizes")
    if not isinstance(data, bytes | bytearray | pickle.PickleBuffer):
        raise pickle.UnpicklingError("array data is not a byte string")
    data = bytes(data)
    count = int(np.prod(shape, dtype=object))
    if count * dtype.itemsize != len(data) or len(data) > MAX_BYTES:
        raise pickle.UnpicklingError(f"{len(data)} bytes do not make a {shape} {dtype} array")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if order == "F" else "C")


def _array_from_state(state: Any) -> np.ndarray:
    """numpy's array state: (version, shape, dtype, is_fortran, raw data)."""
    if not isinstance(state, tuple) or len(state) != 5:
        raise pickle.UnpicklingError("array state is not numpy's")
    _, shape, dtype, fortran, data = state
    return _array(dtype, shape, data, "F" if fortran is True else "C")


def _frombuffer(data: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    return _array(dtype, shape, data, order)


def _scalar(dtype: Any, data: Any = b"") -> Any:
    dtype = _check_dtype(dtype)
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("scalar data does not fit its dtype")
    return np.frombuffer(data, dtype=dtype)[0]


def _bytearray(*args: Any) -> bytearray:
    if args and not isinstance(args[0], bytes | bytearray | str | list):
        raise pickle.UnpicklingError("bytearray from something that is not data")
    return bytearray(*args[:1]) if not args or not isinstance(args[0], str) else bytearray(
        args[0], "latin-1")  # fmt: skip


def _numpy(name: str):
    return {"_reconstruct": _reconstruct, "scalar": _scalar, "_frombuffer": _frombuffer,
            "dtype": _make_dtype, "ndarray": _PlainMarker}.get(name)  # fmt: skip


class _PlainMarker:
    """numpy.ndarray as named in ``_reconstruct``'s first argument."""


ALLOWED = {
    ("datetime", "date"): datetime.date, ("datetime", "datetime"): datetime.datetime,
    ("datetime", "time"): datetime.time, ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
    ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex, ("builtins", "bytearray"): _bytearray,
    ("collections", "OrderedDict"): _PlainDict,
}  # fmt: skip
NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray",
                 "numpy.core.numeric", "numpy._core.numeric")  # fmt: skip


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return ALLOWED[module, name]
        if module in NUMPY_MODULES and _numpy(name) is not None:
            return _numpy(name)
        if any(module == m or module.startswith(f"{m}.") for m in STUBBED):
            return _stub(module, name)
        raise UnsafePickle(f"refusing to unpickle {module}.{name}: not an allowed data type")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickle("refusing a persistent reference")


def plain(value: Any, depth: int = 0, seen: dict | None = None) -> Any:
    """`value` as plain data (see the module docstring); shared parts stay shared."""
    seen = {} if seen is None else seen
    if id(value) in seen:
        return seen[id(value)]
    if depth > MAX_DEPTH:
        raise pickle.UnpicklingError(f"data nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return value
    if isinstance(value, np.ndarray | np.generic | datetime.date | datetime.time
                  | datetime.timedelta | datetime.tzinfo):  # fmt: skip
        return value
    if isinstance(value, _Pending):
        if value.value is None:
            raise pickle.UnpicklingError("a numpy object without its state")
        return plain(value.value, depth, seen)
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, dict):
        out: dict = {}
        seen[id(value)] = out
        for key, item in value.items():
            out[plain(key, depth + 1, seen)] = plain(item, depth + 1, seen)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(item, depth + 1, seen) for item in value]
        result = tuple(items) if isinstance(value, tuple) else items
        seen[id(value)] = result
        return result
    if isinstance(value, Stub):
        stub = Stub.__new__(type(value))
        seen[id(value)] = stub
        stub.args = plain(value.args, depth + 1, seen)
        stub.state = plain(value.state, depth + 1, seen)
        return stub
    raise pickle.UnpicklingError(f"unexpected {type(value).__name__} in the data")


def loads(data: bytes) -> Any:
    return plain(RestrictedUnpickler(io.BytesIO(data)).load())


def decode_attribute(text: str | bytes) -> dict[str, Any]:
    """The attribute dict of a GEO-Bench sample from its ``pickle`` root attribute."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise pickle.UnpicklingError("not a string of a bounded size")
        data = ast.literal_eval(text)
        if not isinstance(data, bytes):
            raise pickle.UnpicklingError(f"expected a bytes literal, found {type(data).__name__}")
        attrs = loads(data)
    except pickle.UnpicklingError:
        raise
    except (ValueError, SyntaxError, UnicodeDecodeError) as error:
        raise pickle.UnpicklingError(f"not a bytes literal ({str(error)[:100]})") from None
    except (MemoryError, RecursionError):
        raise pickle.UnpicklingError("too large or nested too deeply") from None
    except Exception as error:  # noqa: BLE001 - any failure of an untrusted stream is bad input
        raise pickle.UnpicklingError(f"{type(error).__name__}: {str(error)[:100]}") from None
    if not isinstance(attrs, dict):
        raise pickle.UnpicklingError(f"expected a dict of attributes, found {type(attrs).__name__}")
    return attrs
