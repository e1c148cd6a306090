"""Writes the bundled text-to-SQL sample, ``sample_data/text_to_sql.jsonl``, from templates.

    python sample_data/generate_text_to_sql.py            # rewrites the committed file
    python sample_data/generate_text_to_sql.py --output /tmp/x.jsonl --count 500

Records look like b-mc2/sql-create-context: ``{"question", "context", "answer"}``, where the
context is the ``CREATE TABLE`` statement and the answer one line of SQL that runs against it.
The tables are generated from ``sql_vocabulary`` with a fixed seed, so the output is the same
byte for byte on every machine. The mapping is regular enough for a 135M model to learn in a
few hundred LoRA steps, and specific enough (column names, quoting, no trailing semicolon)
that an untouched instruct model almost never matches an answer exactly.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from sql_vocabulary import ENTITIES, NAMES, NUMBER_COLUMNS, TEXT_COLUMNS

SEED = 1234
DEFAULT_COUNT = 3000
DEFAULT_OUTPUT = Path(__file__).with_name("text_to_sql.jsonl")


@dataclass(frozen=True)
class Table:
    """One generated table: a name column, two text columns, two integer columns."""

    singular: str
    plural: str
    texts: tuple[str, ...]
    numbers: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.plural.replace(" ", "_")

    def create_statement(self) -> str:
        columns = ["name TEXT", *(f"{c} TEXT" for c in self.texts)]
        columns += [f"{c} INTEGER" for c in self.numbers]
        return f"CREATE TABLE {self.name} ({', '.join(columns)})"


def words(column: str) -> str:
    return column.replace("_", " ")


def make_tables(rng: random.Random) -> list[Table]:
    tables = []
    for singular, plural in ENTITIES:
        texts = tuple(rng.sample(list(TEXT_COLUMNS), 2))
        numbers = tuple(rng.sample(list(NUMBER_COLUMNS), 2))
        tables.append(Table(singular, plural, texts, numbers))
    return tables


# (question, answer) pairs; {t} table, {s}/{p} entity singular/plural, {text}/{number} column
# names and {tw}/{nw} the same read as words, {value}/{name}/{n}/{a}/{b} drawn values.
TEMPLATES = [
    ("How many {p} are there?", "SELECT COUNT(*) FROM {t}"),
    ("How many {p} have {tw} {value}?", "SELECT COUNT(*) FROM {t} WHERE {text} = '{value}'"),
    ("What is the {tw} of the {s} named {name}?", "SELECT {text} FROM {t} WHERE name = '{name}'"),
    ("What is the {nw} of the {s} named {name}?", "SELECT {number} FROM {t} WHERE name = '{name}'"),
    ("List the names of {p} with {nw} above {n}.", "SELECT name FROM {t} WHERE {number} > {n}"),
    ("List the names of {p} with {nw} below {n}.", "SELECT name FROM {t} WHERE {number} < {n}"),
    ("What is the average {nw} of all {p}?", "SELECT AVG({number}) FROM {t}"),
    ("What is the highest {nw} among {p}?", "SELECT MAX({number}) FROM {t}"),
    ("What is the lowest {nw} among {p}?", "SELECT MIN({number}) FROM {t}"),
    (
        "What is the total {nw} of {p} with {tw} {value}?",
        "SELECT SUM({number}) FROM {t} WHERE {text} = '{value}'",
    ),
    ("List the distinct {tw} values of {p}.", "SELECT DISTINCT {text} FROM {t}"),
    (
        "Show the name and {nw} of all {p}, ordered by {nw} descending.",
        "SELECT name, {number} FROM {t} ORDER BY {number} DESC",
    ),
    ("How many {p} are there for each {tw}?", "SELECT {text}, COUNT(*) FROM {t} GROUP BY {text}"),
    (
        "Which {tw} has the most {p}?",
        "SELECT {text} FROM {t} GROUP BY {text} ORDER BY COUNT(*) DESC LIMIT 1",
    ),
    (
        "Find the names of {p} with {nw} between {a} and {b}.",
        "SELECT name FROM {t} WHERE {number} BETWEEN {a} AND {b}",
    ),
    (
        "What is the name of the {s} with the highest {nw}?",
        "SELECT name FROM {t} ORDER BY {number} DESC LIMIT 1",
    ),
    (
        "List the names of {p} with {tw} {value} and {nw} above {n}.",
        "SELECT name FROM {t} WHERE {text} = '{value}' AND {number} > {n}",
    ),
]


def make_record(table: Table, rng: random.Random) -> tuple[str, str]:
    """One (question, answer) pair from a template picked at random."""
    text = rng.choice(table.texts)
    number = rng.choice(table.numbers)
    low, high = NUMBER_COLUMNS[number]
    a, b = sorted(rng.sample(range(low, high + 1), 2))
    fields = {
        "t": table.name,
        "s": table.singular,
        "p": table.plural,
        "text": text,
        "number": number,
        "tw": words(text),
        "nw": words(number),
        "value": rng.choice(TEXT_COLUMNS[text]),
        "n": rng.randint(low, high),
        "a": a,
        "b": b,
        "name": rng.choice(NAMES),
    }
    question, answer = rng.choice(TEMPLATES)
    return question.format(**fields), answer.format(**fields)


def generate(count: int = DEFAULT_COUNT, seed: int = SEED) -> list[dict[str, str]]:
    """``count`` distinct records, the same list for the same arguments."""
    rng = random.Random(seed)
    tables = make_tables(rng)
    records, seen = [], set()
    while len(records) < count:
        table = rng.choice(tables)
        question, answer = make_record(table, rng)
        if question in seen:  # the question names the table, so it fixes the answer
            continue
        seen.add(question)
        context = table.create_statement()
        records.append({"question": question, "context": context, "answer": answer})
    return records


def write(records: list[dict[str, str]], path: Path) -> None:
    """One JSON object per line, UTF-8, ``\\n`` line ends: byte-for-byte reproducible."""
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    path.write_bytes(lines.encode("utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the sample text-to-SQL dataset.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    records = generate(args.count, args.seed)
    write(records, args.output)
    print(f"wrote {len(records)} records to {args.output}")


if __name__ == "__main__":
    main()
