"""Nothing pinned: the Serving stack exists in every environment, with no endpoint."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("stage", ["Dev", "Staging", "Prod"])
def test_pipeline_stages_have_a_serving_stack_without_endpoint(pipeline, stage):
    template = pipeline.templates[(stage, "Serving")]
    assert {r["Type"] for r in template["Resources"].values()} == {"AWS::IAM::Role"}
    assert "Outputs" not in template


def test_local_has_a_serving_stack_without_endpoint(local):
    """What the local cloud deploys: one IAM role, nothing moto cannot create."""
    resources = local.templates[("Local", "Serving")]["Resources"]
    (role,) = resources.values()
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["RoleName"] == "llm-finetune-local-serving-us-east-1"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }


def test_nothing_pinned_grants_nothing_across_accounts(pipeline):
    for stage in ("Dev", "Staging", "Prod"):
        storage = pipeline.templates[(stage, "Storage")]
        assert "ServeModelsIn" not in str(storage)
        (group,) = pipeline.resources(
            stage, "Workflow", "AWS::SageMaker::ModelPackageGroup"
        ).values()
        assert "ModelPackageGroupPolicy" not in group["Properties"]
