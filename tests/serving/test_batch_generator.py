"""The batching engine in-process, on SmolLM2-135M (a real model, so outputs are words)."""

from __future__ import annotations

import chat_format
import pytest
from batch_generator import BatchGenerator
from endpoint_contract import ChatRequest, ContractError

QUESTIONS = [
    "hi",
    "What is 2+2?",
    "List three colours.",
    "Write SQL to count the rows of table t.",
]


@pytest.fixture(scope="module")
def engine():
    import torch

    from cli.sample_models import smollm2_dir

    # One thread, as the server uses on two cores: robust when the machine is busy.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield BatchGenerator(smollm2_dir(), max_batch_size=8)
    finally:
        torch.set_num_threads(threads)


def _job(engine: BatchGenerator, question: str, max_tokens: int = 12, stop=()):
    messages = [{"role": "user", "content": question}]
    return engine.prepare(ChatRequest(messages, max_tokens, 0.0, 1.0, tuple(stop)))


def test_prompt_is_the_one_chat_format_renders(engine):
    for messages in (
        chat_format.sql_messages("How many heads?", "CREATE TABLE head (age INTEGER)"),
        [{"role": "user", "content": "hello"}],
    ):
        assert engine.render(messages) == chat_format.render_prompt(engine.tokenizer, messages)


def test_a_left_padded_batch_answers_as_each_request_alone(engine):
    batch = [_job(engine, q) for q in QUESTIONS]
    engine._generate(batch)
    for question, batched in zip(QUESTIONS, batch, strict=True):
        alone = _job(engine, question)
        engine._generate([alone])
        assert (batched.text, batched.finish_reason, batched.completion_tokens) == (
            alone.text,
            alone.finish_reason,
            alone.completion_tokens,
        )
    assert any(j.finish_reason == "stop" for j in batch)  # some ended on the end token
    assert any(j.finish_reason == "length" for j in batch)


def test_each_row_keeps_its_own_max_tokens_and_stop(engine):
    free = _job(engine, "hi", max_tokens=12)
    engine._generate([free])
    words = free.text.split()
    assert len(words) >= 2, free.text
    stop = " " + words[1]
    short = _job(engine, "What is 2+2?", max_tokens=2)
    stopped = _job(engine, "hi", max_tokens=12, stop=[stop])
    engine._generate([short, stopped])
    assert short.completion_tokens == 2 and short.finish_reason == "length"
    assert stopped.text == free.text[: free.text.find(stop)]
    assert stopped.finish_reason == "stop"
    assert stopped.completion_tokens < free.completion_tokens


def test_request_longer_than_the_context_is_refused(engine):
    with pytest.raises(ContractError) as caught:
        _job(engine, "hi", max_tokens=engine.max_model_len)
    assert caught.value.status == 400


def test_serving_dtype_is_bf16_on_a_gpu_and_fp32_on_cpu_unless_asked():
    import torch
    from batch_generator import serving_dtype

    assert serving_dtype("cpu") is torch.float32
    assert serving_dtype("cuda") is torch.bfloat16
    assert serving_dtype("cuda:1", "fp32") is torch.float32
    assert serving_dtype("cpu", "bf16") is torch.bfloat16
    with pytest.raises(ValueError, match="dtype must be auto, bf16 or fp32, got 'fp8'"):
        serving_dtype("cpu", "fp8")


def test_a_bf16_engine_serves_a_batch():
    import torch

    from cli.sample_models import smollm2_dir

    bf16 = BatchGenerator(smollm2_dir(), max_batch_size=8, dtype="bf16")
    assert bf16.model.dtype is torch.bfloat16
    batch = [_job(bf16, q) for q in QUESTIONS]
    bf16._generate(batch)
    for job in batch:
        assert job.text.strip() and 1 <= job.completion_tokens <= 12, job


def test_a_chat_template_that_refuses_the_messages_is_a_400_naming_them(engine, monkeypatch):
    # Gemma's and Mistral's templates raise_exception on a system message; that is the
    # request's fault, not the server's (clients retry 5xx).
    refusing = (
        "{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}"
        "{{ m['content'] }}{% endfor %}"
    )
    monkeypatch.setattr(engine.tokenizer, "chat_template", refusing)
    system = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    with pytest.raises(ContractError) as caught:
        engine.prepare(ChatRequest(system, 4, 0.0, 1.0, ()))
    assert (caught.value.status, caught.value.field) == (400, "messages")
    assert caught.value.message == (
        "the model's chat template refuses these messages: System role not supported"
    )
    assert engine.prepare(ChatRequest(system[1:], 4, 0.0, 1.0, ())).input_ids


def test_a_broken_chat_template_stays_a_server_fault(engine, monkeypatch):
    import jinja2

    monkeypatch.setattr(engine.tokenizer, "chat_template", "{% for m in messages %}")
    with pytest.raises(jinja2.TemplateSyntaxError):
        engine.prepare(ChatRequest([{"role": "user", "content": "hi"}], 4, 0.0, 1.0, ()))


def test_a_tiny_temperature_decodes_greedily(engine):
    # 1e-40 divided the logits into inf and nan, and sampling raised (a 500).
    messages = [{"role": "user", "content": "What is 2+2?"}]
    greedy = engine.prepare(ChatRequest(messages, 8, 0.0, 1.0, ()))
    tiny = engine.prepare(ChatRequest(messages, 8, 1e-40, 0.9, ()))
    assert tiny.sampling_key == greedy.sampling_key  # so they may share a batch
    engine._generate([greedy])
    engine._generate([tiny])
    assert (tiny.text, tiny.completion_tokens) == (greedy.text, greedy.completion_tokens)
