"""The one place that turns records into chat messages and messages into prompts.

Data preparation, training, evaluation and the local server all import this module, so
the text a model is trained on is exactly the text it is asked at serving time.

Accepted record shapes (one JSON object per record):

- chat: ``{"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}``
- prompt/completion: ``{"prompt": str, "completion": str}``
- instruction: ``{"instruction": str, "input": str (optional), "output": str}``
- text-to-SQL: ``{"question": str, "context": str (CREATE TABLE ...), "answer": str}``

Each becomes ``{"messages": [...], "metadata": {...}}``; ``metadata.task`` is ``"sql"`` for
text-to-SQL records (with ``metadata.schema``) and ``"chat"`` otherwise. Every shape but chat
gets a system turn written here (``ADDED_SYSTEM_PROMPTS``): a model trained on such records
expects the same system turn when it is asked, so preparation records them in ``stats.json`` and
training writes them beside the chat template of the exported model.
"""

from __future__ import annotations

from typing import Any

from contracts.chat import MessageError, each_message

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."

SQL_SYSTEM_PROMPT = (
    "You are a text to SQL query translator. Users will ask you questions in English "
    "and you will generate a SQL query based on the provided SCHEMA.\nSCHEMA:\n{schema}"
)

# The system turn each record shape gets; ``{schema}`` is the record's ``context``.
ADDED_SYSTEM_PROMPTS = {
    "prompt/completion": DEFAULT_SYSTEM_PROMPT,
    "instruction": DEFAULT_SYSTEM_PROMPT,
    "text-to-SQL": SQL_SYSTEM_PROMPT,
}
# Every field a record shape reads, the names a dataset's field mapping may give a column.
FIELDS = (
    "messages",
    "prompt",
    "completion",
    "instruction",
    "input",
    "output",
    "question",
    "context",
    "answer",
    "metadata",
)
# Turns whose text is trained on or asked: one that is blank teaches nothing, or the wrong thing.
_SPOKEN = ("user", "assistant")


class RecordError(ValueError):
    """A record that cannot be used; the message names the field that is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field '{field}': {problem}")
        self.field = field
        self.problem = problem


def _text(record: dict[str, Any], field: str, *, required: bool = True) -> str:
    value = record.get(field)
    if value is None:
        if required:
            raise RecordError(field, "is missing")
        return ""
    if not isinstance(value, str):
        raise RecordError(field, f"must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise RecordError(field, "is empty")
    return value


def _check_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise RecordError("messages", "must be a non-empty list")
    checked = []
    try:
        for where, role, content in each_message(messages):
            if role in _SPOKEN and not content.strip():
                raise RecordError(f"{where}.content", "is empty")
            checked.append({"role": role, "content": content})
    except MessageError as error:
        raise RecordError(error.field, error.problem) from None
    return checked


def sql_messages(question: str, schema: str, answer: str | None = None) -> list[dict[str, str]]:
    """Builds the chat for one text-to-SQL sample (the answer is left out for generation)."""
    messages = [
        {"role": "system", "content": SQL_SYSTEM_PROMPT.format(schema=schema)},
        {"role": "user", "content": question},
    ]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages


# The fields of each shape but chat, in the order a missing one is named.
_SHAPES = (("question", "context", "answer"), ("prompt", "completion"), ("instruction", "output"))
_KEYS_SHOWN = 10


def _shape_error(record: dict[str, Any]) -> RecordError:
    """The error for a record of no accepted shape: the missing field of a shape it nearly
    has (``question`` and ``context`` without ``answer``), else the shapes expected; both
    list the keys the record has (quoted, so a stray space shows)."""
    keys = [repr(key) for key in record]
    found = ", ".join(keys[:_KEYS_SHOWN]) or "no keys"
    if len(keys) > _KEYS_SHOWN:
        found += f" and {len(keys) - _KEYS_SHOWN} more"
    for fields in _SHAPES:
        if any(field in record for field in fields):
            missing = next(field for field in fields if field not in record)
            return RecordError(missing, f"is missing (the record has {found})")
    return RecordError(
        "<record>",
        "unknown shape: expected 'messages', 'prompt'/'completion', "
        f"'instruction'/'output' or 'question'/'context'/'answer'; the record has {found}",
    )


def normalise_record(record: Any) -> dict[str, Any]:
    """Turns one raw record of any accepted shape into ``{"messages", "metadata"}``.

    Raises:
        RecordError: naming the field that is missing or wrong.
    """
    if not isinstance(record, dict):
        raise RecordError("<record>", f"must be a JSON object, got {type(record).__name__}")
    if "messages" in record:
        messages = _check_messages(record["messages"])
        metadata = {"task": "chat"}
    elif "question" in record and "answer" in record:
        schema = _text(record, "context")
        messages = sql_messages(_text(record, "question"), schema, _text(record, "answer"))
        metadata = {"task": "sql", "schema": schema}
    elif "prompt" in record:
        messages = [
            {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
            {"role": "user", "content": _text(record, "prompt")},
            {"role": "assistant", "content": _text(record, "completion")},
        ]
        metadata = {"task": "chat"}
    elif "instruction" in record:
        user = _text(record, "instruction")
        extra = _text(record, "input", required=False)
        if extra.strip():
            user = f"{user}\n\n{extra}"
        messages = [
            {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
            {"role": "user", "content": user},
            {"role": "assistant", "content": _text(record, "output")},
        ]
        metadata = {"task": "chat"}
    else:
        raise _shape_error(record)
    if messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
        raise RecordError("messages", "must end with a non-empty assistant message")
    if not any(m["role"] == "user" for m in messages):
        raise RecordError("messages", "must contain a user message")
    extra_metadata = record.get("metadata")
    if extra_metadata is not None and not isinstance(extra_metadata, dict):
        raise RecordError("metadata", f"must be an object, got {type(extra_metadata).__name__}")
    if extra_metadata:
        # A chat record keeps its own task (an already-normalised text-to-SQL record stays
        # "sql"); for the other shapes the task comes from the shape itself.
        metadata = (
            {**metadata, **extra_metadata}
            if "messages" in record
            else {**extra_metadata, **metadata}
        )
    if not isinstance(metadata["task"], str):
        raise RecordError(
            "metadata.task", f"must be a string, got {type(metadata['task']).__name__}"
        )
    return {"messages": messages, "metadata": metadata}


def prompt_and_reference(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    """Splits a conversation into what the model is asked and the answer it should give."""
    if not messages or messages[-1]["role"] != "assistant":
        raise RecordError("messages", "must end with an assistant message")
    return messages[:-1], messages[-1]["content"]


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The exact text a model sees when asked to answer ``messages``."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def render_conversation(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The exact text a model is trained on for a whole conversation."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
