"""The training benchmark's step timer: what one step's time includes."""

from __future__ import annotations

import time

from benchmarks import train_benchmark

GAP = 0.1  # seconds the simulated trainer spends between steps (loading, logging)


def test_a_step_counts_the_loading_and_logging_around_it():
    timer = train_benchmark._timer()
    timer.on_train_begin(None, None, None)
    for seen in (100, 300, 600):
        time.sleep(GAP / 2)  # the next step's batches load before on_step_begin
        timer.on_step_begin(None, None, None)
        timer.on_step_end(None, None, None)
        timer.on_log(None, None, None, logs={"num_tokens": seen})
        time.sleep(GAP / 2)  # the trainer logs after on_step_end

    assert timer.tokens == [100, 200, 300]
    # From one step's end to the next: both halves of the gap belong to the later step.
    assert all(t >= GAP for t in timer.times[1:])
