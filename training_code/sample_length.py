"""A prepared sample's length against the run's ``max_seq_length``, checked before training.

Training refuses a sample longer than ``max_seq_length`` tokens unless ``truncate`` is on, and
by then the preparation job has run. ``prepare_data.py`` checks first, with the values train.py
will use: the recipe's, unless the run overrides them (``config_loader``, train.py's precedence).

How the length is measured:

- with the model's tokenizer (``--tokenizer-dir``, a local folder, read offline): exactly, as
  training counts it (the same chat template and tokenizer, ``sft_tokenize``);
- without it (the workflow's preparation job has the data, not the model): from the UTF-8 bytes
  of the turns' text, at ``BYTES_PER_TOKEN`` bytes per token. English averages about 4
  characters per token ("1 token ~= 4 chars in English",
  https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them); twice that
  keeps the estimate low, so a sample it flags is too long under any usual tokenizer. A sample
  it passes may still be too long; training then fails naming the sample's source file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

BYTES_PER_TOKEN = 8


@dataclass(frozen=True)
class LengthCheck:
    """The run's limit, whether training cuts longer samples, and how lengths are measured."""

    max_seq_length: int
    truncate: bool
    measured_with: str
    tokenizer: Any = None

    def tokens(self, messages: list[dict[str, str]]) -> int:
        """Exact with a tokenizer; otherwise the low estimate."""
        if self.tokenizer is not None:
            from sft_tokenize import tokenize_conversation

            return len(tokenize_conversation(self.tokenizer, messages).input_ids)
        return -(-text_bytes(messages) // BYTES_PER_TOKEN)

    def problem(self, messages: list[dict[str, str]]) -> str | None:
        """Why training would refuse the sample, or None (always None when it truncates)."""
        if self.truncate:
            return None
        tokens = self.tokens(messages)
        if tokens <= self.max_seq_length:
            return None
        if self.tokenizer is not None:
            size = f"has {tokens:,} tokens"
        else:
            size = (
                f"holds {text_bytes(messages):,} bytes of text, about {tokens:,} tokens at "
                f"{BYTES_PER_TOKEN} bytes per token (no tokenizer: a low estimate)"
            )
        return (
            f"sample {size}, more than max_seq_length={self.max_seq_length}; shorten or drop it, "
            "or raise max_seq_length or set truncate in the run's hyperparameters"
        )

    def summary(self) -> dict[str, Any]:
        """What ``stats.json`` records of the check."""
        return {
            "max_seq_length": self.max_seq_length,
            "truncate": self.truncate,
            "measured_with": self.measured_with,
        }


def text_bytes(messages: list[dict[str, str]]) -> int:
    return sum(len(message["content"].encode("utf-8")) for message in messages)


def run_settings(recipe: str | None, overrides: dict[str, str]) -> tuple[int, bool]:
    """``max_seq_length`` and ``truncate`` as train.py resolves them for the same recipe and
    hyperparameters.

    Raises:
        ConfigError: a recipe or value train.py would refuse.
    """
    from config_loader import build_config

    argv = ["--recipe", recipe] if recipe else []
    for key, value in overrides.items():
        argv += [f"--{key}", value]
    data = build_config(argv).data
    return data.max_seq_length, data.truncate


def load_tokenizer(folder: str) -> Any:
    """The tokenizer saved in ``folder``, read without any download.

    Raises:
        ValueError: ``folder`` is not a folder (a hub id would need the network).
    """
    if not Path(folder).is_dir():
        raise ValueError(
            f"--tokenizer-dir {folder} is not a folder: give the folder of a saved tokenizer "
            "(preparation reads nothing from the network)"
        )
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def length_check(
    recipe: str | None, overrides: dict[str, str], tokenizer_dir: str | None
) -> LengthCheck:
    """The check for a run of ``recipe`` with ``overrides``, measured with the tokenizer in
    ``tokenizer_dir`` when given."""
    max_seq_length, truncate = run_settings(recipe, overrides)
    if tokenizer_dir:
        measure = f"the tokenizer and chat template in {tokenizer_dir}"
        return LengthCheck(max_seq_length, truncate, measure, load_tokenizer(tokenizer_dir))
    measure = f"an estimate: UTF-8 bytes of the turns' text / {BYTES_PER_TOKEN}"
    return LengthCheck(max_seq_length, truncate, measure)
