"""A followed execution's states, grouped into the stages a person thinks in.

The stages are the README's (*What make demo does*): each begins at the first of its states that
the execution enters, and every state after it counts towards it until the next stage begins,
so retries, waits and zero-second choices add to the stage they belong to. A run that fails goes
from its stage straight to the clean-up.
"""

from __future__ import annotations

# Stage name -> the states that begin it (state names of stacks/workflow/, checked by a test).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("validate + prepare the data", ("Validate the input",)),
    ("train (the model exported and kept)", ("Train the model",)),
    ("endpoints in service", ("Create the evaluation model",)),
    ("evaluate", ("Evaluate the model",)),
    (
        "clean-up, registration, notification",
        ("Read the evaluation report", "Look up the evaluation endpoint"),
    ),
)


def stage_durations(states: list[tuple[str, float]]) -> dict[str, float]:
    """Seconds per stage reached, in stage order, for ``Timeline.states`` (name, seconds)."""
    totals: dict[str, float] = {}
    current = 0
    for state, seconds in states:
        for index, (_, starts) in enumerate(STAGES):
            if state in starts and index > current:
                current = index
        name = STAGES[current][0]
        totals[name] = totals.get(name, 0.0) + seconds
    return totals


def stage_table(states: list[tuple[str, float]], before: dict[str, float] | None = None) -> str:
    """The stages as lines of name and duration, after the ``before`` rows (the demo's own
    set-up), ending with the total."""
    rows = {**(before or {}), **stage_durations(states)}
    rows["total"] = sum(rows.values())
    return "\n".join(f"  {name:<44}{_clock(seconds):>12}" for name, seconds in rows.items())


def _clock(seconds: float) -> str:
    """``4.2 s`` under a minute, else ``2 min 58 s`` (as the README writes them)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
