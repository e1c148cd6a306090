"""``TrainConfig`` -> TRL ``SFTConfig``: every trainer setting is decided here, in one place."""

from __future__ import annotations

from typing import Any

import torch
from config_values import ConfigError
from model_setup import decoder_layer_classes
from train_config import TrainConfig
from trl import SFTConfig


def fsdp_settings(model: Any) -> dict[str, Any]:
    """FSDP2 full sharding, wrapped at the model's decoder layers."""
    layers = decoder_layer_classes(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} does not name its decoder layers for FSDP")
    return {
        "fsdp": True,
        "fsdp_config": {
            "version": 2,
            "reshard_after_forward": True,  # full shard: parameters too, not only gradients
            "transformer_layer_cls_to_wrap": layers,
            # The export reloads the adapter on rank 0, so it needs the whole state dict there.
            "state_dict_type": "FULL_STATE_DICT",
        },
    }


def sft_config(config: TrainConfig, precision: str, model: Any, has_validation: bool) -> SFTConfig:
    """The trainer arguments for this run."""
    trainer, data = config.trainer, config.data
    cuda = torch.cuda.is_available()
    evaluate = has_validation and (trainer.eval_steps is not None or trainer.eval_on_start)
    if trainer.fsdp and not cuda:
        # accelerate shards only CUDA models; on CPU it would silently run plain DDP instead.
        raise ConfigError("fsdp=true needs GPUs; leave it off to train with DDP on CPU")
    extra = fsdp_settings(model) if trainer.fsdp else {}
    return SFTConfig(
        output_dir=trainer.checkpoint_dir,
        seed=trainer.seed,
        data_seed=trainer.seed,
        num_train_epochs=trainer.num_train_epochs,
        max_steps=trainer.max_steps,
        per_device_train_batch_size=trainer.per_device_train_batch_size,
        per_device_eval_batch_size=trainer.per_device_eval_batch_size,
        gradient_accumulation_steps=trainer.gradient_accumulation_steps,
        learning_rate=trainer.learning_rate,
        lr_scheduler_type=trainer.lr_scheduler_type,
        warmup_steps=trainer.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=trainer.weight_decay,
        max_grad_norm=trainer.max_grad_norm,
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        logging_steps=trainer.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=trainer.save_steps,
        save_total_limit=trainer.save_total_limit,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=(trainer.eval_steps or 10**9) if evaluate else None,  # 10**9: only at start
        eval_on_start=trainer.eval_on_start and has_validation,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        tf32=True if cuda else None,
        use_cpu=not cuda,
        activation_checkpointing=trainer.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        dataloader_num_workers=trainer.dataloader_num_workers,
        ddp_find_unused_parameters=False,  # every trainable parameter is used in every step
        report_to="none",
        disable_tqdm=True,  # progress goes out as metric lines, which read well in CloudWatch
        # The datasets arrive tokenized with labels; TRL packs them (best-fit decreasing, whole
        # samples per row) and its padding-free collator emits per-document position ids.
        max_length=data.max_seq_length,
        packing=data.packing,
        packing_strategy="bfd",
        padding_free=data.packing,
        eval_packing=data.packing,
        completion_only_loss=False,
        assistant_only_loss=False,
        **extra,
    )
