"""The project's CDK constructs and stacks."""
