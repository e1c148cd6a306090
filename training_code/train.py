"""Supervised fine-tuning entry point: the same script on SageMaker, under torchrun and locally.

Local runs (paths on the command line; hyperparameters as SageMaker passes them)::

    python train.py --recipe lora --train_dir data/train --validation_dir data/validation \\
        --model_name_or_path path/to/model --model_dir out/model --checkpoint_dir out/ckpt
    torchrun --nproc_per_node=2 train.py --recipe lora ...   # DDP (gloo on CPU)
    python train.py --help                                   # every key, by section

In a training job the toolkit runs ``python train.py --key value ...`` with SM_CHANNEL_TRAIN,
SM_CHANNEL_VALIDATION, SM_CHANNEL_MODEL (optional), SM_MODEL_DIR and SM_OUTPUT_DATA_DIR set;
see docs/training.md for the whole contract. Training resumes from the newest checkpoint in
``--checkpoint_dir`` (default /opt/ml/checkpoints, which SageMaker syncs with S3).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import container_env
import distributed_launch
from checkpoints import newest_checkpoint
from config_loader import build_config, describe
from config_values import ConfigError
from sft_tokenize import SampleTooLongError

log = logging.getLogger("train")
EXIT_INTERRUPTED = 143  # 128 + SIGTERM: the job was stopped; a checkpoint was saved


def _datasets(config: Any, tokenizer: Any) -> tuple[Any, Any, dict[str, Any]]:
    from sft_dataset import build_dataset

    data = config.data
    options = {
        "max_length": data.max_seq_length,
        "truncate": data.truncate,
        "assistant_only_loss": data.assistant_only_loss,
    }
    train_file = container_env.data_file(data.train_dir, container_env.TRAIN_FILE, "train")
    train, summary = build_dataset(tokenizer, train_file, limit=data.max_train_samples, **options)
    stats = {"train": vars(summary)}
    validation = None
    if data.validation_dir:
        path = container_env.data_file(
            data.validation_dir, container_env.VALIDATION_FILE, "validation"
        )
        validation, eval_summary = build_dataset(
            tokenizer, path, limit=data.max_eval_samples, **options
        )
        stats["validation"] = vars(eval_summary)
    return train, validation, stats


def run(config: Any, extra_callbacks: tuple = ()) -> int:
    """Trains and exports; returns the process exit code."""
    import torch
    from lm_head_compaction import score_labelled_positions_only
    from model_export import export_model, write_metrics
    from model_setup import load_model, load_tokenizer, peft_config, resolve_precision
    from train_callbacks import MetricLines, StopOnSignal
    from trainer_args import sft_config
    from transformers import PrinterCallback, set_seed
    from trl import SFTTrainer

    precision = resolve_precision(config.trainer.precision)
    set_seed(config.trainer.seed)  # before the model and the adapters are created
    tokenizer = load_tokenizer(config.model.model_name_or_path, config.model.trust_remote_code)
    train, validation, data_stats = _datasets(config, tokenizer)
    log.info("data: %s", data_stats)
    model = load_model(config, precision)
    score_labelled_positions_only()
    metric_lines, stopper = MetricLines(), StopOnSignal()
    trainer = SFTTrainer(
        model=model,
        args=sft_config(config, precision, model, has_validation=validation is not None),
        train_dataset=train,
        eval_dataset=validation,
        processing_class=tokenizer,
        peft_config=peft_config(config.method),
        callbacks=[metric_lines, *extra_callbacks, stopper],
    )
    trainer.remove_callback(PrinterCallback)  # the metric lines replace its dict dumps
    resume = newest_checkpoint(config.trainer.checkpoint_dir) if config.trainer.resume else None
    log.info("resuming from %s", resume or "nothing: starting at step 0")
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if stopper.interrupted:
        return EXIT_INTERRUPTED
    metrics: dict[str, Any] = {
        "train_loss": result.training_loss,
        "global_step": result.global_step,
        "train_seconds": time.perf_counter() - started,
        "resumed_from": str(resume) if resume else None,
        "precision": precision,
        "attn_implementation": model.config._attn_implementation,
        "world_size": distributed_launch.world_size(),
        "data": data_stats,
        "log_history": metric_lines.history,
        "config": config.as_dict(),
    }
    if validation is not None:
        metrics.update(trainer.evaluate())
    if torch.cuda.is_available():
        metrics["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    model_dir = Path(config.trainer.model_dir)
    metrics["exported"] = export_model(trainer, config, tokenizer, model_dir)
    if trainer.is_world_process_zero():
        write_metrics(metrics, model_dir, config.trainer.output_data_dir)
        summary = {k: metrics.get(k) for k in ("train_loss", "eval_loss", "global_step")}
        print(
            f"[metrics] step={result.global_step} "
            + " ".join(f"final_{k}={v:.6g}" for k, v in summary.items() if isinstance(v, float)),
            flush=True,
        )
        print(f"done: {metrics['exported']} in {model_dir} ({summary})", flush=True)
    return 0


def main(argv: list[str] | None = None, extra_callbacks: tuple = ()) -> int:
    """Parses the arguments, relaunches under torchrun if needed, trains; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(describe())
        return 0
    logging.basicConfig(
        level=logging.INFO if distributed_launch.rank() == 0 else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    env = container_env.ContainerEnv.from_environ()
    distributed_launch.relaunch_if_needed(env, argv, os.path.abspath(__file__))
    try:
        config = container_env.resolve_paths(build_config(argv), env)
        return run(config, extra_callbacks)
    except (ConfigError, SampleTooLongError) as error:
        # The last line on stderr is what SageMaker and the local cloud report as the reason.
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
