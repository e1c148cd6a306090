"""Step Functions in the local cloud: state machines that execute, with AWS's limits."""
