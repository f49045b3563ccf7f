"""Decode the pickled attributes of GEO-Bench HDF5 files without trusting them.

Each sample file stores ``str(pickle.dumps(attrs))`` in its root attribute ``pickle``:
the classification label, per-band metadata objects of `geobench` classes, dates, numpy
arrays. Unpickling calls whatever the stream names, so this decoder

1. parses the string with `ast.literal_eval` (a bytes literal; never `eval`);
2. resolves only an explicit list of globals: numpy's array and scalar reconstruction,
   `datetime` types and a few data-only builtins;
3. turns the classes of the data-holding libraries the files were written with
   (`geobench`, its former names `ccb` and `geobench.io`, `affine`, `rasterio.crs`) into
   inert stubs that keep their state and run no code;
4. refuses everything else (``os.system``, ``builtins.eval``, ``subprocess.Popen`` ...)
   with an `UnsafePickle` error naming the global, before it can be called.
"""

from __future__ import annotations

import ast
import io
import pickle
from typing import Any

ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("builtins", "slice"), ("builtins", "bytearray"), ("collections", "OrderedDict"),
}  # fmt: skip
# Modules whose classes only carry data in these files: loaded as stubs, never imported.
STUBBED = ("geobench", "ccb", "affine", "rasterio.crs")


class UnsafePickle(pickle.UnpicklingError):
    """The stream names a global outside the allowed list."""


class Stub:
    """An inert stand-in for a class of a stubbed module: keeps its state, runs nothing."""

    stub_of = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Stub:
        instance = super().__new__(cls)
        instance.args = args
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.state = state

    def __repr__(self) -> str:
        return f"<stub of {self.stub_of}>"


def _stub(module: str, name: str) -> type[Stub]:
    return type(name, (Stub,), {"stub_of": f"{module}.{name}"})


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            if module.startswith("numpy.core"):  # numpy 2 moved numpy.core to numpy._core
                module = module.replace("numpy.core", "numpy._core", 1)
            return super().find_class(module, name)
        if any(module == m or module.startswith(f"{m}.") for m in STUBBED):
            return _stub(module, name)
        raise UnsafePickle(f"refusing to unpickle {module}.{name}: not an allowed data type")


def loads(data: bytes) -> Any:
    return RestrictedUnpickler(io.BytesIO(data)).load()


def decode_attribute(text: str | bytes) -> dict[str, Any]:
    """The attribute dict of a GEO-Bench sample from its ``pickle`` root attribute."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        data = ast.literal_eval(text)
    except (ValueError, SyntaxError) as error:
        raise pickle.UnpicklingError(f"not a bytes literal ({error})") from None
    if not isinstance(data, bytes):
        raise pickle.UnpicklingError(f"expected a bytes literal, found {type(data).__name__}")
    attrs = loads(data)
    if not isinstance(attrs, dict):
        raise pickle.UnpicklingError(f"expected a dict of attributes, found {type(attrs).__name__}")
    return attrs
