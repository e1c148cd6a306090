"""Fine-tuning configuration: four dataclasses, one flat namespace of keys.

Precedence is defaults < recipe YAML < command line. SageMaker passes every hyperparameter as
``--key value`` with the value as a string, so the same parser serves local runs and training
jobs. Recipes (``recipes/*.yaml``) have one section per dataclass (``model``, ``data``,
``method``, ``trainer``); on the command line the keys are flat because every key is unique.
Values are parsed and checked in one place (``config_values``); an unknown key or a bad value
fails with ``ConfigError`` naming the key.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from typing import Any

from config_values import ConfigError, Limits, check_limits, convert

from contracts.workflow import RECIPES as METHODS

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
ATTENTION = ("auto", "sdpa", "sdpa_varlen", "eager", "flash_attention_2", "flex_attention")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")

# Upper bounds no real run reaches, so that a slip (a batch size of 1e18, max_seq_length 1e12)
# fails when the run starts, not in the middle of tokenizing or allocating.
MAX_SEQ_LENGTH = 2**20
MAX_COUNT = 2**16
# transformers' set_seed seeds NumPy too, whose seed "must be between 0 and 2**32 - 1" (its
# ValueError for any other value).
MAX_SEED = 2**32 - 1
AT_LEAST_1 = Limits(low=1)
ABOVE_0 = Limits(low=0, low_open=True)
NOT_NEGATIVE = Limits(low=0)
FRACTION = Limits(low=0, high=1, high_open=True)
A_COUNT = Limits(low=1, high=MAX_COUNT)


def _setting(default: Any, help_text: str, limits: Limits | None = None) -> Any:
    """A dataclass field with its ``--help`` text and, when it has them, its limits."""
    metadata: dict[str, Any] = {"help": help_text}
    if limits is not None:
        metadata["limits"] = limits
    return field(default=default, metadata=metadata)


@dataclass
class ModelArgs:
    """The base model and how it is loaded."""

    model_name_or_path: str = field(
        default="HuggingFaceTB/SmolLM2-135M-Instruct",
        metadata={"help": "Hub id or directory; the 'model' channel (SM_CHANNEL_MODEL) wins."},
    )
    attn_implementation: str = _setting(
        "auto",
        "auto = flash_attention_2 on GPU if installed, else sdpa_varlen.",
        Limits(choices=ATTENTION),
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Run model code from hub."})
    base_model_reference: str | None = field(
        default=None,
        metadata={
            "help": "The base an adapter export names (default: model_name_or_path); the "
            "workflow passes the S3 prefix the model channel came from."
        },
    )

    def __post_init__(self) -> None:
        check_limits(self)


@dataclass
class DataArgs:
    """Where the prepared channels are and how samples become training rows."""

    train_dir: str | None = field(
        default=None, metadata={"help": "Folder with train.jsonl (default: SM_CHANNEL_TRAIN)."}
    )
    validation_dir: str | None = field(
        default=None, metadata={"help": "Folder with validation.jsonl (SM_CHANNEL_VALIDATION)."}
    )
    max_seq_length: int = _setting(
        1024, "Tokens per (packed) row.", Limits(low=16, high=MAX_SEQ_LENGTH)
    )
    packing: bool = field(default=True, metadata={"help": "Padding-free packing (per-document)."})
    truncate: bool = field(
        default=False, metadata={"help": "Cut samples longer than max_seq_length (else fail)."}
    )
    assistant_only_loss: bool = field(default=True, metadata={"help": "Loss on assistant tokens."})
    max_train_samples: int | None = _setting(None, "Use the first N.", AT_LEAST_1)
    max_eval_samples: int | None = _setting(None, "Use the first N.", AT_LEAST_1)

    def __post_init__(self) -> None:
        check_limits(self)


@dataclass
class MethodArgs:
    """LoRA, QLoRA (4-bit NF4 base) or full fine-tuning, and what is written at the end."""

    method: str = _setting("lora", "lora | qlora | full", Limits(choices=METHODS))
    lora_r: int = _setting(16, "LoRA rank.", A_COUNT)
    lora_alpha: int = _setting(32, "LoRA scaling numerator.", AT_LEAST_1)
    lora_dropout: float = _setting(0.0, "Dropout on the LoRA input.", FRACTION)
    lora_target_modules: list[str] | str = field(
        default="all-linear", metadata={"help": "'all-linear' or a list of module names."}
    )
    save_merged: bool = field(
        default=True, metadata={"help": "Merge the adapter into the base (else adapter + ref)."}
    )

    def __post_init__(self) -> None:
        check_limits(self)
        if isinstance(self.lora_target_modules, list) and not self.lora_target_modules:
            raise ConfigError("lora_target_modules must name at least one module")


@dataclass
class TrainerArgs:
    """Optimisation, precision, checkpoints and outputs."""

    checkpoint_dir: str = field(
        default="/opt/ml/checkpoints", metadata={"help": "Checkpoints; resumed from the newest."}
    )
    model_dir: str | None = field(default=None, metadata={"help": "Output (SM_MODEL_DIR)."})
    output_data_dir: str | None = field(
        default=None, metadata={"help": "Extra outputs (SM_OUTPUT_DATA_DIR)."}
    )
    resume: bool = field(default=True, metadata={"help": "Resume from the newest checkpoint."})
    seed: int = _setting(
        42, "Seed for data order, LoRA init, dropout.", Limits(low=0, high=MAX_SEED)
    )
    num_train_epochs: float = _setting(1.0, "Epochs (max_steps wins).", NOT_NEGATIVE)
    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps; -1 = use epochs."})
    per_device_train_batch_size: int = _setting(1, "Rows per step.", A_COUNT)
    per_device_eval_batch_size: int = _setting(1, "Rows per eval step.", A_COUNT)
    gradient_accumulation_steps: int = _setting(4, "Micro-steps/step.", A_COUNT)
    learning_rate: float = _setting(2e-4, "Peak learning rate.", ABOVE_0)
    lr_scheduler_type: str = _setting("cosine", "Decay after warm-up.", Limits(choices=SCHEDULERS))
    warmup_ratio: float = _setting(0.03, "Fraction of steps warming up.", FRACTION)
    weight_decay: float = _setting(0.0, "AdamW weight decay.", NOT_NEGATIVE)
    max_grad_norm: float = _setting(1.0, "Gradient clipping (0: none).", NOT_NEGATIVE)
    logging_steps: int = _setting(10, "Steps between metric lines.", AT_LEAST_1)
    save_steps: int = _setting(50, "Steps between checkpoints.", AT_LEAST_1)
    save_total_limit: int = _setting(2, "Checkpoints kept.", AT_LEAST_1)
    eval_steps: int | None = _setting(
        None, "Steps between evaluations (None: at the end only).", AT_LEAST_1
    )
    eval_on_start: bool = field(
        default=False, metadata={"help": "Evaluate the base model first (a baseline loss)."}
    )
    precision: str = _setting(
        "auto", "auto = bf16 on GPU or AMX CPU, else fp32.", Limits(choices=PRECISIONS)
    )
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Recompute acts."})
    use_liger_kernel: bool = field(default=False, metadata={"help": "Liger kernels (GPU only)."})
    fused_lora: bool = field(default=True, metadata={"help": "One addmm per LoRA update."})
    compile_layers: bool = field(
        default=False, metadata={"help": "torch.compile each decoder layer."}
    )
    activation_memory_budget: float = _setting(
        1.0, "With compile_layers: activations kept (0-1).", Limits(low=0, high=1)
    )
    offload_input_embeddings: bool = field(
        default=False, metadata={"help": "Frozen input embedding in host memory (one GPU)."}
    )
    fsdp: bool = field(default=False, metadata={"help": "FSDP full shard (multi-GPU)."})
    dataloader_num_workers: int = _setting(0, "Loader processes.", NOT_NEGATIVE)

    def __post_init__(self) -> None:
        check_limits(self)
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            raise ConfigError("set num_train_epochs > 0 or max_steps > 0")
        if self.activation_memory_budget < 1.0 and not self.compile_layers:
            raise ConfigError("activation_memory_budget < 1 needs compile_layers=true")
        if self.compile_layers and self.gradient_checkpointing:
            raise ConfigError(
                "compile_layers=true and gradient_checkpointing=true: the compiler runs "
                "checkpointed layers eagerly; set gradient_checkpointing=false and lower "
                "activation_memory_budget instead"
            )


SECTIONS: dict[str, type] = {
    "model": ModelArgs,
    "data": DataArgs,
    "method": MethodArgs,
    "trainer": TrainerArgs,
}


@dataclass
class TrainConfig:
    """The whole configuration of one run."""

    model: ModelArgs
    data: DataArgs
    method: MethodArgs
    trainer: TrainerArgs
    recipe: str | None = None

    def as_dict(self) -> dict[str, dict]:
        """Section -> key -> value, the shape of a recipe file (written with the outputs)."""
        return {
            name: {f.name: getattr(getattr(self, name), f.name) for f in fields(cls)}
            for name, cls in SECTIONS.items()
        }


def key_sections() -> dict[str, str]:
    """Every accepted key mapped to its section name (keys are unique across sections)."""
    return {f.name: section for section, cls in SECTIONS.items() for f in fields(cls)}


def check_setting(name: str, raw: Any) -> Any:
    """One setting's value as train.py reads ``--name raw``, its type, range and choices checked.

    The checks that involve two settings (``max_steps`` with ``num_train_epochs``,
    ``activation_memory_budget`` with ``compile_layers``) need the whole configuration, recipe
    included, and stay with the dataclasses.

    Raises:
        KeyError: ``name`` is no setting.
        ConfigError: the value train.py would refuse, the message starting with ``name``.
    """
    cls = SECTIONS[key_sections()[name]]
    declared = next(f for f in fields(cls) if f.name == name)
    value = convert(name, raw, typing.get_type_hints(cls)[name])
    limits = declared.metadata.get("limits")
    if limits is not None and value is not None:
        limits.check(name, value)
    return value
