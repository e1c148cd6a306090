"""The pipeline's own steps: synth (with the tests), the staging smoke test, the prod approval."""

from __future__ import annotations

from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct

from stacks.config_schema import EnvironmentConfig
from stacks.serving import promotion
from stacks.serving.serving_stack import ServingStack

# The project's Makefile wants Python 3.11 (see README "Prerequisites").
PYTHON_RUNTIME = {"phases": {"install": {"runtime-versions": {"python": "3.11"}}}}
# What requirements.txt pins, so the smoke test talks to SageMaker with the same client.
BOTO3 = "boto3==1.44.5"


def synth_step(source: pipelines.IFileSetProducer) -> pipelines.CodeBuildStep:
    """Sets up, runs every test (``make test``), then synthesizes the pipeline's app."""
    return pipelines.CodeBuildStep(
        "Synth",
        input=source,
        install_commands=["make setup"],
        commands=[
            "make test",
            # app.py needs the project's virtual environment (cdk.json runs `python3 app.py`).
            'PATH="$PWD/.venv/bin:$PATH" npx cdk synth -c env=pipeline',
        ],
        primary_output_directory="cdk.out",
        partial_build_spec=codebuild.BuildSpec.from_object(PYTHON_RUNTIME),
        # The tests train tiny models and run the local cloud: 8 vCPUs, 16 GiB.
        build_environment=codebuild.BuildEnvironment(
            build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
            compute_type=codebuild.ComputeType.LARGE,
        ),
    )


def smoke_test_step(
    scope: Construct,
    source: pipelines.IFileSetProducer,
    serving: ServingStack,
    config: EnvironmentConfig,
) -> pipelines.CodeBuildStep:
    """Invokes ``serving``'s endpoint through the contract, as its smoke-test role (its
    runner role goes under ``scope``, the pipeline, with the other step roles)."""
    role_arn = promotion.role_arn(scope, config.account, promotion.smoke_test_role_name(config))
    # Named, so that the smoke-test role in the tested account trusts this role alone.
    runner = iam.Role(
        scope,
        f"SmokeTester{config.name.capitalize()}",
        role_name=promotion.smoke_tester_role_name(config),
        assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
        description=f"Runs the pipeline's smoke test of {config.name}'s endpoint",
    )
    return pipelines.CodeBuildStep(
        "SmokeTest",
        input=source,
        env_from_cfn_outputs={"ENDPOINT_NAME": serving.endpoint_name_output},
        env={"SMOKE_TEST_ROLE_ARN": role_arn, "ENDPOINT_REGION": config.region},
        partial_build_spec=codebuild.BuildSpec.from_object(PYTHON_RUNTIME),
        install_commands=[f"pip install --quiet {BOTO3}"],
        commands=[
            'python3 stacks/pipeline/smoke_test.py --endpoint-name "$ENDPOINT_NAME" '
            '--region "$ENDPOINT_REGION" --role-arn "$SMOKE_TEST_ROLE_ARN"'
        ],
        role=runner,
        role_policy_statements=[
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role_arn])
        ],
    )


def prod_approval() -> pipelines.ManualApprovalStep:
    return pipelines.ManualApprovalStep(
        "PromoteToProd",
        comment=(
            "Staging deployed and its endpoint passed the smoke test. Approve to deploy this "
            "commit, and the model it pins, to prod (docs/gitops.md)."
        ),
    )
