"""The training workflow stack: state machine, roles, code assets, network, monitoring."""
