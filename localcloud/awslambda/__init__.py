"""Lambda in the local cloud: Python functions run in a subprocess, without Docker."""
