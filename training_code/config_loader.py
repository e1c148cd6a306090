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
    return _parse_argv(argv)[0]


def _parse_argv(argv: list[str]) -> tuple[dict[str, str], set[str]]:
    """``parse_argv``'s values, and the keys that had no value of their own (bare flags)."""
    parsed: dict[str, str] = {}
    bare: set[str] = set()
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or token == "--":
            raise ConfigError(f"unexpected argument {token!r}: expected --key value")
        key, has_value, value = token[2:].partition("=")
        key = key.replace("-", "_")
        bare.discard(key)  # a key given twice: the last one wins
        if not has_value:
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                value = argv[i + 1]
                i += 1
            else:
                value = "true"
                bare.add(key)
        parsed[key] = value
        i += 1
    return parsed, bare


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
    return {key: value for key, (value, _) in _recipe_entries(recipe).items()}


def _recipe_entries(recipe: str) -> dict[str, tuple[Any, str]]:
    """``{key: (value, where)}`` for a recipe, ``where`` being ``<path>, line N: section.key``,
    so that a bad value names the line to fix, as an unknown key names its file."""
    path = recipe_path(recipe)
    loader = yaml.SafeLoader(path.read_text())
    try:
        root = loader.get_single_node()  # the nodes keep their line numbers; the values do not
        document = loader.construct_document(root) if root is not None else {}
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_problem(path, error)) from None
    finally:
        loader.dispose()
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected sections {', '.join(SECTIONS)}")
    lines = _key_lines(root)
    entries: dict[str, tuple[Any, str]] = {}
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
            where = f"{path}, line {lines.get((section, key), '?')}: {section}.{key}"
            entries[key] = (value, where)
    return entries


def _key_lines(root: yaml.Node) -> dict[tuple[str, str], int]:
    """``{(section, key): line}`` (1-based) for the ``section: {key: value}`` nodes of a recipe;
    a key written twice maps to its last line, the one whose value YAML keeps."""
    lines: dict[tuple[str, str], int] = {}
    for section, body in root.value if isinstance(root, yaml.MappingNode) else ():
        if isinstance(body, yaml.MappingNode):
            for key, _ in body.value:
                lines[(str(section.value), str(key.value))] = key.start_mark.line + 1
    return lines


def _yaml_problem(path: Path, error: yaml.YAMLError) -> str:
    """PyYAML's error (several lines, the last a caret) as one line:
    ``<path>, line L, column C: <problem> (<context> at line L', column C')``."""
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return f"{path}: not valid YAML: {' '.join(str(error).split())}"
    mark = error.problem_mark
    text = f"{path}, line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
    if error.context:
        at = error.context_mark
        text += f" ({error.context}" + (
            f" at line {at.line + 1}, column {at.column + 1})" if at is not None else ")"
        )
    return " ".join(text.split())


def _suggest(key: str, names: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def build_config(argv: list[str]) -> TrainConfig:
    """The configuration for ``argv``; raises ``ConfigError`` naming any bad key or value, and
    the recipe file and line of a bad value that came from a recipe."""
    overrides, bare = _parse_argv(argv)
    recipe = overrides.pop("recipe", None)
    if "recipe" in bare:
        raise ConfigError("--recipe needs a value")
    sections = key_sections()
    for key in overrides:
        if key not in sections:
            raise ConfigError(f"unknown hyperparameter {key!r}{_suggest(key, sections)}")
    entries = _recipe_entries(recipe) if recipe else {}
    values = {**{key: value for key, (value, _) in entries.items()}, **overrides}
    # Where each recipe value still in force was written (a command-line value replaces it).
    where = {key: at for key, (_, at) in entries.items() if key not in overrides}
    built: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            if f.name in bare and not _takes_bool(hints[f.name]):
                # The flag form means true, which only a boolean key can take.
                raise ConfigError(f"--{f.name} needs a value")
            try:
                kwargs[f.name] = convert(f.name, values[f.name], hints[f.name])
            except ConfigError as error:
                raise _located(error, where.get(f.name)) from None
        try:
            built[section] = cls(**kwargs)
        except ConfigError as error:
            # The checks name the key they are about first ("lora_r must be >= 1, got -4").
            key = str(error).split(" ", 1)[0]
            raise _located(error, where.get(key)) from None
    return TrainConfig(**built, recipe=recipe)


def _takes_bool(annotation: Any) -> bool:
    return annotation is bool or bool in typing.get_args(annotation)


def _located(error: ConfigError, where: str | None) -> ConfigError:
    """``error`` prefixed with the recipe file, line and key of its value, when it has one."""
    return ConfigError(f"{where}: {error}") if where else error


def describe() -> str:
    """The ``--help`` text: every key, its default and what it does, by section."""
    lines = ["usage: train.py [--recipe lora|qlora|full|FILE.yaml] [--key value ...]", ""]
    for section, cls in SECTIONS.items():
        lines.append(f"{section}:")
        for f in fields(cls):
            lines.append(f"  --{f.name} (default {f.default!r}): {f.metadata.get('help', '')}")
    return "\n".join(lines)
