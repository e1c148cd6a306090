"""The GitOps pipeline (CDK Pipelines) in the tooling account: ``pipeline_stack.PipelineStack``."""
