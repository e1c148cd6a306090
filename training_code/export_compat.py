"""Making an exported folder read the same under the serving image's transformers 4.x.

Training writes with transformers 5, the serving image (LMI V18, see
``contracts/serving_images.py``) reads with transformers 4.57.1, and 4.x reads some of what
5 writes differently, without an error:

- RoPE: 5 writes only ``rope_parameters``; 4.x reads ``rope_theta`` and ``rope_scaling`` and
  falls back to its defaults (a theta of 10,000 for Llama) when they are missing.
- The tokenizer: 5 names its generic fast tokenizer ``TokenizersBackend``, a class 4.x does not
  have. ``PreTrainedTokenizerFast`` over the same ``tokenizer.json`` is what 4.x reads instead;
  4.x overrides the pre-tokenizer's ``add_prefix_space`` with the config's (default false), and
  reads extra special tokens as ``additional_special_tokens``.
- Loading flags (``is_local``, ``local_files_only``) of the training machine end up in
  ``tokenizer_config.json``; they describe how training loaded the base, not the model.

The keys 4.x needs are written next to 5's, which 5 reads back to the same values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Arguments of from_pretrained that transformers 5 keeps in a tokenizer's init arguments and
# saves: they name how and where the training machine loaded the base.
LOADING_KEYS = frozenset(
    {
        "is_local",
        "local_files_only",
        "cache_dir",
        "force_download",
        "proxies",
        "token",
        "use_auth_token",
        "revision",
        "subfolder",
        "_commit_hash",
        "trust_remote_code",
    }
)
# 4.x's layered models (Gemma 3 and those derived from it) read the global attention's RoPE as
# rope_theta/rope_scaling and the sliding window's theta as rope_local_base_freq.
_GLOBAL, _SLIDING = "full_attention", "sliding_attention"


def make_readable_by_serving(model_dir: Path) -> None:
    """Rewrites ``config.json`` and ``tokenizer_config.json`` in ``model_dir`` (where present).

    Raises:
        ValueError: naming the model's RoPE layout when 4.x has no keys for it.
    """
    config = model_dir / "config.json"
    if config.is_file():
        _rewrite(config, legacy_config(_read(config)))
    tokenizer_config = model_dir / "tokenizer_config.json"
    if tokenizer_config.is_file():
        backend = model_dir / "tokenizer.json"
        state = _read(backend) if backend.is_file() else None
        _rewrite(tokenizer_config, legacy_tokenizer_config(_read(tokenizer_config), state))


def legacy_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the RoPE keys 4.x reads derived from ``rope_parameters``."""
    nested = [
        key
        for key, value in config.items()
        if isinstance(value, dict) and "rope_parameters" in value
    ]
    if nested:
        # A composite config (Gemma 3's text_config, ...): 4.x reads RoPE there in its own way.
        raise ValueError(
            f"config.json of model_type {config.get('model_type')!r} holds rope_parameters in "
            f"{', '.join(nested)}: the export cannot write it for the serving image's transformers"
        )
    rope = config.get("rope_parameters")
    if not isinstance(rope, dict) or not rope:
        return config
    try:
        legacy = legacy_rope_keys(rope)
    except ValueError as error:
        raise ValueError(
            f"config.json of model_type {config.get('model_type')!r}: {error}"
        ) from None
    return {**config, **legacy}


def legacy_rope_keys(rope: dict[str, Any]) -> dict[str, Any]:
    """The ``rope_theta``/``rope_scaling`` (and related) keys 4.x reads for ``rope``.

    Raises:
        ValueError: when ``rope`` is nested in a way 4.x has no keys for.
    """
    if "rope_theta" in rope or "rope_type" in rope:
        return _flat_rope_keys(rope)
    sliding = rope.get(_SLIDING) or {}
    if set(rope) == {_GLOBAL, _SLIDING} and sliding.get("rope_type", "default") == "default":
        return {**_flat_rope_keys(rope[_GLOBAL]), "rope_local_base_freq": sliding["rope_theta"]}
    raise ValueError(
        f"rope_parameters nested by {sorted(rope)} have no transformers 4.x form, so the serving "
        "image could read this model with other RoPE settings; serve it with an image whose "
        "transformers is 5 or later (contracts/serving_images.py)"
    )


def _flat_rope_keys(rope: dict[str, Any]) -> dict[str, Any]:
    kind = rope.get("rope_type", rope.get("type", "default"))
    scaling = {k: v for k, v in rope.items() if k not in ("rope_theta", "partial_rotary_factor")}
    keys: dict[str, Any] = {
        "rope_theta": rope["rope_theta"],
        # 4.x takes None for plain RoPE; a dict means scaling of the type it names.
        "rope_scaling": None if kind == "default" else {**scaling, "rope_type": kind},
    }
    if "partial_rotary_factor" in rope:
        keys["partial_rotary_factor"] = rope["partial_rotary_factor"]
    return keys


def legacy_tokenizer_config(
    settings: dict[str, Any], backend: dict[str, Any] | None
) -> dict[str, Any]:
    """``settings`` (a ``tokenizer_config.json``) as 4.x reads the same tokenizer.

    Args:
        settings: the tokenizer configuration transformers 5 wrote.
        backend: the ``tokenizer.json`` beside it, or None for a tokenizer without one.
    """
    result = {k: v for k, v in settings.items() if k not in LOADING_KEYS}
    extra = result.pop("extra_special_tokens", None)
    if isinstance(extra, list):
        result["additional_special_tokens"] = extra
    elif extra is not None:
        result["extra_special_tokens"] = extra  # named tokens: a dict, which both read
    if backend is None:
        return result
    result["tokenizer_class"] = "PreTrainedTokenizerFast"
    pre_tokenizer = backend.get("pre_tokenizer") or {}
    if "add_prefix_space" in pre_tokenizer:
        result["add_prefix_space"] = pre_tokenizer["add_prefix_space"]
    return result


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _rewrite(path: Path, settings: dict[str, Any]) -> None:
    text = json.dumps(settings, indent=2, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
