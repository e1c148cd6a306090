"""Reads exported model folders with whichever transformers is importable; writes what it read.

tests/serving_compat runs it twice with the same arguments: with the venv's transformers 5 (what
training writes with) and with the serving image's (``PYTHONPATH=.venv/serving-transformers``)::

    python probe.py OUT_DIR NAME=MODEL_DIR ...

For each folder it writes ``OUT_DIR/NAME.json`` (configuration, tokenizer, chat renderings,
RoPE frequencies) and, for a whole model, ``OUT_DIR/NAME.pt`` (the logits of a fixed prompt).
A part that fails to load is recorded as ``{"error": ...}`` so the tests can name it.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

import huggingface_hub
import tokenizers
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

MAJOR = int(transformers.__version__.split(".")[0])
CHATS = [
    [{"role": "user", "content": "How many ships are there?"}],
    [
        {"role": "system", "content": "Answer with SQL only.\n  Tables: ships(id, name)"},
        {"role": "user", "content": "List  the names,\tsorted; then count 1234 of them ünïcödé 🚢"},
        {"role": "assistant", "content": "SELECT name FROM ships ORDER BY name"},
        {"role": "user", "content": " and the first one?"},
    ],
]
PLAIN = "  SELECT count(*) FROM ships WHERE name = 'Ünïcödé'  -- 42\n<file_sep>x"
# The logits are of fixed ids, so they compare the models even where the tokenizers differ.
PROMPT_IDS = [1, 4093, 1075, 2, 198, 9, 3563, 281, 10043, 30, 17, 49151, 12, 7, 0, 256]


def _guarded(read) -> dict[str, Any]:
    try:
        return read()
    except Exception as error:  # recorded for the test to report, side by side
        return {"error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()}


def _tokenizer(folder: Path) -> dict[str, Any]:
    tokenizer = AutoTokenizer.from_pretrained(folder)
    chats = []
    for chat in CHATS:
        text = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        ids = tokenizer.apply_chat_template(
            chat, tokenize=True, add_generation_prompt=True, return_dict=True
        )["input_ids"]
        chats.append(
            {
                "text": text,
                "ids": list(ids),
                "encoded": tokenizer(text, add_special_tokens=False)["input_ids"],
                "decoded": tokenizer.decode(ids),
                "decoded_skipping_special": tokenizer.decode(ids, skip_special_tokens=True),
            }
        )
    named = ("bos_token", "eos_token", "pad_token", "unk_token")
    return {
        "class": type(tokenizer).__name__,
        "special_tokens": {name: getattr(tokenizer, name) for name in named},
        "special_token_ids": {name: getattr(tokenizer, f"{name}_id") for name in named},
        "all_special_tokens": sorted(tokenizer.all_special_tokens),
        "length": len(tokenizer),
        "chat_template": tokenizer.chat_template,
        "chats": chats,
        "plain": tokenizer(PLAIN)["input_ids"],
        "plain_without_special": tokenizer(PLAIN, add_special_tokens=False)["input_ids"],
    }


def _rope(config: Any) -> dict[str, Any]:
    if MAJOR >= 5:
        return dict(config.rope_parameters)
    rope = dict(config.rope_scaling or {"rope_type": "default"})
    rope["rope_type"] = rope.pop("type", None) or rope["rope_type"]
    rope["rope_theta"] = config.rope_theta
    return rope


def _config(folder: Path) -> dict[str, Any]:
    config = AutoConfig.from_pretrained(folder)
    generation = GenerationConfig.from_pretrained(folder)
    return {
        "model_type": config.model_type,
        "architectures": config.architectures,
        "rope": _rope(config),
        "dtype": str(config.dtype).removeprefix("torch."),
        "vocab_size": config.vocab_size,
        "max_position_embeddings": config.max_position_embeddings,
        "tie_word_embeddings": config.tie_word_embeddings,
        "token_ids": {
            k: getattr(config, k) for k in ("bos_token_id", "eos_token_id", "pad_token_id")
        },
        "generation_token_ids": {
            k: getattr(generation, k) for k in ("bos_token_id", "eos_token_id", "pad_token_id")
        },
    }


def _model(folder: Path, logits_file: Path) -> dict[str, Any]:
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    loaded_dtype = str(model.dtype).removeprefix("torch.")
    model = model.float().eval()  # the same weights; compared in fp32 so rounding cannot hide
    rotary = model.model.rotary_emb
    with torch.no_grad():
        ids = [i % model.config.vocab_size for i in PROMPT_IDS]
        logits = model(torch.tensor([ids])).logits[0]
    torch.save(logits, logits_file)
    return {
        "loaded_dtype": loaded_dtype,
        "parameters": sum(p.numel() for p in model.parameters()),
        "inv_freq": rotary.inv_freq.tolist(),
        "attention_scaling": float(rotary.attention_scaling),
    }


def probe(folder: Path, out: Path, name: str) -> None:
    result: dict[str, Any] = {"tokenizer": _guarded(lambda: _tokenizer(folder))}
    if (folder / "config.json").is_file():
        result["config"] = _guarded(lambda: _config(folder))
        result["model"] = _guarded(lambda: _model(folder, out / f"{name}.pt"))
    (out / f"{name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    versions = {
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "huggingface_hub": huggingface_hub.__version__,
        "torch": torch.__version__,
    }
    (out / "versions.json").write_text(json.dumps(versions))
    for pair in argv[1:]:
        name, folder = pair.split("=", 1)
        probe(Path(folder), out, name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
