"""model_export: the weights are written in shards the workflow can copy with CopyObject."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import model_export
import pytest
from config_loader import build_config
from model_export import MAX_SHARD_SIZE, export_model
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from transformers.utils.hub import convert_file_size_to_int

from tests.training.helpers import lora_model

# S3 CopyObject copies objects of up to 5 GB ("You create a copy of your object up to 5 GB in
# size in a single atomic action using this API", botocore's s3 model and
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html); the smaller reading of
# "GB" is taken.
COPY_OBJECT_LIMIT = 5 * 10**9


class _Trainer:
    """What export_model uses of a trainer: the staged model and whether this is rank 0."""

    def __init__(self, write) -> None:
        self.write = write

    def save_model(self, folder: str) -> None:
        self.write(Path(folder))

    def is_world_process_zero(self) -> bool:
        return True


def _stage_full(tiny_model: Path):
    return lambda folder: shutil.copytree(tiny_model, folder, dirs_exist_ok=True)


def _stage_lora(tiny_model: Path):
    return lambda folder: lora_model(
        AutoModelForCausalLM.from_pretrained(tiny_model)
    ).save_pretrained(folder)


def test_the_shard_size_is_within_copy_objects_limit():
    assert convert_file_size_to_int(MAX_SHARD_SIZE) <= COPY_OBJECT_LIMIT


@pytest.mark.parametrize(
    ("recipe", "stage", "kind"),
    [
        ("full", _stage_full, "full model"),
        ("lora", _stage_lora, "merged model"),
    ],
)
def test_every_model_export_writes_shards_copy_object_can_copy(
    recipe, stage, kind, tiny_model, tmp_path, monkeypatch
):
    default = inspect.signature(PreTrainedModel.save_pretrained).parameters["max_shard_size"]
    assert convert_file_size_to_int(default.default) > COPY_OBJECT_LIMIT  # why it is passed
    asked: list[int] = []
    save = PreTrainedModel.save_pretrained

    def recording(self, folder, *args, **kwargs):
        asked.append(convert_file_size_to_int(kwargs.get("max_shard_size", default.default)))
        return save(self, folder, *args, **kwargs)

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", recording)
    config = build_config(["--recipe", recipe, "--model_name_or_path", str(tiny_model)])
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    out = tmp_path / "model"
    assert export_model(_Trainer(stage(tiny_model)), config, tokenizer, out) == kind
    assert asked and all(size <= COPY_OBJECT_LIMIT for size in asked), asked
    assert (out / "model.safetensors").is_file()


def test_a_small_shard_size_splits_the_weights(tiny_model, tmp_path, monkeypatch):
    """The constant is what the export writes by: at 1 MB the tiny model needs several shards,
    each within it unless it holds a single larger tensor."""
    from safetensors import safe_open

    monkeypatch.setattr(model_export, "MAX_SHARD_SIZE", "1MB")
    config = build_config(["--recipe", "full", "--model_name_or_path", str(tiny_model)])
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    out = tmp_path / "model"
    export_model(_Trainer(_stage_full(tiny_model)), config, tokenizer, out)
    shards = sorted(out.glob("model-*.safetensors"))
    assert len(shards) > 1 and (out / "model.safetensors.index.json").is_file()
    for shard in shards:
        with safe_open(shard, "pt") as weights:
            tensors = len(list(weights.keys()))
        assert shard.stat().st_size <= 10**6 or tensors == 1, shard.name
