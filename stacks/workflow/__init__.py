"""The training workflow stack: state machine, roles, code assets, network, monitoring."""

from stacks.workflow.workflow_stack import TrainingWorkflowStack

__all__ = ["TrainingWorkflowStack"]
