"""train.py end to end on the tiny model: outputs, metric lines, adapter mode, clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from model_setup import resolve_precision
from safetensors.torch import load_file
from train import main
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

from contracts.metrics import METRIC_DEFINITIONS
from tests.training.helpers import sql_records, write_channel


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def test_lora_run_writes_a_merged_model_tokenizer_and_metrics(
    train_argv, tiny_model, tmp_path, capsys
):
    assert main(train_argv()) == 0
    out = tmp_path / "model"
    for name in ("model.safetensors", "config.json", "tokenizer.json", "chat_template.jinja"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "training_metrics.json").read_text())
    assert metrics["global_step"] == 4 and metrics["exported"] == "merged model"
    assert metrics["eval_loss"] > 0 and metrics["train_loss"] > 0
    assert metrics["attn_implementation"] == "sdpa_varlen" and metrics[
        "precision"
    ] == resolve_precision("auto")
    assert metrics["data"]["train"]["samples"] == 96
    assert (tmp_path / "output" / "training_metrics.json").is_file()
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("checkpoint-*")) == [
        "checkpoint-2",
        "checkpoint-4",
    ]

    # The merged weights moved away from the base; the model loads as a plain causal LM.
    base, merged = _weights(tiny_model), _weights(out)
    assert set(base) == set(merged)
    key = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.allclose(base[key], merged[key])
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.use_cache is True
    assert "sdpa_varlen" not in (out / "config.json").read_text()  # serving loads it as is
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(tiny_model).chat_template

    # Every metric SageMaker is told to scrape appears in the log, with a number.
    log = capsys.readouterr().out
    for definition in METRIC_DEFINITIONS:
        assert re.search(definition["Regex"], log), definition["Name"]
    steps = [int(m) for m in re.findall(r"\[metrics\] step=(\d+) (?:.* )?train_loss=", log)]
    assert steps == [1, 2, 3, 4]


class _Checkpointing(TrainerCallback):
    """Whether the model recomputes its layers once training starts."""

    seen: bool | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.seen = model.is_activation_checkpointing


def test_adapter_mode_writes_the_adapter_and_a_base_reference(train_argv, tiny_model, tmp_path):
    checkpointing = _Checkpointing()
    argv = train_argv(save_merged="false", max_steps=1, validation_dir="none")
    assert main(argv, extra_callbacks=(checkpointing,)) == 0
    assert checkpointing.seen is False  # the lora recipe keeps activations
    out = tmp_path / "model"
    assert (out / "adapter_model.safetensors").is_file()
    assert not (out / "model.safetensors").exists()
    reference = json.loads((out / "base_model.json").read_text())
    assert reference["base_model_name_or_path"] == str(tiny_model)
    assert "eval_loss" not in json.loads((out / "training_metrics.json").read_text())


def test_an_adapter_names_the_base_the_workflow_passes(train_argv, tmp_path):
    """On SageMaker the base is read from a channel folder that is gone after the job."""
    origin = "s3://data-bucket/models/tiny/"
    argv = train_argv(
        save_merged="false", max_steps=1, validation_dir="none", base_model_reference=origin
    )
    assert main(argv) == 0
    for name in ("base_model.json", "adapter_config.json"):
        written = json.loads((tmp_path / "model" / name).read_text())
        assert written["base_model_name_or_path"] == origin, name


def test_full_fine_tuning_with_gradient_checkpointing(train_argv, tiny_model, tmp_path):
    argv = train_argv(recipe="full", max_steps=2, learning_rate=1e-3, validation_dir="none")
    checkpointing = _Checkpointing()
    assert main(argv, extra_callbacks=(checkpointing,)) == 0
    assert checkpointing.seen is True  # the recipe's gradient_checkpointing reached the model
    merged, base = _weights(tmp_path / "model"), _weights(tiny_model)
    assert not torch.allclose(base["model.norm.weight"], merged["model.norm.weight"])


def test_full_fine_tuning_writes_the_base_precision_back(train_argv, tiny_model, tmp_path):
    """Training keeps fp32 master weights; a bf16 base comes back in bf16, not at twice the size."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tmp_path / "bf16-base"
    AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.bfloat16).save_pretrained(base)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(base)
    argv = train_argv(recipe="full", model_name_or_path=base, max_steps=1, validation_dir="none")
    assert main(argv) == 0
    written = _weights(tmp_path / "model")
    assert {tensor.dtype for tensor in written.values()} == {torch.bfloat16}
    assert json.loads((tmp_path / "model" / "config.json").read_text())["dtype"] == "bfloat16"


def test_a_sample_longer_than_the_maximum_fails_naming_file_and_line(train_argv, capsys):
    assert main(train_argv(max_seq_length=64)) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.search(r"train\.jsonl:1: sample has \d+ tokens, more than max_seq_length=64", error)


def test_truncation_on_lets_long_samples_through(train_argv, tmp_path):
    assert main(train_argv(max_seq_length=96, truncate="true", max_steps=1)) == 0
    data = json.loads((tmp_path / "model" / "training_metrics.json").read_text())["data"]
    assert data["train"]["truncated"] > 0


def test_an_empty_dataset_fails_clearly(train_argv, tmp_path, capsys):
    empty = write_channel(tmp_path / "empty", "train", [])
    assert main(train_argv(train_dir=empty)) == 1
    assert "is empty: no records to train on" in capsys.readouterr().err


def test_a_bad_line_in_a_channel_names_file_and_line(train_argv, tmp_path, capsys):
    folder = write_channel(tmp_path / "bad", "train", sql_records(2))
    with (folder / "train.jsonl").open("a") as handle:
        handle.write('{"messages": [{"role": "user", "content": "no answer"}]}\n')
    assert main(train_argv(train_dir=folder)) == 1
    assert "train.jsonl:3: field 'messages': must end with" in capsys.readouterr().err


def test_a_missing_channel_fails_naming_it(train_argv, tmp_path, capsys):
    assert main(train_argv(train_dir=tmp_path / "nowhere")) == 1
    assert "train channel folder" in capsys.readouterr().err


@pytest.mark.parametrize(("key", "value"), [("lora_r", "0"), ("no_such_key", "1")])
def test_bad_hyperparameters_exit_1_naming_the_key(train_argv, key, value, capsys):
    assert main([*train_argv(), f"--{key}", value]) == 1
    assert key in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_failure_is_written_where_sagemaker_reads_the_reason(
    train_argv, tmp_path, monkeypatch, capsys
):
    """Under torchrun the last stderr line is the launcher's summary; the file holds the error."""
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path / "output"))
    assert main([*train_argv(), "--lora_r", "0"]) == 1
    reason = (tmp_path / "output" / "failure").read_text().strip()
    assert reason == capsys.readouterr().err.strip().splitlines()[-1].removeprefix("error: ")
    assert reason.startswith("lora_r must be in [1, 65536]")


class _RecordLayerTypes(TrainerCallback):
    def __init__(self) -> None:
        self.types: set[str] = set()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.types = {type(module).__name__ for module in model.modules()}


def test_qlora_trains_a_4bit_nf4_base_and_exports_a_16bit_merge(train_argv, tiny_model, tmp_path):
    seen = _RecordLayerTypes()
    argv = train_argv(recipe="qlora", max_steps=1, warmup_ratio=0, validation_dir="none")
    assert main(argv, extra_callbacks=(seen,)) == 0
    assert "Linear4bit" in seen.types  # bitsandbytes' NF4 layers under the adapters
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert "quantization_config" not in config
    merged, base = _weights(tmp_path / "model"), _weights(tiny_model)
    key = "model.layers.1.mlp.down_proj.weight"
    assert merged[key].dtype == base[key].dtype and not torch.equal(merged[key], base[key])


def test_fsdp_wraps_decoder_layers_and_is_refused_on_cpu(train_argv, tiny_model, capsys):
    from trainer_args import fsdp_settings

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    settings = fsdp_settings(model)
    assert settings["fsdp"] is True
    assert settings["fsdp_config"]["transformer_layer_cls_to_wrap"] == ["LlamaDecoderLayer"]
    assert settings["fsdp_config"]["state_dict_type"] == "FULL_STATE_DICT"
    assert main(train_argv(fsdp="true")) == 1
    assert "fsdp=true needs GPUs" in capsys.readouterr().err
