"""The stopped-run cleanup's role: exactly the calls its tasks make.

It finds the run's names, looks up the run's first job (``<run>-prepare``, which names the
execution that started the run), looks up and deletes the run's temporary endpoints with their
configs and models (the same ``*-eval`` and ``*-base`` names the training state machine's role
creates them under, built by the same ``run_suffix_arn``), and reports to the topic.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.workflow.roles import run_suffix_arn, statement
from stacks.workflow.steps.temporary_endpoints import BASE, CHAMPION, EVALUATION

# (Sid ending, SageMaker actions, resource type, the resource's key in the run plan)
_DELETES = (
    (
        "Endpoint",
        ["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"],
        "endpoint",
        "endpoint",
    ),
    ("EndpointConfig", ["sagemaker:DeleteEndpointConfig"], "endpoint-config", "endpoint_config"),
    ("Model", ["sagemaker:DeleteModel"], "model", "model"),
)


def stopped_run_cleanup_statements(
    scope: Construct, *, validator_arn: str, key: kms.IKey, topic_arn: str
) -> list[iam.PolicyStatement]:
    """Exactly the calls the stopped-run cleanup's tasks make.

    Args:
        scope: where the ARNs are built (the stack's partition, region and account).
        validator_arn: the validation Lambda, called for the run's names.
        key: the key the topic is encrypted with.
        topic_arn: the run notifications topic.
    """
    statements = [
        statement("FindRunNames", ["lambda:InvokeFunction"], [validator_arn]),
        statement(
            "FindWhoStartedTheRun",
            ["sagemaker:DescribeProcessingJob"],
            [run_suffix_arn(scope, "processing-job", "prepare_job")],
        ),
    ]
    for endpoint in (EVALUATION, BASE, CHAMPION):
        statements += [
            statement(
                f"CleanUp{endpoint.label.capitalize()}{what}",
                actions,
                [run_suffix_arn(scope, resource, endpoint.key(name_key))],
            )
            for what, actions, resource, name_key in _DELETES
        ]
    return [
        *statements,
        statement("Notify", ["sns:Publish"], [topic_arn]),
        statement("UseKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn]),
    ]
