"""Compiling each decoder layer with torch.compile, optionally recomputing inside it.

In eager mode a LoRA decoder layer is a few hundred small operators, each dispatched from
Python, with every intermediate kept for the backward: RMSNorm's fp32 copies, both SwiGLU
inputs and its product. ``torch.compile`` turns the layer into two graphs (before and after
attention, which stays eager: the CPU path splits rows per document) whose elementwise work
is fused, and its partitioner keeps for the backward only what is dear to recompute.
Compiled once with dynamic shapes, so packed rows of any length reuse the graphs.

``activation_memory_budget`` < 1 asks the partitioner to keep at most that fraction of the
activations a layer would save, recomputing the rest in the backward inside the same fused
kernels: gradient checkpointing's trade, without leaving the compiled graph. Gradient
checkpointing itself cannot be combined with compiled layers: under its saved-tensor hooks
the compiler falls back to eager execution (measured: identical loss bit for bit, no
compilation), so the combination is refused in favour of the budget.
"""

from __future__ import annotations

import os
import shutil

import torch
from config_values import ConfigError
from model_setup import decoder_layer_classes


def decoder_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's decoder layers (the unit FSDP wraps, too)."""
    names = set(decoder_layer_classes(model))
    return [module for module in model.modules() if type(module).__name__ in names]


def check_compiler() -> None:
    """Inductor builds C++ kernels on CPU: fail at start, not at the first step."""
    if torch.cuda.is_available():
        return
    candidates = [os.environ.get("CXX"), "g++", "c++", "clang++"]
    if not any(c and shutil.which(c) for c in candidates):
        raise ConfigError(
            "compile_layers=true on CPU needs a C++ compiler (g++ or clang++, or CXX set); "
            "install one or set compile_layers=false"
        )


def set_activation_memory_budget(budget: float) -> None:
    """The fraction of each compiled graph's activations kept for the backward."""
    from torch._functorch import config as functorch_config

    if not hasattr(functorch_config, "activation_memory_budget"):
        raise ConfigError(
            f"activation_memory_budget needs a newer PyTorch than {torch.__version__}"
        )
    functorch_config.activation_memory_budget = budget


def compile_decoder_layers(model: torch.nn.Module, activation_memory_budget: float = 1.0) -> int:
    """Compiles every decoder layer of ``model`` in place (parameter names do not change);
    returns how many. Compilation itself happens at the first forward."""
    layers = decoder_layers(model)
    if not layers:
        raise ConfigError(
            f"compile_layers: {type(model).__name__} does not name its decoder layers"
        )
    # Compiled graphs are cached by code, not by model: start afresh so the budget applies.
    torch._dynamo.reset()
    set_activation_memory_budget(activation_memory_budget)
    for layer in layers:
        layer.compile(dynamic=True)
    return len(layers)
