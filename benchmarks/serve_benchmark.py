"""Requests/s and output tokens/s of a serving engine at 1, 8 and 32 concurrent clients.

    .venv/bin/python benchmarks/serve_benchmark.py                       # local server, CPU
    .venv/bin/python benchmarks/serve_benchmark.py --device cuda         # transformers on GPU
    .venv/bin/python benchmarks/serve_benchmark.py --engine vllm         # vLLM, GPU

Every engine is started as a server and measured the same way: closed-loop clients (each
sends its next request when the last is answered) posting the endpoint contract's request
to ``/invocations``, prompts from the bundled text-to-SQL sample, greedy decoding. The model
defaults to SmolLM2-135M-Instruct (``cli.sample_models.smollm2_dir()``). Prints a Markdown
table with the machine named, and writes the numbers as JSON with ``--json-out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "training_code"), str(ROOT / "inference_code")]

import chat_format  # noqa: E402
from eval_metrics import percentile  # noqa: E402
from server_launcher import LocalServerProcess  # noqa: E402


def prompts(count: int) -> list[list[dict[str, str]]]:
    """The first ``count`` sample questions as the chat the fine-tuned model would get."""
    lines = (ROOT / "sample_data" / "text_to_sql.jsonl").read_text().splitlines()[:count]
    records = [json.loads(line) for line in lines]
    return [chat_format.sql_messages(r["question"], r["context"]) for r in records]


def ask(url: str, messages: list[dict[str, str]], max_tokens: int) -> tuple[float, int]:
    """One request; returns (latency seconds, completion tokens)."""
    body = json.dumps({"messages": messages, "max_tokens": max_tokens, "temperature": 0})
    request = urllib.request.Request(f"{url}/invocations", data=body.encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        answer = json.loads(response.read())
    return time.perf_counter() - started, int(answer["usage"]["completion_tokens"])


def measure(url: str, concurrency: int, requests: int, max_tokens: int) -> dict:
    """Runs ``requests`` requests from ``concurrency`` closed-loop clients."""
    chats = prompts(requests)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda m: ask(url, m, max_tokens), chats))
    wall = time.perf_counter() - started
    latencies = [latency for latency, _ in results]
    tokens = sum(t for _, t in results)
    return {
        "concurrency": concurrency,
        "requests": requests,
        "wall_s": round(wall, 2),
        "requests_per_s": round(requests / wall, 3),
        "output_tokens_per_s": round(tokens / wall, 1),
        "latency_p50_s": round(percentile(latencies, 50), 3),
        "latency_p95_s": round(percentile(latencies, 95), 3),
        "completion_tokens": tokens,
    }


def start_vllm(model_dir: Path, max_model_len: int):
    """vLLM's OpenAI server, which also answers SageMaker's /ping and /invocations."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--port",
        str(port),
        "--max-model-len",
        str(max_model_len),
    ]
    process = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=5) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(2)
    process.kill()
    raise RuntimeError(f"vLLM did not become ready (exit code {process.poll()})")


def machine() -> str:
    """The machine in words: CPU count, processor and, when torch sees one, the GPU."""
    cpuinfo = Path("/proc/cpuinfo")
    names = (
        [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        if cpuinfo.exists()
        else []
    )
    words = f"{os.cpu_count()}-core CPU ({names[0] if names else platform.machine()})"
    try:
        import torch

        if torch.cuda.is_available():
            words += f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return words


HEADER = (
    "| clients | requests | requests/s | output tokens/s | p50 latency s | p95 latency s |\n"
    "|---|---|---|---|---|---|"
)


def _serve_and_measure(args: argparse.Namespace, levels: list[int], dtype: str) -> dict:
    """Starts one engine, measures every concurrency level, stops it."""
    if args.engine == "vllm":
        process, url = start_vllm(args.model_dir, 2048)
        stop = process.terminate
    else:
        extra = ["--max-batch-size", str(args.max_batch_size), "--device", args.device]
        extra += ["--dtype", dtype]
        extra += ["--threads", str(args.threads)] if args.threads else []
        server = LocalServerProcess.start(args.model_dir, extra_args=extra)
        server.wait_ready()
        url, stop = server.url, server.stop
    try:
        ask(url, prompts(1)[0], args.max_tokens)  # warm-up: first-call allocations
        load_before = os.getloadavg()[0]
        rows = []
        for c in levels:
            rows.append(measure(url, c, args.requests or max(8, 2 * c), args.max_tokens))
            print(f"measured {dtype}, {c} clients: {rows[-1]}", flush=True)
        load_after = os.getloadavg()[0]
    finally:
        stop()
    engine = f"local ({args.device}, {dtype})" if args.engine == "local" else "vllm"
    return {"engine": engine, "load": (load_before, load_after), "results": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("local", "vllm"), default="local")
    parser.add_argument("--model-dir", type=Path, help="default: SmolLM2-135M-Instruct")
    parser.add_argument("--device", default="cpu", help="local engine: cpu or cuda")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated levels")
    parser.add_argument("--requests", type=int, default=0, help="per level (default 2x, >= 8)")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--max-batch-size", type=int, default=8, help="local engine only")
    parser.add_argument("--threads", type=int, default=0, help="local engine: torch threads")
    parser.add_argument(
        "--dtype",
        default="auto",
        help="local engine: auto, bf16 or fp32; a comma list (fp32,bf16) measures each in turn",
    )
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if args.model_dir is None:
        from cli.sample_models import smollm2_dir

        args.model_dir = smollm2_dir()
    levels = [int(c) for c in args.concurrency.split(",")]
    dtypes = args.dtype.split(",") if args.engine == "local" else ["-"]
    for dtype in dtypes:
        if args.engine == "local" and dtype not in ("auto", "bf16", "fp32"):
            parser.error(f"--dtype: {dtype!r} is not one of auto, bf16, fp32")
    # A SIGTERM (a timeout, Ctrl-C in a wrapper) must still stop the server it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    runs = [_serve_and_measure(args, levels, dtype) for dtype in dtypes]
    for run in runs:
        before, after = run["load"]
        print(
            f"\nengine: {run['engine']}, model: {args.model_dir.name}, max_tokens "
            f"{args.max_tokens}, machine: {machine()}, load average {before:.1f} -> {after:.1f}\n"
        )
        print(HEADER)
        for r in run["results"]:
            print(
                f"| {r['concurrency']} | {r['requests']} | {r['requests_per_s']} | "
                f"{r['output_tokens_per_s']} | {r['latency_p50_s']} | {r['latency_p95_s']} |"
            )
    if len(runs) > 1:
        first = runs[0]
        for run in runs[1:]:
            ratios = [
                f"{b['concurrency']} clients "
                f"{b['output_tokens_per_s'] / a['output_tokens_per_s']:.2f}x"
                for a, b in zip(first["results"], run["results"], strict=True)
            ]
            print(f"\n{run['engine']} against {first['engine']}: " + ", ".join(ratios))
    if args.json_out:
        meta = {"model": args.model_dir.name, "machine": machine()}
        body = {**meta, "runs": [{k: r[k] for k in ("engine", "results")} for r in runs]}
        args.json_out.write_text(json.dumps(body, indent=2) + "\n")


if __name__ == "__main__":
    main()
