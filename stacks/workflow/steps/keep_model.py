"""Stage 3b: keep the trained model where only the state machine writes.

The training job writes its model under ``runs/<run>/model/``, a prefix the jobs' role may write
for every run (run names are chosen at execution time), so a later job running untrusted code
could change a model staging and prod serve. Once the job has ended, the state machine copies
each file to the same key under ``models/``, which no job can write, and the evaluation
endpoint, the model package and every serving account use that copy::

    List the trained model's files      ListObjectsV2 of <S3OutputPath><job>/output/model/
    Was a model written?                none (or more than one listing): Record ... -> cleanup
    Keep the trained model              a Map: CopyObject of each file to models/<its key>
    Use the kept model                  $.training.model_data = the copy's prefix

A model is a folder of a few files (configuration, tokenizer, weights in shards of at most
4 GB, ``model_export.MAX_SHARD_SIZE``, within CopyObject's 5 GB limit).
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contracts import workflow as contract
from stacks.workflow.steps.common import ERROR_PATH, IDEMPOTENT, task

# Files listed at once: far more than a model folder holds, and a small part of the 256 KiB of
# state data (about 300 bytes each).
MAX_FILES = 200


class KeepModel:
    """The states above; ``tasks`` fail into the cleanup, ``then`` goes on after the copy."""

    def __init__(self, scope: Construct) -> None:
        listing = "$.model_listing"
        self.list_files = task(
            scope,
            "List the trained model's files",
            "aws-sdk:s3:listObjectsV2",
            {
                "Bucket.$": "$.run.model_files.bucket",
                "Prefix.$": "$.run.model_files.prefix",
                "MaxKeys": MAX_FILES,
            },
            retry=IDEMPOTENT,
            result_path=listing,
            comment="The files the training job wrote under runs/<run>/model/",
        )
        written = sfn.Choice(scope, "Was a model written?")
        self.record_missing = sfn.Pass(
            scope,
            "Record the missing model",
            parameters={
                "Error": "TrainedModelMissing",
                "Cause.$": "States.Format('The training job wrote no file under s3://{}/{}, or "
                f"more than {MAX_FILES}', $.run.model_files.bucket, $.run.model_files.prefix)",
            },
            result_path=ERROR_PATH,
        )
        copy = task(
            scope,
            "Copy a model file",
            "aws-sdk:s3:copyObject",
            {
                "Bucket.$": "$.bucket",
                "CopySource.$": "States.Format('{}/{}', $.bucket, $.key)",
                "Key.$": f"States.Format('{contract.KEPT_MODELS_PREFIX}{{}}', $.key)",
            },
            retry=IDEMPOTENT,
            result_selector={"etag.$": "$.CopyObjectResult.ETag"},
            result_path="$.copied",
        )
        self.keep = sfn.Map(
            scope,
            "Keep the trained model",
            items_path=f"{listing}.Contents",
            item_selector={
                "key.$": "$$.Map.Item.Value.Key",
                "bucket.$": "$.run.model_files.bucket",
            },
            max_concurrency=8,
            # The copies (key and ETag) replace the listing, whose timestamps and owners the
            # rest of the run has no use for.
            result_path=listing,
            comment="Each file to the same key under models/, which only this state machine writes",
        )
        self.keep.item_processor(copy)
        self.use_kept = sfn.Pass(
            scope,
            "Use the kept model",
            parameters={"model_data.$": "$.run.uris.kept_model"},
            result_path="$.training",
        )
        written.when(
            sfn.Condition.and_(
                sfn.Condition.is_present(f"{listing}.Contents"),
                sfn.Condition.boolean_equals(f"{listing}.IsTruncated", False),
            ),
            self.keep,
        )
        written.otherwise(self.record_missing)
        self.list_files.next(written)
        self.keep.next(self.use_kept)
        self.start: sfn.IChainable = self.list_files
        self.tasks = [self.list_files, self.keep]

    def then(self, kept: sfn.IChainable, failed: sfn.IChainable) -> None:
        """``kept`` once the copy is in place; ``failed`` (the cleanup) when there is none."""
        self.use_kept.next(kept)
        self.record_missing.next(failed)
