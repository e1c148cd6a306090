"""Facts shared by the stacks, the CLI, the Lambdas and the job and serving code.

Standard library only, and importing nothing else of the project: the Lambda bundles and the
code assets carry this package beside their own modules, so each fact is written once here.

- ``workflow``: names, artifact layout, container paths and the run-name rule.
- ``metrics``: the metric lines train.py prints, as training job metric definitions.
- ``chat``: chat roles and the checks every message passes.
- ``ecr``: where AWS publishes its deep learning containers, and their image URIs.
- ``serving_images``: the pinned serving image and its container settings.
"""
