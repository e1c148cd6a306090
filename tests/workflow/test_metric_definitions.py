"""The training job's metric definitions read what train.py prints."""

from __future__ import annotations

import re

from contracts.metrics import METRIC_DEFINITIONS

LINE = (
    "[metrics] step=20 train_loss=0.41 grad_norm=0.52 learning_rate=0.00048 "
    "num_tokens=81920 epoch=0.31 tokens_per_second=212.4"
)


def test_each_regex_reads_its_value_from_a_metric_line():
    values = {d["Name"]: re.search(d["Regex"], LINE) for d in METRIC_DEFINITIONS}
    assert values["train:loss"].group(1) == "0.41"
    assert values["train:learning_rate"].group(1) == "0.00048"
    assert values["train:tokens_per_second"].group(1) == "212.4"
    assert values["train:epoch"].group(1) == "0.31"
    assert values["validation:loss"] is None
    eval_line = "[metrics] step=20 eval_loss=0.17 eval_runtime=4.7"
    assert re.search(METRIC_DEFINITIONS[1]["Regex"], eval_line).group(1) == "0.17"
