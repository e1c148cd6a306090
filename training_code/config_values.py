"""Turning hyperparameter strings into typed values, and the checks shared by the config.

SageMaker hands every hyperparameter to the script as a string (the training toolkit writes
``str(value)``, so a JSON ``true`` arrives as ``True`` and a list as ``['a', 'b']``); recipes
give YAML-typed values. Both go through ``convert`` so they are held to the same rules.
"""

from __future__ import annotations

import ast
import json
import types
import typing
from typing import Any

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_NONE = {"none", "null", ""}
ALL_LINEAR = "all-linear"  # PEFT's name for every linear layer but the output one


class ConfigError(ValueError):
    """A configuration key or value that cannot be used; the message names the key."""


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Fails unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def check_positive(name: str, value: Any, minimum: float = 1) -> None:
    """Fails unless ``value`` is a number of at least ``minimum`` (1 by default; >0 for floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if isinstance(value, float) and minimum == 1:
        if value <= 0:
            raise ConfigError(f"{name} must be > 0, got {value}")
    elif value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


def _bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _number(name: str, raw: Any, kind: type) -> int | float:
    expected = "an integer" if kind is int else "a number"
    if isinstance(raw, bool):
        raise ConfigError(f"{name} must be {expected}, got {raw!r}")
    try:
        if kind is int:
            value = float(raw)
            if not value.is_integer():
                raise ValueError
            return int(value)
        return float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {expected}, got {raw!r}") from None


def _str_list(name: str, raw: Any) -> list[str]:
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except ValueError:
                try:
                    raw = ast.literal_eval(text)  # the toolkit's str() of a list
                except (ValueError, SyntaxError):
                    raise ConfigError(f"{name}: cannot read a list from {raw!r}") from None
        else:
            raw = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{name} must be a list of names, got {raw!r}")
    return raw


def convert(name: str, raw: Any, annotation: Any) -> Any:
    """Converts ``raw`` (a string or a YAML value) to the type ``annotation`` names."""
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    if options:
        if type(None) in options and (raw is None or str(raw).strip().lower() in _NONE):
            return None
        others = [option for option in options if option is not type(None)]
        if list[str] in others and str in others:
            # "all-linear" stays a string; anything else is a list of names, one name included,
            # since PEFT reads a bare string as a regex that must match a module's whole name.
            if isinstance(raw, str) and raw.strip() == ALL_LINEAR:
                return ALL_LINEAR
            return _str_list(name, raw)
        return convert(name, raw, others[0])
    if raw is None:
        raise ConfigError(f"{name} needs a value")
    if annotation is bool:
        return _bool(name, raw)
    if annotation in (int, float):
        return _number(name, raw, annotation)
    if annotation is str:
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise ConfigError(f"{name} must be a string, got {raw!r}")
        return str(raw)
    if annotation == list[str]:
        return _str_list(name, raw)
    raise ConfigError(f"{name}: unsupported type {annotation}")  # a programming error
