"""Fine-tuning configuration: four dataclasses, one flat namespace of keys.

Precedence is defaults < recipe YAML < command line. SageMaker passes every hyperparameter as
``--key value`` with the value as a string, so the same parser serves local runs and training
jobs. Recipes (``recipes/*.yaml``) have one section per dataclass (``model``, ``data``,
``method``, ``trainer``); on the command line the keys are flat because every key is unique.
Values are parsed and checked in one place (``config_values``); an unknown key or a bad value
fails with ``ConfigError`` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from config_values import ConfigError, check_choice, check_positive

METHODS = ("lora", "qlora", "full")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
ATTENTION = ("auto", "sdpa", "sdpa_varlen", "eager", "flash_attention_2", "flex_attention")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")

# Regexes for SageMaker MetricDefinitions; they match the lines train_callbacks prints, e.g.
# "[metrics] step=20 epoch=0.4 train_loss=1.2345 learning_rate=0.0002 tokens_per_second=150.2".
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
METRIC_DEFINITIONS: list[dict[str, str]] = [
    {"Name": "train:loss", "Regex": rf"\[metrics\].* train_loss={_NUMBER}"},
    {"Name": "validation:loss", "Regex": rf"\[metrics\].* eval_loss={_NUMBER}"},
    {"Name": "train:learning_rate", "Regex": rf"\[metrics\].* learning_rate={_NUMBER}"},
    {"Name": "train:tokens_per_second", "Regex": rf"\[metrics\].* tokens_per_second={_NUMBER}"},
    {"Name": "train:epoch", "Regex": rf"\[metrics\].* epoch={_NUMBER}"},
]


@dataclass
class ModelArgs:
    """The base model and how it is loaded."""

    model_name_or_path: str = field(
        default="HuggingFaceTB/SmolLM2-135M-Instruct",
        metadata={"help": "Hub id or directory; the 'model' channel (SM_CHANNEL_MODEL) wins."},
    )
    attn_implementation: str = field(
        default="auto",
        metadata={"help": "auto = flash_attention_2 on GPU if installed, else sdpa_varlen."},
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
        check_choice("attn_implementation", self.attn_implementation, ATTENTION)


@dataclass
class DataArgs:
    """Where the prepared channels are and how samples become training rows."""

    train_dir: str | None = field(
        default=None, metadata={"help": "Folder with train.jsonl (default: SM_CHANNEL_TRAIN)."}
    )
    validation_dir: str | None = field(
        default=None, metadata={"help": "Folder with validation.jsonl (SM_CHANNEL_VALIDATION)."}
    )
    max_seq_length: int = field(default=1024, metadata={"help": "Tokens per (packed) row."})
    packing: bool = field(default=True, metadata={"help": "Padding-free packing (per-document)."})
    truncate: bool = field(
        default=False, metadata={"help": "Cut samples longer than max_seq_length (else fail)."}
    )
    assistant_only_loss: bool = field(default=True, metadata={"help": "Loss on assistant tokens."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use the first N."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use the first N."})

    def __post_init__(self) -> None:
        check_positive("max_seq_length", self.max_seq_length, minimum=16)
        for name in ("max_train_samples", "max_eval_samples"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))


@dataclass
class MethodArgs:
    """LoRA, QLoRA (4-bit NF4 base) or full fine-tuning, and what is written at the end."""

    method: str = field(default="lora", metadata={"help": "lora | qlora | full"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator."})
    lora_dropout: float = field(default=0.0, metadata={"help": "Dropout on the LoRA input."})
    lora_target_modules: list[str] | str = field(
        default="all-linear", metadata={"help": "'all-linear' or a list of module names."}
    )
    save_merged: bool = field(
        default=True, metadata={"help": "Merge the adapter into the base (else adapter + ref)."}
    )

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_positive("lora_r", self.lora_r)
        check_positive("lora_alpha", self.lora_alpha)
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
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
    seed: int = field(default=42, metadata={"help": "Seed for data order, LoRA init, dropout."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs (max_steps wins)."})
    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps; -1 = use epochs."})
    per_device_train_batch_size: int = field(default=1, metadata={"help": "Rows per step."})
    per_device_eval_batch_size: int = field(default=1, metadata={"help": "Rows per eval step."})
    gradient_accumulation_steps: int = field(default=4, metadata={"help": "Micro-steps/step."})
    learning_rate: float = field(default=2e-4, metadata={"help": "Peak learning rate."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "Decay after warm-up."})
    warmup_ratio: float = field(default=0.03, metadata={"help": "Fraction of steps warming up."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping."})
    logging_steps: int = field(default=10, metadata={"help": "Steps between metric lines."})
    save_steps: int = field(default=50, metadata={"help": "Steps between checkpoints."})
    save_total_limit: int = field(default=2, metadata={"help": "Checkpoints kept."})
    eval_steps: int | None = field(
        default=None, metadata={"help": "Steps between evaluations (None: at the end only)."}
    )
    eval_on_start: bool = field(
        default=False, metadata={"help": "Evaluate the base model first (a baseline loss)."}
    )
    precision: str = field(
        default="auto", metadata={"help": "auto = bf16 on GPU or AMX CPU, else fp32."}
    )
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Recompute acts."})
    use_liger_kernel: bool = field(default=False, metadata={"help": "Liger kernels (GPU only)."})
    fused_lora: bool = field(default=True, metadata={"help": "One addmm per LoRA update."})
    compile_layers: bool = field(
        default=False, metadata={"help": "torch.compile each decoder layer."}
    )
    activation_memory_budget: float = field(
        default=1.0, metadata={"help": "With compile_layers: activations kept (0-1)."}
    )
    offload_input_embeddings: bool = field(
        default=False, metadata={"help": "Frozen input embedding in host memory (one GPU)."}
    )
    fsdp: bool = field(default=False, metadata={"help": "FSDP full shard (multi-GPU)."})
    dataloader_num_workers: int = field(default=0, metadata={"help": "Loader processes."})

    def __post_init__(self) -> None:
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("lr_scheduler_type", self.lr_scheduler_type, SCHEDULERS)
        check_positive("learning_rate", self.learning_rate)
        for name in (
            "per_device_train_batch_size",
            "per_device_eval_batch_size",
            "gradient_accumulation_steps",
            "logging_steps",
            "save_steps",
            "save_total_limit",
        ):
            check_positive(name, getattr(self, name))
        if self.eval_steps is not None:
            check_positive("eval_steps", self.eval_steps)
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            raise ConfigError("set num_train_epochs > 0 or max_steps > 0")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if not 0.0 <= self.activation_memory_budget <= 1.0:
            raise ConfigError(
                f"activation_memory_budget must be in [0, 1], got {self.activation_memory_budget}"
            )
        if self.activation_memory_budget < 1.0 and not self.compile_layers:
            raise ConfigError("activation_memory_budget < 1 needs compile_layers=true")
        if self.compile_layers and self.gradient_checkpointing:
            raise ConfigError(
                "compile_layers=true and gradient_checkpointing=true: the compiler runs "
                "checkpointed layers eagerly; set gradient_checkpointing=false and lower "
                "activation_memory_budget instead"
            )
        if self.dataloader_num_workers < 0:
            raise ConfigError("dataloader_num_workers must be >= 0")


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
