"""Loading the base model and tokenizer for training: precision, attention, 4-bit, adapters."""

from __future__ import annotations

import importlib.util
import logging
import os
from typing import Any

import torch
from attention_backends import choose_attention
from config_values import ConfigError
from train_config import MethodArgs, TrainConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

# Used only when a base model ships without a chat template (a base, not an instruct model):
# plain ChatML, so the template saved with the fine-tuned model is what serving applies.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Intel AMX, as on Sapphire Rapids
    and later Xeons); elsewhere bf16 is emulated and slower than fp32."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe and probe())
    except RuntimeError:
        return False


def resolve_precision(requested: str) -> str:
    """``auto`` -> bf16 on a GPU that has it, fp16 on an older GPU; on CPU, bf16 where the
    CPU has AMX (a 2-core Xeon trained SmolLM2 1.5x faster than in fp32), else fp32."""
    if requested != "auto":
        if requested == "fp16" and not torch.cuda.is_available():
            raise ConfigError("precision=fp16 needs a GPU; use fp32 or bf16 on CPU")
        return requested
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def load_tokenizer(path: str, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """The tokenizer with a pad token and a chat template."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except OSError as error:
        raise ConfigError(f"cannot load the tokenizer of {path!r}: {error}") from None
    if tokenizer.pad_token is None:
        # Packed rows have no padding and padded batches mask by attention, so eos is safe here.
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        log.warning("%s has no chat template: using ChatML", path)
        tokenizer.chat_template = CHATML_TEMPLATE
        if tokenizer.eos_token is None:
            tokenizer.eos_token = "<|im_end|>"
    return tokenizer


def _quantization_config(method: MethodArgs, compute_dtype: torch.dtype) -> Any:
    if method.method != "qlora":
        return None
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError("method=qlora needs the bitsandbytes package (see requirements.txt)")
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def load_model(config: TrainConfig, precision: str) -> Any:
    """The base model, ready for the trainer (adapters are added by it, after ``set_seed``)."""
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    # Adapters train in fp32 on a half-precision frozen base; full fine-tuning keeps fp32
    # master weights and lets autocast run the matmuls in half precision.
    dtype = half if half is not None and config.method.method != "full" else torch.float32
    quantization = _quantization_config(config.method, half or torch.float32)
    kwargs: dict[str, Any] = {
        "dtype": dtype,
        "attn_implementation": choose_attention(
            config.model.attn_implementation, half_precision=half is not None
        ),
        "trust_remote_code": config.model.trust_remote_code,
    }
    if quantization is not None:
        kwargs["quantization_config"] = quantization
        if torch.cuda.is_available():
            kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    log.info("loading %s with %s", config.model.model_name_or_path, kwargs)
    try:
        model = AutoModelForCausalLM.from_pretrained(config.model.model_name_or_path, **kwargs)
    except OSError as error:
        raise ConfigError(
            f"cannot load base model {config.model.model_name_or_path!r}: {error}. Pass a hub "
            "id the job can reach, or attach the weights as the 'model' channel"
        ) from None
    if quantization is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.trainer.gradient_checkpointing
        )
    model.config.use_cache = False  # no KV cache while training; re-enabled on export
    if config.trainer.use_liger_kernel:
        apply_liger(model)
    return model


def apply_liger(model: Any) -> bool:
    """Liger's fused RMSNorm/RoPE/SwiGLU kernels on GPU; skipped (with a log line) on CPU."""
    if not torch.cuda.is_available():
        log.warning("use_liger_kernel ignored: Liger kernels need a GPU")
        return False
    try:
        from liger_kernel.transformers import _apply_liger_kernel_to_instance
    except ImportError:
        raise ConfigError("use_liger_kernel=true needs the liger-kernel package") from None
    # The trainer already fuses the LM head with the loss; Liger's version would replace it.
    _apply_liger_kernel_to_instance(
        model=model, fused_linear_cross_entropy=False, cross_entropy=False
    )
    return True


def decoder_layer_classes(model: Any) -> list[str]:
    """The class names of ``model``'s decoder layers, which it names as not to be split (its
    ``_no_split_modules``, also found inside a PEFT wrapper): FSDP's and compilation's unit."""
    names: set[str] = set()
    for module in model.modules():
        names.update(getattr(module, "_no_split_modules", None) or [])
    return sorted(names)


def skip_adapter_input_casts(model: Any, precision: str) -> int:
    """Stops PEFT casting each LoRA layer's input to the adapter's fp32 before its matmuls.

    Under the trainer's bf16/fp16 autocast those matmuls run in half precision anyway, so the
    cast to fp32 and autocast's cast back are two full copies of every activation, forward
    and backward, that change nothing: the results are bit-identical without them
    (tests/training/test_adapter_casts.py). In fp32 there is nothing to skip. Returns the number
    of LoRA layers changed.
    """
    if precision not in ("bf16", "fp16"):
        return 0
    changed = 0
    for module in model.modules():
        if hasattr(module, "cast_input_dtype_enabled") and hasattr(module, "lora_A"):
            module.cast_input_dtype_enabled = False
            changed += 1
    return changed


def peft_config(method: MethodArgs) -> Any:
    """The LoRA configuration (None for full fine-tuning)."""
    if method.method == "full":
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=method.lora_r,
        lora_alpha=method.lora_alpha,
        lora_dropout=method.lora_dropout,
        target_modules=method.lora_target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )
