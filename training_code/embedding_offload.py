"""Keeping a frozen input embedding in host memory while training on a GPU, by flag.

An input embedding is a lookup: each step reads one row per token (2,048 rows of 8 KB for a
4,096-wide model) out of a table of the whole vocabulary (Llama-3's 128,256 rows: 1 GiB in
bf16). With LoRA or QLoRA the table is frozen, so it can stay in host memory: the step's token
ids go to the host, the lookup runs there, and the looked-up rows (16 MB per 2,048-token row)
come back to the GPU. That frees the table's GPU memory for activations, at the cost of two
small copies per step. Only untied embeddings qualify: a tied table is also the LM head's weight,
which the GPU multiplies by at every position. One process only: DDP and FSDP expect a model's
parameters on one device.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from config_values import ConfigError
from transformers import TrainerCallback

log = logging.getLogger(__name__)


def check_offload(config: Any, world_size: int) -> None:
    """Fails at start, naming the setting, where the embedding cannot be kept in host memory."""
    if not config.trainer.offload_input_embeddings:
        return
    if config.method.method == "full":
        raise ConfigError(
            "offload_input_embeddings=true needs a frozen embedding (method lora or qlora); "
            "full fine-tuning trains it"
        )
    if config.trainer.fsdp or world_size > 1:
        raise ConfigError(
            "offload_input_embeddings=true is for one process: DDP and FSDP expect every "
            f"parameter on one device (world size {world_size}, fsdp={config.trainer.fsdp})"
        )


def _tied(model: torch.nn.Module, embedding: torch.nn.Module) -> bool:
    output = model.get_output_embeddings()
    return output is not None and output.weight.data_ptr() == embedding.weight.data_ptr()


def offload_input_embeddings(model: torch.nn.Module, host: str = "cpu") -> int:
    """Moves ``model``'s frozen input embedding to ``host`` and routes its lookups there;
    returns the bytes freed on the model's device (0 where there is nothing to move)."""
    embedding = model.get_input_embeddings()
    weight = embedding.weight
    device = weight.device
    if weight.requires_grad:
        raise ConfigError("offload_input_embeddings=true: the input embedding is being trained")
    if device == torch.device(host):
        log.info("offload_input_embeddings: the input embedding is already in host memory")
        return 0
    if _tied(model, embedding):
        log.warning(
            "offload_input_embeddings: the input embedding is tied to the LM head; kept on %s",
            device,
        )
        return 0
    freed = weight.numel() * weight.element_size()
    embedding.to(host)

    # Both hooks follow the table: should a trainer move the whole model back (evaluation
    # placement, say), lookups simply run on the device again.
    def ids_to_table(module: torch.nn.Module, args: tuple) -> tuple:
        table = module.weight.device
        return tuple(a.to(table) if isinstance(a, torch.Tensor) else a for a in args)

    def rows_to_device(module: torch.nn.Module, args: tuple, output: torch.Tensor):
        return output.to(device, non_blocking=True)

    embedding.register_forward_pre_hook(ids_to_table)
    embedding.register_forward_hook(rows_to_device)
    return freed


class HostInputEmbeddings(TrainerCallback):
    """Offloads the input embedding once the trainer has placed the model, before step one."""

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        freed = offload_input_embeddings(model)
        if freed:
            log.info("input embedding kept in host memory: %.2f GiB freed", freed / 2**30)
