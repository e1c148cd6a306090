"""The CLI's stage summary names states the state machine has (a renamed state would otherwise
fold its stage silently into the one before)."""

from __future__ import annotations

from cli.stages import STAGES


def test_every_stage_begins_at_a_state_of_the_training_workflow(local_definition):
    states = set(local_definition["States"])
    for stage, starts in STAGES:
        assert set(starts) <= states, (stage, set(starts) - states)
