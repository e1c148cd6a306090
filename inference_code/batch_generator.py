"""Continuous-ish batching on CPU: one worker thread turns waiting requests into one generate.

HTTP handler threads tokenize and validate, then ``submit`` a Job and wait on it. The worker
takes every compatible Job that is waiting (up to ``max_batch_size``), left-pads them into
one ``model.generate`` call, and hands each its own text back. Rows stop on their own
``max_tokens``, end-of-sequence token or stop string (``RowStops``), so one long answer does
not pad the others' results. Not continuous batching in the vLLM sense (a batch runs to its
end before the next starts), which is the GPU engine's job.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import torch
from endpoint_contract import ChatRequest, ContractError, check_length
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
)

# How long the worker waits for more requests to join the one it just took: short next to a
# generate call (hundreds of ms), long enough for a burst of clients to arrive together.
GATHER_WINDOW_S = 0.01


@dataclass(eq=False)  # identity, not field equality: two identical requests are two jobs
class Job:
    """One request on its way through the worker; ``done`` is set when a result is in."""

    request: ChatRequest
    input_ids: list[int]
    done: threading.Event = field(default_factory=threading.Event)
    text: str = ""
    finish_reason: str = ""
    completion_tokens: int = 0
    error: ContractError | None = None

    @property
    def sampling_key(self) -> tuple[bool, float, float]:
        """Jobs batch together only when one generation config serves them all."""
        r = self.request
        return (r.greedy, 0.0 if r.greedy else r.temperature, 1.0 if r.greedy else r.top_p)


class RowStops(StoppingCriteria):
    """Stops each row of a batch on its own end token, ``max_tokens`` or stop strings."""

    def __init__(self, jobs: list[Job], prompt_len: int, eos_ids: set[int], decode) -> None:
        self.jobs = jobs
        self.prompt_len = prompt_len
        self.eos_ids = eos_ids
        self.decode = decode
        self.lengths: list[int | None] = [None] * len(jobs)
        self.reasons: list[str] = ["length"] * len(jobs)

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        generated = input_ids.shape[1] - self.prompt_len
        for i, job in enumerate(self.jobs):
            if self.lengths[i] is not None:
                continue
            if int(input_ids[i, -1]) in self.eos_ids or self._hit_stop(job, input_ids[i]):
                self.lengths[i], self.reasons[i] = generated, "stop"
            elif generated >= job.request.max_tokens:
                self.lengths[i] = generated
        done = [n is not None for n in self.lengths]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    def _hit_stop(self, job: Job, row: torch.Tensor) -> bool:
        if not job.request.stop:
            return False
        text = self.decode(row[self.prompt_len :].tolist())
        return any(s in text for s in job.request.stop)


DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


def serving_dtype(device: str, requested: str = "auto") -> torch.dtype:
    """``auto``: bf16 on a GPU, as the GPU engine serves; fp32 on CPU.

    On CPU, fp32 answers a request the same whether it is batched with others or alone
    (tested), so an evaluation scores the same however its requests happen to be grouped.
    bf16 does not keep that (its kernels round differently with the batch's shape), but on a
    CPU with Intel AMX it served 2.3-2.4x the tokens/s at 8 and 32 clients (docs/serving.md):
    ``--dtype bf16`` where throughput matters more than that.
    """
    if requested == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if requested not in DTYPES:
        raise ValueError(f"dtype must be auto, bf16 or fp32, got {requested!r}")
    return DTYPES[requested]


class BatchGenerator:
    """Owns the model, the tokenizer and the worker thread that batches requests."""

    def __init__(
        self,
        model_dir: Path,
        max_batch_size: int = 8,
        max_model_len: int | None = None,
        device: str = "cpu",
        dtype: str = "auto",
    ) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        if not self.tokenizer.chat_template:
            raise ValueError(f"{model_dir} has no chat template: training must save one")
        self.dtype = serving_dtype(device, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=self.dtype)
        self.model.to(device).eval()
        self.device = device
        self.max_batch_size = max_batch_size
        config_len = getattr(self.model.config, "max_position_embeddings", None) or 2048
        self.max_model_len = min(max_model_len or config_len, config_len)
        eos = self.model.generation_config.eos_token_id
        eos = self.tokenizer.eos_token_id if eos is None else eos
        self.eos_ids = set(eos) if isinstance(eos, list) else {eos}
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else min(self.eos_ids)
        # Fast tokenizers are not safe to share across threads: one lock for every use.
        self._tokenizer_lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._deferred: list[Job] = []
        self._stopping = threading.Event()
        self._submit_lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name="batch-worker", daemon=True)
        self.generating = 0  # requests in the batch being generated now

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text, exactly as ``chat_format.render_prompt`` and vLLM build it.

        Raises:
            ContractError: 400 naming ``messages`` when the chat template refuses them
                (Gemma's and Mistral's ``raise_exception('System role not supported')``).
        """
        with self._tokenizer_lock:
            try:
                return self.tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=True
                )
            except (jinja2.TemplateSyntaxError, jinja2.exceptions.SecurityError):
                raise  # the template itself is broken or unsafe: a server fault, a 500
            except jinja2.TemplateError as exc:
                raise ContractError(
                    400,
                    f"the model's chat template refuses these messages: {exc.message}",
                    field="messages",
                ) from exc

    def prepare(self, request: ChatRequest) -> Job:
        """Tokenizes a request and checks it fits the context.

        Raises:
            ContractError: 400 when the chat template refuses the messages, or when they
                plus ``max_tokens`` are too long.
        """
        prompt = self.render(request.messages)
        with self._tokenizer_lock:
            ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        check_length(len(ids), request.max_tokens, self.max_model_len)
        return Job(request, ids)

    def submit(self, job: Job) -> None:
        """Queues a job; the caller waits on ``job.done``."""
        with self._submit_lock:  # so no job slips in after stop() has drained the queue
            if self._stopping.is_set():
                raise ContractError(503, "the server is shutting down", kind="unavailable")
            self._queue.put(job)

    def start(self) -> None:
        """Starts the worker thread."""
        self._worker.start()

    def stop(self) -> None:
        """Finishes the batch in progress, then refuses what is still queued."""
        with self._submit_lock:
            self._stopping.set()
        if self._worker.is_alive():
            self._worker.join()
        for job in [*self._deferred, *self._drain()]:
            job.error = ContractError(503, "the server is shutting down", kind="unavailable")
            job.done.set()

    def _drain(self) -> list[Job]:
        jobs = []
        while True:
            try:
                jobs.append(self._queue.get_nowait())
            except queue.Empty:
                return jobs

    def _next_batch(self) -> list[Job]:
        if not self._deferred:
            try:
                self._deferred.append(self._queue.get(timeout=0.1))
            except queue.Empty:
                return []
            time.sleep(GATHER_WINDOW_S)
        waiting = self._deferred + self._drain()
        key = waiting[0].sampling_key
        batch = [j for j in waiting if j.sampling_key == key][: self.max_batch_size]
        self._deferred = [j for j in waiting if j not in batch]
        return batch

    def _run(self) -> None:
        while not self._stopping.is_set():
            batch = self._next_batch()
            if not batch:
                continue
            started = time.monotonic()
            self.generating = len(batch)
            try:
                self._generate(batch)
                took = time.monotonic() - started
                print(f"generated a batch of {len(batch)} in {took:.2f}s", flush=True)
            except Exception as exc:  # a server fault: every job of the batch gets a 500
                for job in batch:
                    job.error = ContractError(500, f"generation failed: {exc!r}")
            self.generating = 0
            for job in batch:
                job.done.set()

    def _decode(self, ids: list[int]) -> str:
        with self._tokenizer_lock:
            return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _generate(self, batch: list[Job]) -> None:
        prompt_len = max(len(j.input_ids) for j in batch)
        input_ids = torch.full((len(batch), prompt_len), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), prompt_len), dtype=torch.long)
        for i, job in enumerate(batch):  # left padding: every prompt ends at the same column
            input_ids[i, prompt_len - len(job.input_ids) :] = torch.tensor(job.input_ids)
            attention[i, prompt_len - len(job.input_ids) :] = 1
        request = batch[0].request
        config = copy.deepcopy(self.model.generation_config)
        config.update(
            max_new_tokens=max(j.request.max_tokens for j in batch),
            do_sample=not request.greedy,
            temperature=None if request.greedy else request.temperature,
            top_p=None if request.greedy else request.top_p,
            top_k=None,
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.eos_ids),
        )
        stops = RowStops(batch, prompt_len, self.eos_ids, self._decode)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                generation_config=config,
                stopping_criteria=StoppingCriteriaList([stops]),
            )
        for i, job in enumerate(batch):
            length = stops.lengths[i] or output.shape[1] - prompt_len
            tokens = output[i, prompt_len : prompt_len + length].tolist()
            text = self._decode([t for t in tokens if t not in self.eos_ids])
            cut = min((text.find(s) for s in job.request.stop if s in text), default=-1)
            job.text = text[:cut] if cut >= 0 else text
            job.finish_reason = stops.reasons[i]
            job.completion_tokens = length
