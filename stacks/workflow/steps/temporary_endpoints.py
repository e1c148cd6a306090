"""The run's temporary endpoints: the fine-tuned model's, and the base model's and the
champion's when compared.

All go through the same states (create the model, its endpoint config and endpoint; poll until
InService; look up, settle and delete in the cleanup). A ``TemporaryEndpoint`` says how one of
them is called in state names, in ``$.run.names`` (the run plan), in the state data and in errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_stepfunctions as sfn

COMPARE_WITH_BASE = "$.run.evaluation.compare_with_base"
COMPARE_WITH_CHAMPION = "$.run.evaluation.compare_with_champion"
# Where the champion's look-up (``champion.py``) leaves its model data, when there is one.
CHAMPION_MODEL_DATA = "$.champion.model_data"


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

# The champion: the newest approved model package of the environment's group, or the model the
# serving stack pins (``evaluation.champion`` in the config).
CHAMPION = TemporaryEndpoint(
    label="champion",
    key_prefix="champion_",
    error_prefix="ChampionEndpoint",
    model_data=CHAMPION_MODEL_DATA,
)


def _flag(path: str) -> sfn.Condition:
    return sfn.Condition.and_(
        sfn.Condition.is_present(path), sfn.Condition.boolean_equals(path, True)
    )


def compare_with_base() -> sfn.Condition:
    """The run deploys the base model too (``evaluation.compare_with`` names ``base``)."""
    return _flag(COMPARE_WITH_BASE)


def compare_with_champion() -> sfn.Condition:
    """The run looks for a champion (``evaluation.compare_with`` names ``champion``)."""
    return _flag(COMPARE_WITH_CHAMPION)


def champion_found() -> sfn.Condition:
    """The look-up found a champion, so its endpoint is deployed and evaluated."""
    return sfn.Condition.is_present(CHAMPION_MODEL_DATA)
