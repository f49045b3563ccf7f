"""YAML read strictly: UTF-8 text, no duplicate keys, no aliases, one-line errors.

PyYAML's safe loader keeps the last of two equal keys (so an edit to the first copy
silently does nothing) and expands aliases, with which a few hundred bytes describe an
exponentially large document (the "billion laughs"): validating one hangs. Both are
refused here, and every problem is one line naming the file, line and column.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from csmoe.errors import InputError

MAX_BYTES = 16 << 20  # a config of more than 16 MB is not a config


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases and without duplicate mapping keys."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"alias *{event.anchor} (aliases are not allowed)", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class says so
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _one_line(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem}{where}"


def load_text(text: str, source: str | os.PathLike[str]) -> Any:
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise InputError(source, f"not valid YAML: {_one_line(error)}") from None
    except RecursionError:
        raise InputError(source, "not valid YAML: nested too deeply") from None


def load_file(path: str | os.PathLike[str]) -> Any:
    """The YAML document of `path`, read strictly (see the module docstring)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(path, f"larger than {MAX_BYTES >> 20} MB: not a config file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file does not exist") from None
    except OSError as error:
        raise InputError(path, f"unreadable ({error.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(path, f"not UTF-8 text (byte {error.start})") from None
    return load_text(text, path)
