"""Training throughput: train.py's fast path against two baselines, side by side.

    python benchmarks/train_benchmark.py                      # CPU: SmolLM2-135M, LoRA r=16
    python benchmarks/train_benchmark.py --gpu                # random-weight Llama-3 8B and 1B
    python benchmarks/train_benchmark.py --steps 6 --rounds 2 --json-out bench.json

Recipes, all LoRA r=16 on all linear layers, same model, data and number of steps:

- ``fast``: train.py itself (lora recipe): padding-free packing with per-document attention,
  loss and LM head on assistant tokens only, no recomputation.
- ``fast-liger`` (GPU): the fast path with Liger's fused RMSNorm/RoPE/SwiGLU kernels
  (``--use_liger_kernel true``).
- ``padded``: the plain Hugging Face Trainer with dynamic padding (batches of 8 samples), SDPA.
- ``seed``: the seed blog's recipe: naive packing (samples concatenated and cut, attention
  across them), SDPA, gradient checkpointing, every position scored.

The baselines use the lora recipe's adapter settings, so only the mechanics differ.

Each measurement runs in its own process (clean peak memory, no shared state); the recipes
alternate in rounds so that a noisy neighbour slows all of them alike. Throughput is useful
(non-padding) tokens per second, the median over the steps after the first of each run, each
step timed from the previous step's end to its own (the device synchronized at both), so data
loading and logging count; ``first_step_s`` is the first step with any compilation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ROOT / "training_code"
sys.path[:0] = [str(ROOT), str(CODE)]
RECIPES = ("fast", "padded", "seed")
WORKERS = (*RECIPES, "fast-liger")
GPU_SHAPES = {  # Llama-3.1-8B and Llama-3.2-1B, random weights
    "llama3-8b": {
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "tie_word_embeddings": False,
    },
    "llama3-1b": {
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "tie_word_embeddings": True,
    },
    "tiny": {  # a plumbing check of --gpu mode on any machine, not a measurement
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "tie_word_embeddings": True,
    },
}


def _timer():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """What each optimizer step cost, measured from one step's end to the next's.

        The trainer loads a step's batches before ``on_step_begin`` and logs (reading the loss
        and gradient norm back from the device) after ``on_step_end``; on a GPU the backward
        pass and the optimizer may still be running when ``on_step_end`` fires. So the device is
        synchronized at every step's end and the interval between two ends holds all of a step:
        data loading, forward, backward, optimizer, logging. ``windows`` keeps the narrower
        ``on_step_begin`` -> ``on_step_end`` times for comparison.
        """

        def __init__(self) -> None:
            self.times: list[float] = []
            self.windows: list[float] = []
            self.tokens: list[float] = []
            self.start_gib = 0.0
            self._begin = 0.0
            self._last_end = 0.0
            self._seen = 0.0

        @staticmethod
        def _now() -> float:
            import torch

            if torch.cuda.is_available():
                torch.cuda.synchronize()
            return time.perf_counter()

        def on_train_begin(self, args, state, control, **kwargs):
            import torch

            if torch.cuda.is_available():
                self.start_gib = torch.cuda.memory_allocated() / 2**30
            self._last_end = self._now()

        def on_step_begin(self, args, state, control, **kwargs):
            self._begin = self._now()

        def on_step_end(self, args, state, control, **kwargs):
            now = self._now()
            self.windows.append(now - self._begin)
            self.times.append(now - self._last_end)
            self._last_end = now

        def on_log(self, args, state, control, logs=None, **kwargs):
            seen = (logs or {}).get("num_tokens", (logs or {}).get("num_input_tokens_seen"))
            if seen is not None and seen > self._seen and len(self.tokens) < len(self.times):
                self.tokens.append(seen - self._seen)
                self._seen = seen

    return StepTimer()


def _profiler(target: Path):
    """Profiles steps 3 and 4 and writes the top operators by GPU and by CPU time."""
    import torch
    from transformers import TrainerCallback

    class StepProfiler(TrainerCallback):
        def __init__(self) -> None:
            self.profile = None

        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 2:
                activities = [torch.profiler.ProfilerActivity.CPU]
                if torch.cuda.is_available():
                    activities.append(torch.profiler.ProfilerActivity.CUDA)
                self.profile = torch.profiler.profile(activities=activities)
                self.profile.__enter__()

        def on_step_end(self, args, state, control, **kwargs):
            if self.profile is not None and state.global_step == 4:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self.profile.__exit__(None, None, None)
                table = self.profile.key_averages()
                sort = (
                    "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(
                    table.table(sort_by=sort, row_limit=40)
                    + "\n\n"
                    + table.table(sort_by="cpu_time_total", row_limit=25)
                )
                self.profile = None

    return StepProfiler()


def _common(a: argparse.Namespace, work: Path) -> dict:
    import torch

    return dict(
        output_dir=str(work / "checkpoints"),
        max_steps=a.steps,
        per_device_train_batch_size=1,
        gradient_accumulation_steps=1,
        learning_rate=2e-4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        bf16=a.precision == "bf16",
        use_cpu=not torch.cuda.is_available(),
        seed=0,
        ddp_find_unused_parameters=False,
    )


def _baseline(a: argparse.Namespace, work: Path, callbacks: list) -> None:
    import torch
    from config_loader import build_config
    from model_setup import load_tokenizer, peft_config
    from peft import get_peft_model
    from sft_dataset import build_dataset
    from transformers import (
        AutoModelForCausalLM,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
        set_seed,
    )
    from trl import SFTConfig, SFTTrainer

    tokenizer = load_tokenizer(a.model)
    train, _ = build_dataset(
        tokenizer, Path(a.data), max_length=a.seq_len, truncate=True, assistant_only_loss=True
    )
    # A frozen base in the autocast precision, as train.py loads it.
    dtype = torch.bfloat16 if a.precision == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=dtype, attn_implementation="sdpa")
    lora = peft_config(build_config(["--recipe", "lora"]).method)  # the fast path's adapters
    if a.recipe == "padded":
        set_seed(0)
        model = get_peft_model(model, lora)
        args = TrainingArguments(**_common(a, work), include_num_input_tokens_seen="non_padding")
        args.per_device_train_batch_size = 8
        collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
        trainer = Trainer(
            model=model, args=args, train_dataset=train, data_collator=collator, callbacks=callbacks
        )
    else:
        args = SFTConfig(
            **_common(a, work),
            max_length=a.seq_len,
            packing=True,
            packing_strategy="wrapped",
            gradient_checkpointing=True,
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=train,
            peft_config=lora,
            processing_class=tokenizer,
            callbacks=callbacks,
        )
    trainer.train()


def _fast(a: argparse.Namespace, work: Path, callbacks: list) -> None:
    import train

    argv = [
        "--recipe",
        "lora",
        "--model_name_or_path",
        a.model,
        "--train_dir",
        str(Path(a.data).parent),
        "--model_dir",
        str(work / "model"),
        "--checkpoint_dir",
        str(work / "checkpoints"),
        "--max_steps",
        str(a.steps),
        "--max_seq_length",
        str(a.seq_len),
        "--logging_steps",
        "1",
        "--save_steps",
        "100000",
        "--gradient_accumulation_steps",
        "1",
        "--truncate",
        "true",
        "--precision",
        a.precision,
        "--resume",
        "false",
        "--save_merged",
        "false",  # the export is not timed; merging an 8B model would only add minutes
    ]
    if a.recipe == "fast-liger":
        argv += ["--use_liger_kernel", "true"]
    argv += a.extra_args.split()
    if train.main(argv, extra_callbacks=tuple(callbacks)) != 0:
        raise SystemExit("train.py failed")


def worker(a: argparse.Namespace) -> None:
    """One measurement in this process; prints one JSON line."""
    import torch

    timer = _timer()
    callbacks = [timer]
    if a.profile:
        callbacks.append(_profiler(a.profile / f"{a.label or a.recipe}.txt"))
    with tempfile.TemporaryDirectory() as work:
        (_baseline if a.recipe in ("padded", "seed") else _fast)(a, Path(work), callbacks)

    def rates(times: list[float]) -> list[float]:  # per step after the first
        return [tok / sec for tok, sec in zip(timer.tokens[1:], times[1:], strict=False)]

    peak = (
        torch.cuda.max_memory_allocated() / 2**30
        if torch.cuda.is_available()
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    )
    print(
        json.dumps(
            {
                "recipe": a.label or a.recipe,
                "tokens_per_s": statistics.median(rates(timer.times)),
                "tokens_per_step": statistics.mean(timer.tokens),
                # The first step, from the start of training: compilation, when there is any.
                "first_step_s": timer.times[0],
                "in_step_tokens_per_s": statistics.median(rates(timer.windows)),
                "peak_gib": peak,
                **({"start_gib": timer.start_gib} if timer.start_gib else {}),
            }
        )
    )


def _random_model(shape: str, tokenizer_dir: Path, target: Path) -> Path:
    """A random-weight Llama of ``shape`` with SmolLM2's tokenizer, saved in bf16."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    config = LlamaConfig(vocab_size=128256, max_position_embeddings=8192, **GPU_SHAPES[shape])
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(target)
    return target


def _channel(samples: int, folder: Path, mixed: bool) -> Path:
    """The bundled text-to-SQL sample (about 100 tokens each), or with ``mixed`` the same
    questions over schemas of 1 to 8 tables (90 to 280 tokens), as real schemas vary."""
    import random

    import chat_format

    records = [json.loads(x) for x in (ROOT / "sample_data" / "text_to_sql.jsonl").open()]
    rng = random.Random(0)
    rows = []
    for record in records[:samples]:
        if mixed:
            others = [r["context"] for r in rng.sample(records, rng.randint(0, 7))]
            record = {**record, "context": "\n".join([record["context"], *others])}
        rows.append(json.dumps(chat_format.normalise_record(record)))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "train.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path


def _measure(
    a: argparse.Namespace, model: Path, data: Path, recipe: str, extra: str = "", label: str = ""
) -> dict:
    label = label or recipe
    command = [
        sys.executable,
        __file__,
        "--worker",
        recipe,
        "--model",
        str(model),
        "--data",
        str(data),
        "--steps",
        str(a.steps),
        "--seq-len",
        str(a.seq_len),
        "--precision",
        a.precision,
        f"--extra-args={extra}",
        f"--label={label}",
        *(["--gpu"] if a.gpu else []),
        *(["--profile", str(a.profile)] if a.profile else []),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if recipe.startswith("fast"):
        # What train.py sets on import, here before the worker loads torch; the baselines run
        # with the environment as given (by default, GNU OpenMP's own spin before sleeping).
        import train

        train.set_openmp_waits(env)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=CODE)
    if result.returncode != 0:  # reported in the table; the other recipes still run
        print(f"{label} failed:\n{result.stderr[-4000:]}", file=sys.stderr, flush=True)
        return {"recipe": label, "error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def table(model_name: str, results: dict[str, dict]) -> str:
    """A Markdown table with the fast path's speed-up over each recipe (the first row stands in
    for the fast path when it did not run)."""
    reference = results.get("fast") or next(iter(results.values()))
    fast = reference.get("tokens_per_s", float("nan"))
    lines = [
        f"| {model_name} | useful tok/s | peak memory (GiB) | fast path speed-up |",
        "|---|---|---|---|",
    ]
    for recipe, r in results.items():
        if "error" in r:
            lines.append(f"| {recipe} | failed: {' '.join(r['error'])[:80]} | | |")
            continue
        lines.append(
            f"| {recipe} | {r['tokens_per_s']:.0f} | {r['peak_gib']:.2f} | "
            f"{fast / r['tokens_per_s']:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", action="store_true", help="Llama-3 8B/1B shapes on a GPU")
    parser.add_argument("--shapes", default="llama3-8b,llama3-1b")
    parser.add_argument("--recipes", help="comma-separated subset of the rows to run")
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per recipe, alternating")
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--seq-len", type=int, default=None, help="1024 on CPU, 2048 on GPU")
    parser.add_argument(
        "--precision",
        choices=("bf16", "fp32"),
        help="for every recipe; default: train.py's auto (bf16 on a GPU or an AMX CPU)",
    )
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--mixed-lengths", action="store_true", help="schemas of 1-8 tables")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="an extra fast-path row with these train.py arguments, e.g. "
        "bs2='--per_device_train_batch_size 2' (repeatable)",
    )
    parser.add_argument("--profile", type=Path, help="write a torch.profiler table per run here")
    parser.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--extra-args", default="", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    parser.add_argument("--model", help="a model folder to use instead (CPU mode)")
    parser.add_argument("--tokenizer", help="tokenizer folder for --gpu (default: SmolLM2's)")
    parser.add_argument("--data", help=argparse.SUPPRESS)
    a = parser.parse_args()
    a.seq_len = a.seq_len or (2048 if a.gpu else 1024)
    if a.precision is None and not a.worker:
        from model_setup import resolve_precision

        a.precision = resolve_precision("auto")
    if a.worker:
        a.recipe = a.worker
        return worker(a)
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = _channel(a.samples, Path(tmp) / "train", a.mixed_lengths)
        if a.model:
            # Absolute: each measurement runs in training_code/.
            models = {Path(a.model).name: lambda: Path(a.model).resolve()}
        elif a.gpu:
            tokenizer = Path(a.tokenizer) if a.tokenizer else _smollm2()
            models = {
                s: (lambda s=s: _random_model(s, tokenizer, Path(tmp) / s))
                for s in a.shapes.split(",")
            }
        else:
            models = {"SmolLM2-135M": _smollm2}
        for name, make in models.items():
            model = make()  # one at a time: an 8B model is 16 GB on disk
            recipes = RECIPES
            if a.recipes:
                recipes = tuple(a.recipes.split(","))
            elif a.gpu:
                recipes = ("fast", "fast-liger", "padded", "seed")
            rows = [(r, r, "") for r in recipes]
            for variant in a.variant:
                label, _, extra = variant.partition("=")
                rows.append(("fast", f"fast+{label}", extra))
            runs: dict[str, list[dict]] = {label: [] for _, label, _ in rows}
            for _ in range(a.rounds):
                for recipe, label, extra in rows:
                    runs[label].append(_measure(a, model, data, recipe, extra, label))
                    print(f"{name} {label}: {runs[label][-1]}", flush=True)
            report[name] = {
                r: max(v, key=lambda x: x.get("tokens_per_s", -1)) for r, v in runs.items()
            }
            print(table(f"{name}, {a.precision}", report[name]), flush=True)
            if a.json_out:  # after each model, so a run cut short keeps what it measured
                a.json_out.write_text(json.dumps(report, indent=2) + "\n")
            if model.is_relative_to(tmp):
                shutil.rmtree(model)


def _smollm2() -> Path:
    from cli.sample_models import smollm2_dir

    return smollm2_dir()


if __name__ == "__main__":
    main()
