"""The local cloud: the project's AWS services on one machine, and the small models it runs."""
