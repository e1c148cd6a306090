"""The serving endpoint of the pinned model: ``serving_stack.ServingStack``.

Nothing is imported here, so that ``stacks.config_schema`` can use ``instances`` without
starting the CDK runtime (the command-line interface loads the configuration too).
"""
