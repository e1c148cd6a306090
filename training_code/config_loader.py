"""Builds a ``TrainConfig`` from defaults, a recipe YAML and ``--key value`` arguments.

Precedence: dataclass defaults < recipe (``--recipe lora`` or ``--recipe path/to.yaml``) <
command line. Keys may be written ``--lora_r 8``, ``--lora-r 8`` or ``--lora_r=8``.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml
from config_values import ConfigError, convert
from train_config import SECTIONS, TrainConfig, key_sections

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"


def parse_argv(argv: list[str]) -> dict[str, str]:
    """``["--lora_r", "8", "--packing=false"]`` -> ``{"lora_r": "8", "packing": "false"}``.

    A key with no value (the last argument, or one followed by another ``--key``) means true.
    """
    parsed: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or token == "--":
            raise ConfigError(f"unexpected argument {token!r}: expected --key value")
        key, has_value, value = token[2:].partition("=")
        if not has_value:
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                value = argv[i + 1]
                i += 1
            else:
                value = "true"
        parsed[key.replace("-", "_")] = value
        i += 1
    return parsed


def recipe_path(recipe: str) -> Path:
    """A recipe name (``lora``) or a path to a YAML file, as a path that exists."""
    candidate = Path(recipe)
    if candidate.suffix not in (".yaml", ".yml"):
        candidate = RECIPES_DIR / f"{recipe}.yaml"
    if not candidate.is_file():
        known = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))
        raise ConfigError(f"recipe {recipe!r} not found ({candidate}); known: {', '.join(known)}")
    return candidate


def load_recipe(recipe: str) -> dict[str, Any]:
    """Reads a recipe into ``{key: value}``, checking its sections and keys."""
    path = recipe_path(recipe)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected sections {', '.join(SECTIONS)}")
    values: dict[str, Any] = {}
    for section, body in document.items():
        if section not in SECTIONS:
            expected = ", ".join(SECTIONS)
            raise ConfigError(f"{path}: unknown section {section!r}; expected {expected}")
        if body is not None and not isinstance(body, dict):
            raise ConfigError(
                f"{path}: section {section!r} must hold key: value lines, got {body!r}"
            )
        names = {f.name for f in fields(SECTIONS[section])}
        for key, value in (body or {}).items():
            if key not in names:
                raise ConfigError(f"{path}: unknown key {section}.{key}{_suggest(key, names)}")
            values[key] = value
    return values


def _suggest(key: str, names: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def build_config(argv: list[str]) -> TrainConfig:
    """The configuration for ``argv``; raises ``ConfigError`` naming any bad key or value."""
    overrides = parse_argv(argv)
    recipe = overrides.pop("recipe", None)
    sections = key_sections()
    for key in overrides:
        if key not in sections:
            raise ConfigError(f"unknown hyperparameter {key!r}{_suggest(key, sections)}")
    values = {**(load_recipe(recipe) if recipe else {}), **overrides}
    built: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        kwargs = {
            f.name: convert(f.name, values[f.name], hints[f.name])
            for f in fields(cls)
            if f.name in values
        }
        built[section] = cls(**kwargs)
    return TrainConfig(**built, recipe=recipe)


def describe() -> str:
    """The ``--help`` text: every key, its default and what it does, by section."""
    lines = ["usage: train.py [--recipe lora|qlora|full|FILE.yaml] [--key value ...]", ""]
    for section, cls in SECTIONS.items():
        lines.append(f"{section}:")
        for f in fields(cls):
            lines.append(f"  --{f.name} (default {f.default!r}): {f.metadata.get('help', '')}")
    return "\n".join(lines)
