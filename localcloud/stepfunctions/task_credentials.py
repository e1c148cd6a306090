"""Step Functions tasks call their services as the state machine's role, not as moto's admin.

Moto's interpreter signs every task's call with made-up keys; here each call is signed with a
session of the state machine's role, so the local cloud's IAM evaluates it as AWS would.
"""

from __future__ import annotations

import importlib
from typing import Any

from moto.stepfunctions.parser.asl.utils import boto_client as moto_boto_client

from localcloud.iam import credentials
from localcloud.patching import Patches

# The session name of the state machine role's session the local cloud signs task calls with.
SESSION = "StepFunctions"
# Where moto's interpreter imported ``boto_client_for`` by name: each gets the role's version.
_CLIENT_USERS = (
    "state_map.result_writer.resource_eval.resource_eval_s3",
    "state_map.item_reader.eval.resource_eval_s3",
    "state_task.lambda_eval_utils",
    "state_task.service.state_task_service_unsupported",
    "state_task.service.state_task_service_events",
    "state_task.service.state_task_service_sqs",
    "state_task.service.state_task_service_sfn",
    "state_task.service.state_task_service_dynamodb",
    "state_task.service.state_task_service_batch",
    "state_task.service.state_task_service_sns",
    "state_task.service.state_task_service_aws_sdk",
    "state_task.service.state_task_service_glue",
    "state_task.service.state_task_service_ecs",
)
_STATES_PACKAGE = "moto.stepfunctions.parser.asl.component.state.exec."
PATCHES = Patches()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's client for a task's service call, with the state machine role's credentials.

    Step Functions makes a task's calls with the state machine's role (or the state's
    ``Credentials.RoleArn``) (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html);
    moto signs them with made-up keys. A call without credentials (the local cloud stopping a
    job whose execution ended) is the service's own.
    """
    client = moto_boto_client.boto_client_for(region, service, state_credentials)
    role = getattr(state_credentials, "role_arn", None)
    keys = credentials.for_role(role, credentials.STATES, SESSION)
    if keys is credentials.ADMIN:
        return client
    return moto_boto_client.boto3.client(
        service,
        region_name=region,
        endpoint_url=client.meta.endpoint_url,
        config=client.meta.config,
        **keys.client_kwargs(),
    )


def install() -> Patches:
    """Give every task's service call the role's keys (idempotent); :func:`uninstall` undoes
    it."""
    if not PATCHES.applied:
        for name in _CLIENT_USERS:
            module = importlib.import_module(_STATES_PACKAGE + name)
            PATCHES.set(module, "boto_client_for", boto_client_for)
    return PATCHES


def uninstall() -> None:
    """Gives moto's interpreter back its own clients."""
    PATCHES.restore()
