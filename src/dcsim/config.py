"""Typed configuration: TOML files read once into frozen dataclasses.

Every setting is a dataclass field declared with :func:`setting`, which carries its
documentation and its bounds. :func:`load` reads a TOML file into such a dataclass and
reports the first problem as one :class:`ConfigError` naming the file, the key path, the
bad value and what was expected. After loading, nothing touches raw dicts.

The defaults live in the dataclasses; ``configs/default.toml`` is generated from them by
``dcsim config defaults`` (a test keeps the two identical), so there is one source of truth
and a commented file for users to copy.

Supported field types: ``bool``, ``int``, ``float``, ``str``, ``Path``, ``IPv4Address``,
``IPv4Network``, ``Enum`` subclasses (by value), ``Literal[...]``, ``X | None``,
``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``, nested dataclasses, and any class with a
``from_text(str)`` classmethod that raises ``ValueError`` on bad text.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import ipaddress
import math
import tomllib
import types
import typing
from collections.abc import Hashable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")

_MISSING = dataclasses.MISSING


class ConfigError(Exception):
    """A configuration problem, printed as ``file: key.path: what is wrong``."""

    def __init__(self, source: str, key: str, message: str) -> None:
        super().__init__(source, key, message)
        self.source = source
        self.key = key
        self.message = message

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"


def setting(
    default: Any = _MISSING,
    doc: str = "",
    *,
    default_factory: Any = _MISSING,
    min: float | None = None,
    max: float | None = None,
) -> Any:
    """Declare a configuration field with its documentation and optional numeric bounds."""
    metadata = {"doc": doc, "min": min, "max": max}
    if default_factory is not _MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def load(path: str | Path, cls: type[T]) -> T:
    """Read the TOML file at *path* into *cls*; any problem raises :class:`ConfigError`."""
    return from_mapping(read_toml(path), cls, str(path))


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML file at *path* (for files read into more than one dataclass);
    a missing, unreadable or malformed file raises :class:`ConfigError`."""
    source = str(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(source, "", "no such file") from None
    except IsADirectoryError:
        raise ConfigError(source, "", "is a directory, expected a TOML file") from None
    except PermissionError:
        raise ConfigError(source, "", "permission denied") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "", f"not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "", "not valid TOML: the file is not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(source, "", f"cannot read: {e.strerror or e}") from None


def loads(text: str, cls: type[T], source: str = "<string>") -> T:
    """Like :func:`load`, from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "", f"not valid TOML: {e}") from None
    return from_mapping(data, cls, source)


def from_mapping(
    data: Mapping[str, Any],
    cls: type[T],
    source: str,
    prefix: str = "",
    *,
    ignore_unknown: bool = False,
) -> T:
    """Build dataclass *cls* from a parsed TOML table, or from a decoded JSON object (a
    log record: ``null`` is accepted where the type allows None; with *ignore_unknown*,
    keys a later version of the format added are skipped)."""
    return _Converter(source, ignore_unknown).dataclass(data, cls, prefix)


def describe(value: Any) -> str:
    """Show a TOML value as a user wrote it, for error messages."""
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


def _join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


class _Converter:
    def __init__(self, source: str, ignore_unknown: bool = False) -> None:
        self.source = source
        self.ignore_unknown = ignore_unknown

    def fail(self, key: str, message: str) -> typing.NoReturn:
        raise ConfigError(self.source, key, message)

    def expected(self, key: str, what: str, value: Any) -> typing.NoReturn:
        self.fail(key, f"expected {what}, got {describe(value)}")

    def dataclass(self, data: Any, cls: type[T], prefix: str) -> T:
        if not isinstance(data, Mapping):
            self.expected(prefix, "a table", data)
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        for key in data:
            if key not in fields and not self.ignore_unknown:
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(sorted(fields))
                self.fail(_join(prefix, key), f"unknown key{hint}; known keys: {known}")
        kwargs = {}
        for name, f in fields.items():
            key = _join(prefix, name)
            if name in data:
                kwargs[name] = self.value(data[name], hints[name], key, f.metadata)
            elif f.default is _MISSING and f.default_factory is _MISSING:
                self.fail(key, "missing; this key is required")
        try:
            return cls(**kwargs)
        except ValueError as e:  # a __post_init__ cross-field check
            self.fail(prefix or cls.__name__, str(e))

    def value(self, value: Any, tp: Any, key: str, meta: Mapping[str, Any]) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            if value is None and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            if len(inner) != 1:
                raise TypeError(f"unsupported union type {tp} for {key}")
            return self.value(value, inner[0], key, meta)
        if origin is Literal:
            if value not in args:
                choices = ", ".join(describe(a) for a in args)
                self.expected(key, f"one of {choices}", value)
            return value
        if origin is list or origin is tuple:
            if not isinstance(value, list):
                self.expected(key, "an array", value)
            item = args[0]
            items = [self.value(v, item, _join(key, i), meta) for i, v in enumerate(value)]
            return items if origin is list else tuple(items)
        if origin is dict:
            if not isinstance(value, Mapping):
                self.expected(key, "a table", value)
            return {k: self.value(v, args[1], _join(key, k), meta) for k, v in value.items()}
        from_text = getattr(tp, "from_text", None)
        if from_text is not None:
            if not isinstance(value, str):
                self.expected(key, f"a string ({tp.__doc__.splitlines()[0]})", value)
            try:
                return from_text(value)
            except ValueError as e:
                self.fail(key, f"{e}, got {describe(value)}")
        if dataclasses.is_dataclass(tp):
            return self.dataclass(value, tp, key)
        if tp is bool:
            if not isinstance(value, bool):
                self.expected(key, "true or false", value)
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.expected(key, "an integer" + _bounds(meta), value)
            return self.bounded(value, key, "an integer", meta)
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
                self.expected(key, "a number" + _bounds(meta), value)
            return float(self.bounded(value, key, "a number", meta))
        if tp is str:
            if not isinstance(value, str):
                self.expected(key, "a string", value)
            return value
        if tp is Path:
            if not isinstance(value, str) or not value:
                self.expected(key, "a path", value)
            return Path(value)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = {m.value: m for m in tp}
            if isinstance(value, bool) or not isinstance(value, Hashable) or value not in values:
                choices = ", ".join(describe(v) for v in values)
                self.expected(key, f"one of {choices}", value)
            return values[value]
        if tp in (ipaddress.IPv4Address, ipaddress.IPv4Network):
            what = "an IPv4 address" if tp is ipaddress.IPv4Address else "an IPv4 network"
            if not isinstance(value, str):
                self.expected(key, what, value)
            try:
                return tp(value)
            except ValueError:
                self.expected(key, what, value)
        raise TypeError(f"unsupported configuration type {tp} for {key}")

    def bounded(self, value: float, key: str, what: str, meta: Mapping[str, Any]) -> Any:
        low, high = meta.get("min"), meta.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            self.expected(key, what + _bounds(meta), value)
        return value


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


def _bounds(meta: Mapping[str, Any]) -> str:
    low, high = meta.get("min"), meta.get("max")
    if low is not None and high is not None:
        return f" in [{_num(low)}, {_num(high)}]"
    if low is not None:
        return f" >= {_num(low)}"
    if high is not None:
        return f" <= {_num(high)}"
    return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# --- writing defaults back out as commented TOML ---------------------------------------


def to_toml(obj: Any, title: str = "") -> str:
    """Render a configuration dataclass as commented TOML that :func:`load` reads back."""
    lines: list[str] = []
    if title:
        lines += [f"# {line}".rstrip() for line in title.splitlines()] + [""]
    _emit_table(obj, [], lines)
    return "\n".join(lines).rstrip() + "\n"


def _emit_table(obj: Any, path: list[str], lines: list[str]) -> None:
    scalars: list[tuple[dataclasses.Field[Any], Any]] = []
    tables: list[tuple[dataclasses.Field[Any], Any]] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if _is_table(value) or (
            isinstance(value, dict | list | tuple)
            and value
            and all(_is_table(v) for v in (value.values() if isinstance(value, dict) else value))
        ):
            tables.append((f, value))
        else:
            scalars.append((f, value))
    if path and (scalars or not tables):
        lines.append(f"[{'.'.join(path)}]")
    for f, value in scalars:
        _emit_doc(f, lines)
        if value is None:
            lines.append(f"# {f.name} = (unset)")
        else:
            lines.append(f"{f.name} = {_toml_value(value)}")
    if scalars:
        lines.append("")
    for f, value in tables:
        sub = [*path, f.name]
        if isinstance(value, dict):
            _emit_doc(f, lines)
            for k, v in value.items():
                _emit_table(v, [*sub, _toml_key(k)], lines)
        elif isinstance(value, list | tuple):
            _emit_doc(f, lines)
            for v in value:
                lines.append(f"[[{'.'.join(sub)}]]")
                _emit_scalars_only(v, lines)
        else:
            _emit_doc(f, lines)
            _emit_table(value, sub, lines)


def _is_table(value: Any) -> bool:
    """A nested settings dataclass (written as a TOML table), not a from_text value."""
    return dataclasses.is_dataclass(value) and not hasattr(type(value), "from_text")


def _emit_scalars_only(obj: Any, lines: list[str]) -> None:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is not None:
            lines.append(f"{f.name} = {_toml_value(value)}")
    lines.append("")


def _emit_doc(f: dataclasses.Field[Any], lines: list[str]) -> None:
    doc = f.metadata.get("doc", "")
    for line in doc.splitlines():
        lines.append(f"# {line}".rstrip())


def _toml_key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key):
        return key
    return _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _toml_value(value.value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return _toml_value(str(value))  # Path, IPv4Address, from_text types
