"""The metric lines train.py prints, read back as training job metrics.

train.py prints lines such as
``[metrics] step=20 epoch=0.4 train_loss=1.2345 learning_rate=0.0002 tokens_per_second=150.2``
(``train_callbacks.MetricLines``); the training job's ``MetricDefinitions`` are these regexes.
"""

from __future__ import annotations

_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
METRIC_DEFINITIONS: list[dict[str, str]] = [
    {"Name": "train:loss", "Regex": rf"\[metrics\].* train_loss={_NUMBER}"},
    {"Name": "validation:loss", "Regex": rf"\[metrics\].* eval_loss={_NUMBER}"},
    {"Name": "train:learning_rate", "Regex": rf"\[metrics\].* learning_rate={_NUMBER}"},
    {"Name": "train:tokens_per_second", "Regex": rf"\[metrics\].* tokens_per_second={_NUMBER}"},
    {"Name": "train:epoch", "Regex": rf"\[metrics\].* epoch={_NUMBER}"},
]
