"""A standard state machine that logs every event, execution data included, and traces with X-Ray.

Both of the workflow's state machines (the training one and the stopped-run cleanup) are built
here, so they are observed the same way.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.encrypted_logs import EncryptedLogs


def logged_state_machine(
    scope: Construct,
    *,
    log_name: str,
    comment: str,
    definition: sfn.IChainable,
    role: iam.IRole,
    logs: EncryptedLogs,
) -> sfn.StateMachine:
    """The state machine ``StateMachine`` in ``scope``, logging to its own group ``Logs``.

    Args:
        log_name: the end of the log group's name, ``/aws/vendedlogs/states/<stack>-<log_name>``.
        comment: the definition's comment, shown in the console.
        definition: the first state, chained to the rest.
        role: the role its tasks run as; CDK adds the logging and X-Ray statements to it.
        logs: the environment's log groups; the execution data it logs is customer data.
    """
    log_group = logs.log_group(
        scope,
        "Logs",
        # Step Functions needs no log resource policy for groups under /aws/vendedlogs/.
        name=f"/aws/vendedlogs/states/{Stack.of(scope).stack_name}-{log_name}",
    )
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        comment=comment,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD,
        role=role,
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
        ),
        tracing_enabled=True,
    )
    # Wait for the policy CDK adds (logs, X-Ray); the role itself is already ordered by the
    # RoleArn's Fn::GetAtt, and naming it again is redundant (cfn-lint W3005).
    generated = role.node.find_child("DefaultPolicy").node.default_child
    state_machine.node.default_child.add_override(
        "DependsOn", [Stack.of(scope).get_logical_id(generated)]
    )
    return state_machine
