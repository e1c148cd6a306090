"""The start-up line that says which speed-ups run on this torch and why any fell back: on the
job image's torch 2.9.0 PyTorch's varlen kernel does not exist yet (it came in 2.10)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import attention_backends
import pytest
import torch
import train
from attention_backends import SDPA_VARLEN, attention_report


@pytest.fixture
def torch_2_9(monkeypatch):
    """torch 2.9.0 as the job image has it: no ``torch.nn.attention.varlen``."""
    monkeypatch.setattr(torch, "__version__", "2.9.0")
    monkeypatch.setattr(attention_backends, "_VARLEN_KERNEL", None)
    monkeypatch.setattr(attention_backends, "_VARLEN_IN_TORCH", False)


def test_on_torch_2_9_a_gpu_run_says_the_varlen_kernel_needs_2_10(torch_2_9):
    line = attention_report("auto", SDPA_VARLEN, half_precision=True, cuda=True)
    assert line.startswith("sdpa_varlen as causal SDPA once per document (fell back: ")
    assert "flash_attention_2, the flash-attn package is not installed" in line
    assert "PyTorch's varlen kernel, torch.nn.attention.varlen needs torch >= 2.10, " in line
    assert line.endswith("this is 2.9.0)")


def test_with_the_kernel_a_gpu_run_names_it(monkeypatch):
    monkeypatch.setattr(attention_backends, "_VARLEN_KERNEL", object())
    line = attention_report("sdpa_varlen", SDPA_VARLEN, half_precision=True, cuda=True)
    assert line == "sdpa_varlen with PyTorch's flash varlen kernel"


def test_flash_attention_and_explicit_choices_are_named():
    assert attention_report("auto", "flash_attention_2", half_precision=True, cuda=True) == (
        "flash_attention_2 (flash-attn, packed documents kept apart)"
    )
    assert attention_report("sdpa", "sdpa", half_precision=False, cuda=False) == (
        "sdpa (as configured)"
    )


def test_train_logs_one_line_with_torch_attention_and_liger(torch_2_9, monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = SimpleNamespace(
        model=SimpleNamespace(attn_implementation="auto"),
        trainer=SimpleNamespace(use_liger_kernel=True),
    )
    with caplog.at_level(logging.INFO, logger="train"):
        train.log_speed_ups(config, "fp32", SDPA_VARLEN)
    assert [record.getMessage() for record in caplog.records] == [
        "speed-ups on torch 2.9.0: attention sdpa_varlen as causal SDPA once per document "
        "(fell back: PyTorch's varlen kernel, no CUDA device); "
        "Liger kernels off (fell back: no CUDA device)"
    ]
