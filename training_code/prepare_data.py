"""Data preparation entry point (a SageMaker Processing job, or a plain local command).

    python prepare_data.py --input-dir DIR --output-dir DIR [--dataset-id HF_ID[:SPLIT]]
        [--format auto|jsonl|csv|parquet] [--on-bad-record fail|skip] [--field FIELD=COLUMN]
        [--recipe lora] [--max-seq-length N] [--truncate true|false]
        [--validation-fraction 0.1] [--test-fraction 0.1] [--seed 42]
        [--max-test-samples N] [--tokenizer-dir DIR] [--failure-file PATH]

Reads every record (columns renamed by ``--field``), normalises it to chat ``messages`` with
``chat_format.normalise_record``, checks its length against the run's ``max_seq_length``
(``sample_length``), reports bad records by file and line (``--on-bad-record fail`` stops at the
first, ``skip`` drops and counts them), removes duplicate conversations (naming the first few),
splits with ``--seed`` and writes
OUTPUT/train/train.jsonl, OUTPUT/validation/validation.jsonl, OUTPUT/test/test.jsonl and
OUTPUT/stats.json. On failure it exits 1 with a one-line reason as the last line on stderr,
also written to ``--failure-file`` or ``$SM_OUTPUT_FAILURE`` when given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import chat_format
import data_split
import field_mapping
import record_readers
import sample_length
from config_values import ConfigError

SPLITS = ("train", "validation", "test")
MAX_REPORTED = 50  # bad records listed one by one in stats.json; the rest are counted
MAX_DUPLICATES_REPORTED = 10
FAILURE_ENV = "SM_OUTPUT_FAILURE"


class BadRecordError(ValueError):
    """A record rejected under ``--on-bad-record fail``."""


def _non_negative_int(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input-dir", type=Path, help="folder of data files (recursive)")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--dataset-id", help="Hugging Face dataset id, optionally ID:SPLIT")
    parser.add_argument("--format", choices=record_readers.FORMATS, default="auto")
    parser.add_argument("--on-bad-record", choices=("fail", "skip"), default="fail")
    parser.add_argument("--validation-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-test-samples", type=_non_negative_int, default=None)
    parser.add_argument("--field", action="append", default=[], help="FIELD=COLUMN, repeatable")
    parser.add_argument("--recipe", help="the run's recipe: its max_seq_length and truncate")
    parser.add_argument("--max-seq-length", help="the run's max_seq_length, if it overrides")
    parser.add_argument("--truncate", help="the run's truncate, if it overrides the recipe's")
    parser.add_argument("--tokenizer-dir", help="saved tokenizer folder: exact token lengths")
    parser.add_argument("--failure-file", type=Path, help="where to write the failure reason")
    args = parser.parse_args(argv)
    if args.input_dir is None and args.dataset_id is None:
        parser.error("give --input-dir or --dataset-id")
    for name in ("validation_fraction", "test_fraction"):
        value = getattr(args, name)
        if not 0.0 <= value < 1.0:
            parser.error(f"--{name.replace('_', '-')} must be in [0, 1), got {value}")
    if args.validation_fraction + args.test_fraction >= 1.0:
        parser.error(
            "--validation-fraction + --test-fraction must be below 1, to leave records to train on"
        )
    return args


def length_check(args: argparse.Namespace) -> sample_length.LengthCheck:
    """The run's length limit: the recipe's values, unless the run overrides them."""
    overrides = {
        key: value
        for key, value in (("max_seq_length", args.max_seq_length), ("truncate", args.truncate))
        if value is not None
    }
    return sample_length.length_check(args.recipe, overrides, args.tokenizer_dir)


def _checked(item: record_readers.RawRecord, fields: dict[str, str], limit: Any) -> tuple:
    """``(record, None, None)`` for a usable record, else ``(None, kind, problem)``."""
    if item.error is not None:
        return None, "bad_record", item.error
    try:
        record = chat_format.normalise_record(item.value)
    except chat_format.RecordError as error:
        return None, "bad_record", field_mapping.describe(error, fields)
    too_long = limit.problem(record["messages"])
    if too_long is not None:
        return None, "too_long", too_long
    record["metadata"]["source"] = item.where
    return record, None, None


def load_records(
    args: argparse.Namespace, limit: sample_length.LengthCheck
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Reads and normalises every record; returns the good ones and the reading statistics."""
    fields = field_mapping.parse_arguments(args.field)
    if args.dataset_id:
        raw = record_readers.read_hub_dataset(args.dataset_id, fields)
        sources = [{"dataset_id": args.dataset_id}]
    else:
        files = record_readers.data_files(args.input_dir, args.format)
        raw = record_readers.read_files(files, fields)
        sources = [{"path": str(path), "format": kind} for path, kind in files]
    good, bad, reasons, kinds = [], [], Counter(), Counter()
    for item in raw:
        record, kind, problem = _checked(item, fields, limit)
        if record is None:
            if args.on_bad_record == "fail":
                raise BadRecordError(f"{item.where}: {problem}") from None
            reasons[problem] += 1
            kinds[kind] += 1
            if len(bad) < MAX_REPORTED:
                bad.append({"where": item.where, "problem": problem})
            continue
        good.append(record)
    read = len(good) + sum(reasons.values())
    if not good:
        raise BadRecordError(f"no usable records among {read} read from {sources}")
    stats = {
        "sources": sources,
        "fields": fields,
        "records_read": read,
        "bad_records": bad,
        "bad_reasons": reasons,
        "bad_kinds": kinds,
    }
    return good, stats


def write_outputs(output_dir: Path, splits: dict[str, list[dict[str, Any]]]) -> None:
    for name in SPLITS:
        folder = output_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for record in splits[name]:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the whole preparation; returns the statistics written to stats.json."""
    limit = length_check(args)
    records, stats = load_records(args, limit)
    records, duplicates = data_split.deduplicate(records)
    splits = data_split.split(
        records,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
        max_test=args.max_test_samples,
    )
    write_outputs(args.output_dir, splits)
    reasons, kinds = stats.pop("bad_reasons"), stats.pop("bad_kinds")
    stats.update(
        {
            "valid_records": len(records) + len(duplicates),
            "dropped": {
                "bad_record": kinds["bad_record"],
                "too_long": kinds["too_long"],
                "duplicate": len(duplicates),
            },
            "dropped_reasons": dict(reasons.most_common()),
            "duplicates": duplicates[:MAX_DUPLICATES_REPORTED],
            "length_check": limit.summary(),
            # Callers of the trained model send the same system turn (docs/training.md).
            "system_prompts": chat_format.ADDED_SYSTEM_PROMPTS,
            "splits": {name: len(splits[name]) for name in SPLITS},
            "tasks": dict(Counter(r["metadata"]["task"] for r in records)),
            "seed": args.seed,
            "fractions": {"validation": args.validation_fraction, "test": args.test_fraction},
            "char_lengths": {
                name: data_split.percentiles([len(json.dumps(r["messages"])) for r in rows])
                for name, rows in splits.items()
            },
        }
    )
    if limit.tokenizer is not None:
        stats["token_lengths"] = {
            name: data_split.percentiles([limit.tokens(r["messages"]) for r in rows])
            for name, rows in splits.items()
        }
    (args.output_dir / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return stats


def fail(message: str, failure_file: Path | None) -> int:
    """Reports a failure: the failure file(s) if asked, and the last line on stderr."""
    targets = [failure_file, os.environ.get(FAILURE_ENV)]
    for target in filter(None, targets):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(message + "\n")
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        stats = prepare(args)
    except (BadRecordError, record_readers.InputError, ConfigError, ValueError) as error:
        return fail(str(error), args.failure_file)
    print(
        f"prepared {stats['splits']} from {stats['records_read']} records "
        f"(dropped {stats['dropped']}) into {args.output_dir}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
