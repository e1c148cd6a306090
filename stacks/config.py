"""Loads ``config/environments.yaml`` into typed configuration, with errors that say where.

A bad value fails synth with a message such as::

    config/environments.yaml, line 31: environments.staging.training.instance_count:
    must be at least 1, got 0
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from contracts import serving_images
from stacks.config_schema import (
    ENVIRONMENT_NAMES,
    EnvironmentConfig,
    FieldError,
    PipelineConfig,
    ProjectConfig,
)
from stacks.workflow.images import resolve_images

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "environments.yaml"
# What a field of each type takes, in words.
_EXPECTED = {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}


class ConfigError(ValueError):
    """Configuration that cannot be used; the message names the file, line and field."""


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, where: str, message: str) -> typing.NoReturn:
        raise ConfigError(f"{self.path}, line {node.start_mark.line + 1}: {where}: {message}")

    def build(self, cls: type, node: yaml.Node, where: str, **extra: Any) -> Any:
        """Builds dataclass ``cls`` from a YAML mapping, checking names, types and values."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, where, "must be a mapping of field: value")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in extra}
        values: dict[str, Any] = dict(extra)
        key_nodes: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key not in fields:
                known = ", ".join(fields)
                self.fail(
                    key_node,
                    f"{where}.{key}",
                    f"unknown field{did_you_mean(str(key), fields)}; known fields are {known}",
                )
            self.check_unique(key_node, key_nodes.get(key), f"{where}.{key}")
            key_nodes[key] = key_node
            values[key] = self.convert(hints[key], value_node, f"{where}.{key}")
        for name, f in fields.items():
            no_default = (
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            )
            if name not in values and no_default:
                self.fail(node, f"{where}.{name}", "is required")
        try:
            return cls(**values)
        except FieldError as error:
            self.fail(key_nodes.get(error.field, node), f"{where}.{error.field}", str(error))

    def check_unique(self, key_node: yaml.Node, earlier: yaml.Node | None, where: str) -> None:
        """YAML keeps the last of two equal keys; a reviewer may read the first. Refuse both."""
        if earlier is not None:
            self.fail(
                key_node,
                where,
                f"set twice (also on line {earlier.start_mark.line + 1}); keep one",
            )

    def convert(self, hint: Any, node: yaml.Node, where: str) -> Any:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (types.UnionType, typing.Union):
            is_null = isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")
            if is_null and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            return self.convert(inner[0], node, where)
        if dataclasses.is_dataclass(hint):
            return self.build(hint, node, where)
        if origin is tuple:
            if not isinstance(node, yaml.SequenceNode):
                self.fail(node, where, "must be a list")
            return tuple(
                self.convert(args[0], item, f"{where}[{i}]") for i, item in enumerate(node.value)
            )
        if origin is typing.Literal:
            hint = str
        expected = _EXPECTED.get(hint, getattr(hint, "__name__", str(hint)))
        if not isinstance(node, yaml.ScalarNode):
            given = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
            self.fail(node, where, f"must be {expected}, got {given}: {_flow(node)}")
        value = yaml.safe_load(yaml.serialize(node))
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if hint is str and node.tag.endswith(":int"):
            self.fail(node, where, f'must be a string; write it in quotes: "{node.value}"')
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            self.fail(node, where, f"must be {expected}, got {_given(node)}")
        return value


def did_you_mean(key: str, known: typing.Iterable[str]) -> str:
    """`` (did you mean 'use_spot'?)`` for the known name closest to ``key``, or nothing."""
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _given(node: yaml.ScalarNode) -> str:
    """A scalar as written, with what YAML read it as when that is not a string."""
    kind = node.tag.rsplit(":", 1)[-1]
    described = {"int": "a whole number", "float": "a number", "bool": "a boolean"}.get(kind)
    if kind == "null":
        return "nothing (null)"
    return f"{node.value} ({described})" if described else repr(node.value)


def _flow(node: yaml.Node, limit: int = 60) -> str:
    """A list or mapping as YAML on one line, cut to ``limit`` characters."""
    value = yaml.safe_load(yaml.serialize(node))
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_config(path: Path = DEFAULT_CONFIG_PATH) -> ProjectConfig:
    """Reads and validates the whole configuration file.

    Raises:
        ConfigError: naming the file, line and field of the first bad value.
    """
    loader = _Loader(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error.strerror}") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}: must be a mapping with 'pipeline' and 'environments'")
    sections: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in root.value:
        loader.check_unique(key, sections.get(key.value, (None,))[0], key.value)
        sections[key.value] = (key, value)
    for key, (key_node, _) in sections.items():
        if key not in ("pipeline", "environments"):
            hint = did_you_mean(str(key), ("pipeline", "environments"))
            loader.fail(
                key_node, key, f"unknown section{hint}; known sections are pipeline, environments"
            )
    if "pipeline" not in sections or "environments" not in sections:
        raise ConfigError(f"{path}: needs both 'pipeline' and 'environments' sections")
    pipeline = loader.build(PipelineConfig, sections["pipeline"][1], "pipeline")
    env_node = sections["environments"][1]
    if not isinstance(env_node, yaml.MappingNode):
        loader.fail(env_node, "environments", "must be a mapping of name: settings")
    environments = {}
    env_keys: dict[str, yaml.Node] = {}
    for key_node, value_node in env_node.value:
        name = key_node.value
        if name not in ENVIRONMENT_NAMES:
            known = ", ".join(ENVIRONMENT_NAMES)
            hint = did_you_mean(str(name), ENVIRONMENT_NAMES)
            loader.fail(
                key_node, f"environments.{name}", f"unknown environment{hint}; use one of {known}"
            )
        loader.check_unique(key_node, env_keys.get(name), f"environments.{name}")
        env_keys[name] = key_node
        environments[name] = loader.build(
            EnvironmentConfig, value_node, f"environments.{name}", name=name
        )
        _check_images(loader, environments[name], value_node)
        _check_endpoint_wait(loader, environments[name], value_node)
    try:
        return ProjectConfig(pipeline=pipeline, environments=environments)
    except FieldError as error:
        # Rules across environments name the field by its full path from the top of the file.
        loader.fail(_node_at(root, error.field), error.field, str(error))


def _check_images(loader: _Loader, env: EnvironmentConfig, node: yaml.Node) -> None:
    """Every image the environment uses exists in its region (a mistyped region has none)."""
    try:
        resolve_images(env.region, env.images)
    except ValueError as error:
        where = f"environments.{env.name}.region"
        loader.fail(_node_at(node, "region"), where, str(error))


# Besides the container's own model loading: the instance's start and the model's download.
ENDPOINT_START_MARGIN_S = 600


def _check_endpoint_wait(loader: _Loader, env: EnvironmentConfig, node: yaml.Node) -> None:
    """The workflow waits long enough for a healthy evaluation endpoint to start: the serving
    container alone may load the model for MODEL_LOADING_TIMEOUT_S."""
    loading_s = serving_images.MODEL_LOADING_TIMEOUT_S
    least = -(-(loading_s + ENDPOINT_START_MARGIN_S) // 60)
    if env.evaluation.endpoint_timeout_minutes < least:
        loader.fail(
            _node_at(node, "evaluation.endpoint_timeout_minutes"),
            f"environments.{env.name}.evaluation.endpoint_timeout_minutes",
            f"must be at least {least}, got {env.evaluation.endpoint_timeout_minutes}: the "
            f"serving container may take {loading_s} s to load a model, after the instance "
            "starts and the model is downloaded",
        )


def _node_at(root: yaml.MappingNode, dotted: str) -> yaml.Node:
    """The value node at a dotted path such as ``environments.prod.serving_model``.

    Falls back to the deepest mapping on the way when a key is absent (a field left to its
    default), so the message still points at the right section.
    """
    node: yaml.Node = root
    for key in dotted.split("."):
        children = {k.value: v for k, v in node.value} if isinstance(node, yaml.MappingNode) else {}
        if key not in children:
            break
        node = children[key]
    return node
