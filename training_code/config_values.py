"""Turning hyperparameter strings into typed values, and the checks shared by the config.

SageMaker hands every hyperparameter to the script as a string (the training toolkit writes
``str(value)``, so a JSON ``true`` arrives as ``True`` and a list as ``['a', 'b']``); recipes
give YAML-typed values. Both go through ``convert`` so they are held to the same rules.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_NONE = {"none", "null", ""}
ALL_LINEAR = "all-linear"  # PEFT's name for every linear layer but the output one


# Longest quoted value a message repeats: a megabyte value must not make a megabyte message.
SHOWN_CHARACTERS = 80


class ConfigError(ValueError):
    """A configuration key or value that cannot be used; the message names the key."""


def shown(value: Any, limit: int = SHOWN_CHARACTERS) -> str:
    """``repr(value)`` for a message; a longer text is cut to ``limit`` characters, its length
    said: ``'xxxx...' (1,000,000 characters)``."""
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        cut = repr(value[:limit])
        return f"{cut[:-1]}...{cut[-1]} ({len(value):,} characters)"
    return f"{text[:limit]}... ({len(text):,} characters as text)"


@dataclass(frozen=True)
class Limits:
    """The values one setting may take, declared beside it (``field(metadata={"limits": ...})``).

    ``low`` and ``high`` bound a number (``low_open``/``high_open`` leave the bound itself out);
    ``choices`` lists the words a text setting may be. train.py checks them at its start and the
    workflow's input validation checks a run's hyperparameters against the same declarations.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()

    def check(self, name: str, value: Any) -> None:
        """Fails unless ``value`` is within the limits, naming the setting first."""
        if self.choices:
            check_choice(name, value, self.choices)
            return
        too_low = self.low is not None and (
            value <= self.low if self.low_open else value < self.low
        )
        too_high = self.high is not None and (
            value >= self.high if self.high_open else value > self.high
        )
        if too_low or too_high:
            raise ConfigError(f"{name} must be {self.describe()}, got {shown(value)}")

    def describe(self) -> str:
        """``in [0, 1)``, ``>= 16``, ``> 0``: the limits in a message."""
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{_number_text(self.low)}, {_number_text(self.high)}{right}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {_number_text(self.low)}"
        return f"{'<' if self.high_open else '<='} {_number_text(self.high)}"


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def check_limits(instance: Any) -> None:
    """Checks every field of a dataclass ``instance`` that declares ``Limits`` (None passes)."""
    for item in dataclasses.fields(instance):
        limits = item.metadata.get("limits")
        value = getattr(instance, item.name)
        if limits is not None and value is not None:
            limits.check(item.name, value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Fails unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {shown(value)}")


def _bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {shown(raw)}")


def _number(name: str, raw: Any, kind: type) -> int | float:
    expected = "a whole number" if kind is int else "a number"
    if isinstance(raw, bool):
        raise ConfigError(f"{name} must be {expected}, got {shown(raw)}")
    try:
        if kind is int:
            value = float(raw)
            if not value.is_integer():
                raise ValueError
            return int(value)
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {expected}, got {shown(raw)}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {shown(raw)}")
    return value


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
                    raise ConfigError(f"{name}: cannot read a list from {shown(raw)}") from None
        else:
            raw = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{name} must be a list of names, got {shown(raw)}")
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
            raise ConfigError(f"{name} must be a string, got {shown(raw)}")
        return str(raw)
    if annotation == list[str]:
        return _str_list(name, raw)
    raise ConfigError(f"{name}: unsupported type {annotation}")  # a programming error
