"""Every kind of export reads the same under the serving image's transformers as under training's.

Training writes with the venv's transformers 5; LMI V18 reads with 4.57.1 (pinned in
contracts/serving_images.py, installed by ``make setup`` in .venv/serving-transformers).
Both read each folder with probe.py; the configuration's meaning, the tokenizer, the chat
template's renderings and the logits must agree. Adapter exports are not served as they are
(docs/serving.md), so only their tokenizer and files are checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from export_compat import LOADING_KEYS

from contracts import serving_images
from tests.serving_compat.compare import same_config, same_logits, same_tokenizer
from tests.serving_compat.conftest import ADAPTER_BASE, EXPORTS

MODELS = [kind for kind in EXPORTS if kind != "adapter"]
# The run's record (its configuration, with the job's paths); serving never reads it.
TRAINING_RECORD = "training_metrics.json"


def test_the_side_environment_holds_the_serving_images_libraries(serving_side, training_side):
    assert serving_side.versions == {
        "transformers": serving_images.SERVING_TRANSFORMERS_VERSION,
        "tokenizers": serving_images.SERVING_TOKENIZERS_VERSION,
        "huggingface_hub": serving_images.SERVING_HUGGINGFACE_HUB_VERSION,
        "torch": training_side.versions["torch"],
    }, "rebuild it: `rm .venv/.installed && make setup`"
    assert training_side.versions["transformers"].startswith("5.")


@pytest.mark.parametrize("kind", list(EXPORTS))
def test_the_serving_side_reads_the_same_tokenizer(kind, training_side, serving_side):
    same_tokenizer(training_side, serving_side, kind)


@pytest.mark.parametrize("kind", MODELS)
def test_the_serving_side_reads_the_same_configuration(kind, exports, training_side, serving_side):
    same_config(training_side, serving_side, kind, exports[kind].rope, "bfloat16")


@pytest.mark.parametrize("kind", MODELS)
def test_the_serving_side_computes_the_same_logits(kind, training_side, serving_side):
    same_logits(training_side, serving_side, kind, "bfloat16")


def _strings_and_keys(value, keys: set[str], strings: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            keys.add(key)
            _strings_and_keys(item, keys, strings)
    elif isinstance(value, list):
        for item in value:
            _strings_and_keys(item, keys, strings)
    elif isinstance(value, str):
        strings.append(value)


@pytest.mark.parametrize("kind", list(EXPORTS))
def test_exported_files_hold_nothing_of_the_training_machine(kind, exports):
    folder: Path = exports[kind].folder
    files = sorted(p for p in folder.glob("*.json") if p.name != TRAINING_RECORD)
    assert {"tokenizer_config.json", "tokenizer.json"} <= {p.name for p in files}
    local_path = re.compile(r"^(/|~|[A-Za-z]:[\\/]|file:)")
    for path in files:
        keys: set[str] = set()
        strings: list[str] = []
        written = json.loads(path.read_text())
        if path.name == "tokenizer.json":  # its vocabulary holds words like "/" and "token"
            written = {k: v for k, v in written.items() if k not in ("model", "added_tokens")}
        _strings_and_keys(written, keys, strings)
        if path.name != "adapter_config.json":  # PEFT's "revision" is the base's, not a flag
            assert not keys & LOADING_KEYS, f"{path.name}: {sorted(keys & LOADING_KEYS)}"
        paths = [s for s in strings if local_path.match(s) or str(exports[kind].base) in s]
        assert not paths, f"{path.name}: {paths}"
    if kind == "adapter":
        config = json.loads((folder / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == ADAPTER_BASE
