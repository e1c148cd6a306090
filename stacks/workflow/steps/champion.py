"""Finding the champion the new model must beat (``evaluation.compare_with: champion``).

Where ``evaluation.champion`` (config) says ``registry``, the champion is the newest Approved
version of the environment's model package group: ``ListModelPackages`` (filtered by
``ModelApprovalStatus``, ``SortBy=CreationTime``, ``SortOrder=Descending``, ``MaxResults=1``;
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListModelPackages.html), then
``DescribeModelPackage`` for its model data. With ``serving``, it is the model ``serving_model``
pins: a package version (described the same way) or an s3:// prefix (served as it is).

A package's model data is where the gate registered it (``gate_register.py``): the S3 prefix in
``InferenceSpecification.Containers[0].ModelDataSource.S3DataSource.S3Uri``. Those fields are
optional in the API (a package registered elsewhere may name a ``ModelDataUrl`` tarball
instead), and a missing path in a ResultSelector or Parameters raises ``States.Runtime``, which
no Catch catches: the description is kept whole, and Choice states look for each part. A
package without an S3 prefix fails the run as ``ChampionUnusable``, after the cleanup. List
items are taken with ``States.ArrayGetItem`` rather than ``[0]`` paths, whose results differ
between interpreters (a value on AWS, a one-item list in moto's)::

    Compare with the champion? --no--> (next)
    Find the champion -> Is there a champion? --no--> Note that there is no champion -> (next)
    Take the newest approved package -> Read the champion -> Does the champion have a container?
    -> Read the champion's container -> Does the champion have an S3 model?
        --yes--> Keep the champion's model -> Evaluate against the champion -> (deploy it)
        --no-->  Record the unusable champion -> (cleanup)

A run with no champion yet (the first) passes on the threshold alone, and its report says so.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.workflow.steps.common import ERROR_PATH, IDEMPOTENT, StepContext, task
from stacks.workflow.steps.temporary_endpoints import compare_with_champion

PACKAGE = "$.champion_package"
CONTAINERS = f"{PACKAGE}.InferenceSpecification.Containers"
CONTAINER = "$.champion_container"
MODEL_DATA = f"{CONTAINER}.first.ModelDataSource.S3DataSource.S3Uri"


class ChampionLookup:
    """The states from "Compare with the champion?" to the champion's run-plan arguments."""

    def __init__(self, scope: Construct, ctx: StepContext, *, model_package_group: str) -> None:
        self.scope = scope
        self.tasks: list[sfn.CustomState] = []
        self.no_champion: sfn.Pass | None = None
        self.wanted = sfn.Choice(
            scope,
            "Compare with the champion?",
            comment="evaluation.compare_with names champion: find it, then deploy it too",
        )
        self.use_arguments = sfn.Pass(
            scope,
            "Evaluate against the champion",
            comment="The evaluation job's arguments that name the champion's endpoint",
            input_path="$.run.evaluate.champion_arguments",
            result_path="$.run.evaluate.arguments",
        )
        self.record_unusable = sfn.Pass(
            scope,
            "Record the unusable champion",
            parameters={
                "Error": "ChampionUnusable",
                "Cause.$": "States.Format('The champion {} has no S3 model prefix "
                "(InferenceSpecification.Containers[0].ModelDataSource) to deploy; approve a "
                "package this workflow registered, or set evaluation.compare_with to base or "
                "none', $.champion_package.ModelPackageArn)",
            },
            result_path=ERROR_PATH,
        )
        source = ctx.config.evaluation.champion
        pin = ctx.config.serving_model
        if source == "registry":
            found = self._newest_approved(model_package_group)
        elif pin is None:
            found = self._none("serving_model pins no model in this environment")
        elif pin.startswith("s3://"):
            found = sfn.Pass(
                scope,
                "Keep the champion's model",
                parameters={"source": pin, "model_data": pin},
                result_path="$.champion",
            )
            found.next(self.use_arguments)
        else:
            found = self._described({"ModelPackageName": pin})
        self.wanted.when(compare_with_champion(), found)
        self.start: sfn.IChainable = self.wanted

    def _none(self, why: str) -> sfn.Pass:
        self.no_champion = sfn.Pass(
            self.scope,
            "Note that there is no champion",
            parameters={"why": why},
            result_path="$.champion",
        )
        return self.no_champion

    def _newest_approved(self, group: str) -> sfn.CustomState:
        find = task(
            self.scope,
            "Find the champion",
            "aws-sdk:sagemaker:listModelPackages",
            {
                "ModelPackageGroupName": group,
                "ModelApprovalStatus": "Approved",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 1,
            },
            retry=IDEMPOTENT,
            # ModelPackageSummaryList is a required member of the response (botocore's model).
            result_selector={
                "count.$": "States.ArrayLength($.ModelPackageSummaryList)",
                "packages.$": "$.ModelPackageSummaryList",
            },
            result_path="$.champion_lookup",
            comment="The newest Approved version of the environment's model package group",
        )
        self.tasks.append(find)
        exists = sfn.Choice(self.scope, "Is there a champion?")
        newest = sfn.Pass(
            self.scope,
            "Take the newest approved package",
            parameters={"summary.$": "States.ArrayGetItem($.champion_lookup.packages, 0)"},
            result_path="$.champion_newest",
        )
        newest.next(
            self._described({"ModelPackageName.$": "$.champion_newest.summary.ModelPackageArn"})
        )
        exists.when(sfn.Condition.number_greater_than("$.champion_lookup.count", 0), newest)
        exists.otherwise(self._none(f"{group} has no Approved model package yet"))
        find.next(exists)
        return find

    def _described(self, request: dict) -> sfn.CustomState:
        read = task(
            self.scope,
            "Read the champion",
            "aws-sdk:sagemaker:describeModelPackage",
            request,
            retry=IDEMPOTENT,
            result_path=PACKAGE,
        )
        self.tasks.append(read)
        has_container = sfn.Choice(self.scope, "Does the champion have a container?")
        container = sfn.Pass(
            self.scope,
            "Read the champion's container",
            parameters={"first.$": f"States.ArrayGetItem({CONTAINERS}, 0)"},
            result_path=CONTAINER,
        )
        keep = sfn.Pass(
            self.scope,
            "Keep the champion's model",
            parameters={"source.$": f"{PACKAGE}.ModelPackageArn", "model_data.$": MODEL_DATA},
            result_path="$.champion",
        )
        usable = sfn.Choice(self.scope, "Does the champion have an S3 model?")
        read.next(has_container)
        has_container.when(sfn.Condition.is_present(CONTAINERS), container)
        has_container.otherwise(self.record_unusable)
        container.next(usable)
        usable.when(sfn.Condition.is_present(MODEL_DATA), keep).otherwise(self.record_unusable)
        keep.next(self.use_arguments)
        return read

    def then(self, deploy: sfn.IChainable, without: sfn.IChainable, failed: sfn.IChainable) -> None:
        """``deploy`` the champion once found; else go on ``without`` it; ``failed`` if unusable."""
        self.use_arguments.next(deploy)
        self.wanted.otherwise(without)
        if self.no_champion is not None:
            self.no_champion.next(without)
        self.record_unusable.next(failed)
