"""What a state machine's role must be allowed for each optimised SageMaker integration.

Step Functions makes calls of its own beside the request a task sends: it lists the tags of
what it creates, and for ``.sync`` it keeps an EventBridge managed rule to learn when the job
ends, and describes or stops the job. The local integration makes none of those calls, so it
checks, at task start, that the role may do all of them, as AWS documents them:

- "IAM policies for Amazon SageMaker AI" in the Step Functions developer guide
  (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html), the policies
  Step Functions generates: for CreateTrainingJob, ``sagemaker:CreateTrainingJob`` on the job,
  ``sagemaker:ListTags`` on ``*``, ``iam:PassRole`` on the job's role with
  ``iam:PassedToService`` = ``sagemaker.amazonaws.com``, and for ``.sync`` also
  ``sagemaker:DescribeTrainingJob`` and ``sagemaker:StopTrainingJob`` on the job and
  ``events:PutTargets``, ``events:PutRule``, ``events:DescribeRule`` on
  ``arn:aws:events:<region>:<account>:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule``.
- The page shows CreateTrainingJob and CreateTransformJob only. CreateProcessingJob is given
  the same policy with its own rule, ``StepFunctionsGetEventsForSageMakerProcessingJobsRule``:
  the managed rules' naming (``StepFunctionsGetEventsForSageMaker<Kind>JobsRule``) and the name
  used in public setup policies for Step Functions' SageMaker workflows, not confirmed on an
  AWS page. CreateModel, CreateEndpointConfig,
  CreateEndpoint and UpdateEndpoint are as the policies aws-cdk-lib generates for its
  SageMaker tasks (``aws-stepfunctions-tasks/lib/sagemaker/*.js``): the create on its
  resource, ``sagemaker:ListTags`` on ``*`` for the creates, ``iam:PassRole`` for the model's
  role.

AWS grants ``sagemaker:ListTags`` on ``*`` without saying which ARN Step Functions lists; it is
checked here on the resource the task creates, so a grant scoped to it passes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from localcloud.iam import hook
from localcloud.iam.requests import Needed
from localcloud.stepfunctions.task_credentials import SESSION

SAGEMAKER: Final[str] = "sagemaker.amazonaws.com"
_RESOURCE: Final[str] = "arn:aws:states:::sagemaker:"
_RULE_ACTIONS: Final[tuple[str, ...]] = (
    "events:PutTargets",
    "events:PutRule",
    "events:DescribeRule",
)


@dataclass(frozen=True)
class Integration:
    """One optimised SageMaker API as Step Functions calls it.

    Attributes:
        resource_type: the SageMaker resource type it creates or changes (``training-job``).
        name_member: the request member naming that resource.
        list_tags: Step Functions lists the resource's tags.
        passed_role: the request member holding the role passed to SageMaker, if any.
        sync_actions: what ``.sync`` adds on the resource (describe, stop).
        sync_rule: the EventBridge managed rule ``.sync`` keeps.
    """

    resource_type: str
    name_member: str
    list_tags: bool = True
    passed_role: str | None = None
    sync_actions: tuple[str, ...] = ()
    sync_rule: str | None = None


INTEGRATIONS: Final[dict[str, Integration]] = {
    "createtrainingjob": Integration(
        "training-job",
        "TrainingJobName",
        passed_role="RoleArn",
        sync_actions=("sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"),
        sync_rule="StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    ),
    "createprocessingjob": Integration(
        "processing-job",
        "ProcessingJobName",
        passed_role="RoleArn",
        sync_actions=("sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"),
        sync_rule="StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    ),
    "createmodel": Integration("model", "ModelName", passed_role="ExecutionRoleArn"),
    "createendpointconfig": Integration("endpoint-config", "EndpointConfigName"),
    "createendpoint": Integration("endpoint", "EndpointName"),
    "updateendpoint": Integration("endpoint", "EndpointName", list_tags=False),
}


def required(
    api_action: str,
    sync: bool,
    parameters: Mapping[str, Any],
    account: str,
    region: str,
) -> list[Needed]:
    """Every permission AWS documents for ``api_action`` (``createTrainingJob``...) beyond the
    request itself, for the resource ``parameters`` name; empty for an API not listed."""
    integration = INTEGRATIONS.get(api_action.lower())
    if integration is None:
        return []
    name = str(parameters.get(integration.name_member, "")).lower()
    resource = f"arn:aws:sagemaker:{region}:{account}:{integration.resource_type}/{name}"
    verb = api_action[0].upper() + api_action[1:]
    result = [Needed(f"sagemaker:{verb}", resource, {})]
    if sync:
        result += [Needed(action, resource, {}) for action in integration.sync_actions]
    if integration.list_tags:
        result.append(Needed("sagemaker:ListTags", resource, {}))
    role = parameters.get(integration.passed_role) if integration.passed_role else None
    if role:
        result.append(Needed("iam:PassRole", str(role), {"iam:passedtoservice": [SAGEMAKER]}))
    if sync and integration.sync_rule:
        rule = f"arn:aws:events:{region}:{account}:rule/{integration.sync_rule}"
        result += [Needed(action, rule, {}) for action in _RULE_ACTIONS]
    return result


def managed_rule_refusal(role_arn: str) -> str:
    """What Step Functions says when the role may not keep a ``.sync`` managed rule.

    CreateStateMachine and UpdateStateMachine answer it with ``AccessDeniedException`` for a
    definition with ``.sync`` tasks whose role lacks the rule's grants (as reported in
    aws-samples/amazon-sagemaker-safe-deployment-pipeline issue 29 and
    serverless-operations/serverless-step-functions issue 385).
    """
    return f"'{role_arn}' is not authorized to create managed-rule."


def _tasks(states: Mapping[str, Any]) -> list[str]:
    """The Resource of every Task, in Parallel branches and Map item processors too."""
    found = []
    for state in states.values():
        found.append(str(state.get("Resource", "")))
        for branch in state.get("Branches") or []:
            found += _tasks(branch.get("States") or {})
        inner = state.get("ItemProcessor") or state.get("Iterator") or {}
        found += _tasks(inner.get("States") or {})
    return found


def managed_rules_denied(definition: str, role_arn: str, region: str) -> bool:
    """The role may not keep a managed rule a ``.sync`` SageMaker task of ``definition`` needs
    (False when the role does not exist or enforcement is off)."""
    try:
        states = json.loads(definition).get("States") or {}
    except (ValueError, AttributeError):
        return False  # the definition check refuses it
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    needs = []
    for resource in _tasks(states):
        action, _, pattern = resource.removeprefix(_RESOURCE).partition(".")
        integration = INTEGRATIONS.get(action.lower()) if resource.startswith(_RESOURCE) else None
        if integration is not None and pattern == "sync" and integration.sync_rule:
            rule = f"arn:aws:events:{region}:{account}:rule/{integration.sync_rule}"
            needs += [Needed(a, rule, {}) for a in _RULE_ACTIONS]
    return bool(needs) and hook.denial(role_arn, SESSION, region, needs) is not None
