"""The project's command-line interface: `python -m cli --help`."""
