"""Least-privilege roles: what they share (statement and ARN helpers).

Every statement names its actions one by one (no ``*`` in actions, no managed policies). Where
a resource ends in a wildcard, it is the per-run part of a name: runs are named at execution
time (``<run_name>-train``, ``runs/<run_name>/``), so the suffix or prefix is all that is known
at synth time. The roles themselves: ``sagemaker_role.py`` (the jobs), ``endpoint_role.py`` (the
temporary endpoints' models, read-only), ``state_machine_role.py`` and
``stopped_run_cleanup_role.py``.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contracts import workflow as contract


def statement(
    sid: str, actions: list[str], resources: list[str], **conditions: dict
) -> iam.PolicyStatement:
    """One Allow statement; its ``sid`` is the key of its cdk-nag reason, if it needs one."""
    return iam.PolicyStatement(
        sid=sid, actions=actions, resources=resources, conditions=conditions or None
    )


def sagemaker_arn(scope: Construct, resource: str, name: str) -> str:
    """``arn:<partition>:sagemaker:<region>:<account>:<resource>/<name>``."""
    return Stack.of(scope).format_arn(service="sagemaker", resource=resource, resource_name=name)


def run_suffix_arn(scope: Construct, resource: str, name_key: str) -> str:
    """The ARN pattern of every run's resource named ``<run_name><suffix>``."""
    return sagemaker_arn(scope, resource, "*" + contract.NAME_SUFFIXES[name_key])


def runs_objects(artifacts_arn: str, pattern: str = "*") -> str:
    """Objects under the artifacts bucket's ``runs/`` prefix matching ``pattern``."""
    return f"{artifacts_arn}/{contract.RUNS_PREFIX}{pattern}"
