"""Writing the trained model to ``SM_MODEL_DIR`` (rank 0 only), ready to serve.

Adapters are merged into a freshly loaded copy of the base in its stored precision, never into
the training model: that one may be 4-bit (QLoRA), sharded (FSDP) or patched for training. The
folder is then made to read the same under the serving image's transformers (``export_compat``).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from export_compat import make_readable_by_serving
from train_config import TrainConfig
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

METRICS_FILE = "training_metrics.json"
BASE_REFERENCE_FILE = "base_model.json"
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
# The workflow keeps a model by copying each file with S3 CopyObject, which copies at most 5 GB
# ("You create a copy of your object up to 5 GB in size in a single atomic action using this
# API": https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html, also in botocore's
# s3 service model). save_pretrained's own default is 50GB shards. A tensor is never split, so
# one over the size gets a shard of its own: the largest in common models, Llama 3.1 405B's
# embedding (128,256 x 16,384 in bf16), is 4.2 GB.
MAX_SHARD_SIZE = "4GB"


def export_model(
    trainer: Any, config: TrainConfig, tokenizer: PreTrainedTokenizerBase, model_dir: Path
) -> str:
    """Saves the model and tokenizer into ``model_dir``; returns what was written.

    Every rank must call this (FSDP gathers the weights collectively); only rank 0 writes.
    """
    with tempfile.TemporaryDirectory(prefix="trained-") as staging:
        trainer.save_model(staging)
        if not trainer.is_world_process_zero():
            return "nothing (not rank 0)"
        model_dir.mkdir(parents=True, exist_ok=True)
        method = config.method
        if method.method == "full":
            _save_full(Path(staging), model_dir, config.model.model_name_or_path, tokenizer)
            kind = "full model"
        elif method.save_merged:
            _save_merged(Path(staging), model_dir, config.model.model_name_or_path, tokenizer)
            kind = "merged model"
        else:
            base = config.model.base_model_reference or config.model.model_name_or_path
            _save_adapter(Path(staging), model_dir, base)
            kind = "adapter"
    tokenizer.save_pretrained(model_dir)  # with its chat template (chat_template.jinja)
    make_readable_by_serving(model_dir)
    log.info("wrote the %s to %s", kind, model_dir)
    return kind


def _finalise_config(model: Any, tokenizer: PreTrainedTokenizerBase) -> None:
    model.config.use_cache = True
    model.config.pad_token_id = tokenizer.pad_token_id
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def _save_full(
    staging: Path, model_dir: Path, base: str, tokenizer: PreTrainedTokenizerBase
) -> None:
    """Writes the whole model in the precision the base is stored in: training keeps fp32
    master weights, and a bf16 8B base would otherwise come back at twice its size."""
    stored = getattr(AutoConfig.from_pretrained(base), "dtype", None)
    model = AutoModelForCausalLM.from_pretrained(staging, dtype=stored or "auto")
    _finalise_config(model, tokenizer)
    model.save_pretrained(model_dir, safe_serialization=True, max_shard_size=MAX_SHARD_SIZE)


def _save_merged(
    staging: Path, model_dir: Path, base: str, tokenizer: PreTrainedTokenizerBase
) -> None:
    from peft import PeftModel

    model = AutoModelForCausalLM.from_pretrained(base, dtype="auto")
    model = PeftModel.from_pretrained(model, staging).merge_and_unload()
    _finalise_config(model, tokenizer)
    model.save_pretrained(model_dir, safe_serialization=True, max_shard_size=MAX_SHARD_SIZE)


def _save_adapter(staging: Path, model_dir: Path, base: str) -> None:
    """Copies the adapter and names its base: on SageMaker the path the base was read from is a
    channel folder that is gone after the job, so the workflow passes where it came from."""
    for name in ADAPTER_FILES:
        shutil.copy2(staging / name, model_dir / name)
    adapter_config = model_dir / "adapter_config.json"
    settings = json.loads(adapter_config.read_text())
    settings["base_model_name_or_path"] = base
    adapter_config.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    reference = {
        "base_model_name_or_path": base,
        "note": "load the base, then peft.PeftModel.from_pretrained(base, this folder)",
    }
    (model_dir / BASE_REFERENCE_FILE).write_text(json.dumps(reference, indent=2) + "\n")


def write_metrics(metrics: dict[str, Any], *folders: str | Path | None) -> None:
    """Writes ``training_metrics.json`` into each given folder."""
    text = json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n"
    for folder in folders:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / METRICS_FILE).write_text(text)


SYSTEM_PROMPTS_FILE = "system_prompts.json"


def write_system_prompts(model_dir: Path) -> None:
    """Writes, beside the chat template, the system turn data preparation gave each record
    shape (``{schema}`` is a text-to-SQL record's context): a caller of the served model sends
    the same one, as evaluation does."""
    from chat_format import ADDED_SYSTEM_PROMPTS

    text = json.dumps({"added_by_preparation": ADDED_SYSTEM_PROMPTS}, indent=2) + "\n"
    (Path(model_dir) / SYSTEM_PROMPTS_FILE).write_text(text)
