"""The run's temporary endpoints: the fine-tuned model's, and the base model's when compared.

Both go through the same states (create the model, its endpoint config and endpoint; poll until
InService; look up, settle and delete in the cleanup). A ``TemporaryEndpoint`` says how one of
them is called in state names, in ``$.run.names`` (the run plan), in the state data and in errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_stepfunctions as sfn

COMPARE_WITH_BASE = "$.run.evaluation.compare_with_base"


@dataclass(frozen=True)
class TemporaryEndpoint:
    """One temporary endpoint with its model and endpoint config.

    Attributes:
        label: the word in its state names and messages ("Create the <label> model").
        key_prefix: prefix of its keys in ``$.run.names``, ``$.deployed`` and ``$.cleanup``.
        error_prefix: prefix of the errors its poll records (``<prefix>Failed``, ...).
        model_data: JSONPath of the S3 prefix of the model it serves.
    """

    label: str
    key_prefix: str
    error_prefix: str
    model_data: str

    def key(self, kind: str) -> str:
        """Its key for ``kind``: ``model``, ``endpoint_config``, ``endpoint``, ``lookup``..."""
        return self.key_prefix + kind

    def name(self, kind: str) -> str:
        """JSONPath of its resource name of ``kind`` in the run plan."""
        return f"$.run.names.{self.key(kind)}"


EVALUATION = TemporaryEndpoint(
    label="evaluation",
    key_prefix="",
    error_prefix="EvaluationEndpoint",
    model_data="$.training.model_data",
)
# The base model comes from where training took it: the input's s3:// prefix (the validation
# rejects compare_with_base for a Hub id).
BASE = TemporaryEndpoint(
    label="base", key_prefix="base_", error_prefix="BaseEndpoint", model_data="$.run.base_model"
)


def compare_with_base() -> sfn.Condition:
    """The run deploys the base model too (``evaluation.compare_with_base`` in the input)."""
    return sfn.Condition.and_(
        sfn.Condition.is_present(COMPARE_WITH_BASE),
        sfn.Condition.boolean_equals(COMPARE_WITH_BASE, True),
    )
