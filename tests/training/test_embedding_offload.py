"""The input embedding kept in host memory: where it is refused, where it is left alone, and on
a GPU, the same loss and gradients with the table's memory freed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from config_loader import build_config
from config_values import ConfigError
from embedding_offload import check_offload, offload_input_embeddings
from transformers import AutoModelForCausalLM, LlamaConfig

from tests.training.helpers import lora_model

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def untied_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama with its own LM head (as Llama-3.1-8B has), saved beside its tokenizer."""
    config = LlamaConfig.from_pretrained(tiny_model)
    config.tie_word_embeddings = False
    torch.manual_seed(0)
    target = tmp_path_factory.mktemp("untied")
    AutoModelForCausalLM.from_config(config).save_pretrained(target)
    for source in tiny_model.iterdir():  # tokenizer, chat template
        if not (target / source.name).exists():
            (target / source.name).write_bytes(source.read_bytes())
    return target


def _lora(model_dir: Path, device: str) -> torch.nn.Module:
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device)
    return lora_model(base)


@pytest.mark.parametrize(
    ("argv", "world_size", "message"),
    [
        (["--recipe", "full"], 1, "needs a frozen embedding"),
        (["--recipe", "lora"], 2, "is for one process"),
    ],
)
def test_refused_where_it_cannot_work(argv, world_size, message):
    config = build_config([*argv, "--offload_input_embeddings", "true"])
    with pytest.raises(ConfigError, match=message):
        check_offload(config, world_size)
    check_offload(build_config(argv), world_size)  # off: nothing to check


def test_tied_or_trained_embeddings_stay(tiny_model: Path, untied_model: Path, caplog):
    caplog.set_level(logging.INFO, logger="embedding_offload")
    # "meta" stands in for a host other than the model's device; nothing is moved to it.
    tied = _lora(tiny_model, "cpu")
    assert offload_input_embeddings(tied, host="meta") == 0
    assert tied.get_input_embeddings().weight.device.type == "cpu"
    assert "tied to the LM head" in caplog.text
    trained = _lora(untied_model, "cpu")
    trained.get_input_embeddings().weight.requires_grad_(True)
    with pytest.raises(ConfigError, match="input embedding is being trained"):
        offload_input_embeddings(trained, host="meta")
    assert offload_input_embeddings(_lora(untied_model, "cpu")) == 0  # already in host memory


def test_train_py_accepts_the_flag_on_cpu(train_argv, caplog):
    import train

    caplog.set_level(logging.INFO, logger="embedding_offload")
    argv = train_argv(offload_input_embeddings="true", max_steps=1, validation_dir=None)
    assert train.main(argv) == 0
    assert "already in host memory" in caplog.text


def _loss_and_grads(model: torch.nn.Module, ids: torch.Tensor) -> tuple[float, dict]:
    model.zero_grad()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return loss.item(), grads


@needs_cuda
def test_on_a_gpu_the_table_moves_and_nothing_else_changes(untied_model: Path):
    model = _lora(untied_model, "cuda")
    ids = torch.randint(0, model.config.vocab_size, (1, 64), device="cuda")
    expected = _loss_and_grads(model, ids)
    table = model.get_input_embeddings().weight
    before = torch.cuda.memory_allocated()
    freed = offload_input_embeddings(model)
    assert freed == table.numel() * table.element_size()
    assert torch.cuda.memory_allocated() <= before - freed
    assert model.get_input_embeddings().weight.device.type == "cpu"
    assert model.get_output_embeddings().weight.device.type == "cuda"
    actual = _loss_and_grads(model, ids)
    assert actual[0] == pytest.approx(expected[0], rel=1e-6)
    for name, grad in expected[1].items():
        torch.testing.assert_close(actual[1][name], grad)


@needs_cuda
def test_train_py_frees_the_table_on_a_gpu(untied_model, train_argv, caplog):
    import train

    caplog.set_level(logging.INFO, logger="embedding_offload")
    argv = train_argv(
        model_name_or_path=untied_model,
        offload_input_embeddings="true",
        max_steps=2,
        validation_dir=None,
    )
    assert train.main(argv) == 0
    assert "input embedding kept in host memory" in caplog.text
