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
from checkpoints import check_same_run, checkpoint_step, newest_checkpoint, record_run, run_identity
from config_loader import build_config, describe
from config_values import ConfigError
from sft_tokenize import SampleTooLongError

log = logging.getLogger("train")
# How long an idle OpenMP thread spins for the next parallel region before it sleeps: about a
# millisecond (GNU OpenMP, which PyTorch uses, spins ~100k times per ms). A CPU step is
# thousands of small kernels back to back; threads that sleep between them
# (OMP_WAIT_POLICY=PASSIVE) made SmolLM2 LoRA training 1.16-1.36x slower on a 2-core Xeon, while
# a bound on the spin leaves the cores to other processes within a millisecond of the last kernel.
OPENMP_SPIN = {"GOMP_SPINCOUNT": "100000"}


def set_openmp_waits(environ: dict[str, str] | os._Environ = os.environ) -> None:
    """Sets ``OPENMP_SPIN`` unless the environment already chose a wait policy. Takes effect
    only before torch loads its OpenMP runtime (train.py calls it on import)."""
    if "OMP_WAIT_POLICY" not in environ and "GOMP_SPINCOUNT" not in environ:
        environ.update(OPENMP_SPIN)


set_openmp_waits()
EXIT_INTERRUPTED = 143  # 128 + SIGTERM: the job was stopped; a checkpoint was saved


def _trainer(config: Any, extra_callbacks: tuple) -> tuple[Any, Any, dict[str, Any]]:
    """The SFTTrainer for this run; also returns the validation set, tokenizer and data stats."""
    from embedding_offload import HostInputEmbeddings, check_offload
    from layer_compile import check_compiler, compile_decoder_layers
    from lm_head_compaction import score_labelled_positions_only
    from lora_fusion import fuse_lora_updates
    from model_setup import (
        load_model,
        load_tokenizer,
        peft_config,
        resolve_precision,
        skip_adapter_input_casts,
    )
    from sft_dataset import load_channels
    from train_callbacks import MetricLines, StopOnSignal
    from trainer_args import sft_config
    from transformers import PrinterCallback, set_seed
    from trl import SFTTrainer

    precision = resolve_precision(config.trainer.precision)
    if config.trainer.compile_layers:
        check_compiler()
    check_offload(config, distributed_launch.world_size())
    set_seed(config.trainer.seed)  # before the model and the adapters are created
    tokenizer = load_tokenizer(config.model.model_name_or_path, config.model.trust_remote_code)
    train, validation, data_stats = load_channels(config.data, tokenizer)
    model = load_model(config, precision)
    log_speed_ups(config, precision, model.config._attn_implementation)
    score_labelled_positions_only()
    trainer = SFTTrainer(
        model=model,
        args=sft_config(config, precision, model, has_validation=validation is not None),
        train_dataset=train,
        eval_dataset=validation,
        processing_class=tokenizer,
        peft_config=peft_config(config.method),
        callbacks=[
            MetricLines(),
            *([HostInputEmbeddings()] if config.trainer.offload_input_embeddings else []),
            *extra_callbacks,
            StopOnSignal(),
        ],
    )
    trainer.remove_callback(PrinterCallback)  # the metric lines replace its dict dumps
    skip_adapter_input_casts(trainer.model, precision)
    if config.trainer.fused_lora:
        log.info("LoRA layers fused into one addmm each: %d", fuse_lora_updates(trainer.model))
    if config.trainer.compile_layers:
        compiled = compile_decoder_layers(trainer.model, config.trainer.activation_memory_budget)
        log.info(
            "decoder layers compiled (at the first step): %d, activation memory budget %g",
            compiled,
            config.trainer.activation_memory_budget,
        )
    args = trainer.args
    rows_per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps
    log.info(
        "plan: %d samples (%d tokens) in %d rows; %s optimizer steps of %d rows x %d process(es)",
        data_stats["train"]["samples"],
        data_stats["train"]["tokens"],
        len(trainer.train_dataset),
        args.max_steps if args.max_steps > 0 else f"{args.num_train_epochs} epoch(s) of",
        rows_per_step,
        distributed_launch.world_size(),
    )
    extras = {"precision": precision, "data": data_stats, "tokenizer": tokenizer}
    return trainer, validation, extras


def log_speed_ups(config: Any, precision: str, attention: str) -> None:
    """Logs once the speed-ups that depend on the machine and its torch (attention kernels,
    Liger): which are on and, for each that fell back, why."""
    import torch
    from attention_backends import attention_report

    cuda = torch.cuda.is_available()
    liger = "off"
    if config.trainer.use_liger_kernel:
        liger = "on" if cuda else "off (fell back: no CUDA device)"
    report = attention_report(
        config.model.attn_implementation,
        attention,
        half_precision=precision in ("bf16", "fp16"),
        cuda=cuda,
    )
    log.info(
        "speed-ups on torch %s: attention %s; Liger kernels %s", torch.__version__, report, liger
    )


def _callback(trainer: Any, kind: type) -> Any:
    return next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, kind))


def _train(trainer: Any, config: Any, resume: Path | None) -> tuple[int, float | None]:
    """Trains from ``resume`` (or from the start); returns the last step and the mean training
    loss of the steps run here (None when none ran)."""
    from checkpoints import ends_the_run
    from transformers import TrainerState

    trainer_config = config.trainer
    if (
        resume is not None
        and not trainer_config.fsdp  # an FSDP checkpoint loads only into the wrapped model
        and ends_the_run(resume, trainer_config.max_steps, trainer_config.num_train_epochs)
    ):
        # The trainer, resumed at its last step, would run one step more (at a learning rate of
        # 0): load the weights, as train() does first, and go on to the export.
        log.info("%s is the run's last step: nothing left to train", resume)
        trainer._load_from_checkpoint(str(resume))
        trainer.state = TrainerState.load_from_json(str(resume / "trainer_state.json"))
        return trainer.state.global_step, None
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    ran = result.global_step - (checkpoint_step(resume) if resume else 0)
    return result.global_step, result.training_loss if ran else None


def _resume_point(config: Any) -> Path | None:
    """The checkpoint to resume from, if it was written by this run; records the run in the
    checkpoint folder. Checked before the model loads, so a refusal comes at once.

    Raises:
        ConfigError: the checkpoints were written by a run with another configuration or data,
            or resume is off beside complete checkpoints.
    """
    checkpoint_dir = config.trainer.checkpoint_dir
    identity = run_identity(config)
    newest = newest_checkpoint(checkpoint_dir)
    if newest is not None and not config.trainer.resume:
        # Starting at step 0 beside them, this run would record itself as their run, and a
        # restart (SageMaker's, after a spot reclaim) would resume from the newest of them.
        raise ConfigError(
            f"checkpoint_dir {checkpoint_dir} holds checkpoints up to {newest.name}: with "
            "resume false this run would start at step 0 beside them, and a restart would "
            "resume from theirs; empty the folder or use another --checkpoint_dir"
        )
    if newest is not None:
        check_same_run(checkpoint_dir, identity, newest)
    if distributed_launch.rank() == 0:
        record_run(checkpoint_dir, identity)
    return newest if config.trainer.resume else None


def run(config: Any, extra_callbacks: tuple = ()) -> int:
    """Trains and exports; returns the process exit code."""
    import torch
    from model_export import export_model, write_metrics, write_system_prompts
    from train_callbacks import MetricLines, StopOnSignal, metric_values

    resume = _resume_point(config)
    trainer, validation, extras = _trainer(config, extra_callbacks)
    log.info("resuming from %s", resume or "nothing: starting at step 0")
    started = time.perf_counter()
    global_step, train_loss = _train(trainer, config, resume)
    seconds = time.perf_counter() - started
    if _callback(trainer, StopOnSignal).interrupted:
        return EXIT_INTERRUPTED
    attempt = _callback(trainer, MetricLines).history
    tokens = max((entry.get("num_tokens", 0) for entry in attempt), default=0)
    # After a restart the logs of the steps before it come back from the checkpoint.
    first_step = checkpoint_step(resume) if resume else 0
    steps_run = global_step - first_step
    earlier = [
        {"step": entry["step"], **metric_values(entry)}
        for entry in trainer.state.log_history
        if entry.get("step", first_step + 1) <= first_step
    ]
    history = earlier + attempt
    metrics: dict[str, Any] = {
        "train_loss": train_loss,
        "global_step": global_step,
        "steps_run": steps_run,
        "train_seconds": seconds,
        "train_tokens_per_second": tokens / seconds if steps_run else None,
        "resumed_from": str(resume) if resume else None,
        "precision": extras["precision"],
        "attn_implementation": trainer.model.config._attn_implementation,
        "world_size": distributed_launch.world_size(),
        "distributed_type": trainer.accelerator.distributed_type.value,
        "data": extras["data"],
        "log_history": history,
        "config": config.as_dict(),
    }
    if validation is not None:
        # The trainer evaluates at the last step itself when eval_steps is set: reuse that.
        final = [e for e in history if "eval_loss" in e and e["step"] == global_step]
        metrics.update(final[-1] if final else trainer.evaluate())
    if torch.cuda.is_available():
        metrics["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    model_dir = Path(config.trainer.model_dir)
    metrics["exported"] = export_model(trainer, config, extras["tokenizer"], model_dir)
    if trainer.is_world_process_zero():
        write_metrics(metrics, model_dir, config.trainer.output_data_dir)
        write_system_prompts(model_dir)
        summary = {k: metrics.get(k) for k in ("train_loss", "eval_loss", "global_step")}
        finals = " ".join(f"final_{k}={v:.6g}" for k, v in summary.items() if isinstance(v, float))
        print(f"[metrics] step={global_step} {finals}", flush=True)
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
    # bitsandbytes' CPU backend warns at import about an optional kernel package it does not need.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    env = container_env.ContainerEnv.from_environ()
    distributed_launch.relaunch_if_needed(env, argv, os.path.abspath(__file__))
    try:
        config = container_env.resolve_paths(build_config(argv), env)
        return run(config, extra_callbacks)
    except (ConfigError, SampleTooLongError) as error:
        _report_failure(str(error))
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    except Exception as error:
        _report_failure(f"{type(error).__name__}: {error}")
        raise


def _report_failure(reason: str) -> None:
    """Writes ``reason`` where SageMaker takes a failed job's FailureReason from
    (``$SM_OUTPUT_DIR/failure``, /opt/ml/output/failure in a training job): under torchrun the
    last line on stderr is the launcher's summary, not the error."""
    output = os.environ.get("SM_OUTPUT_DIR")
    if output:
        Path(output).mkdir(parents=True, exist_ok=True)
        (Path(output) / "failure").write_text(reason + "\n")


if __name__ == "__main__":
    sys.exit(main())
