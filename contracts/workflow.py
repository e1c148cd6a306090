"""What the training state machine, its jobs and the input-validation Lambda agree on.

The stacks, the CLI and the Lambda import this module, so names, paths, environment variables
and the run-name rule are written down once.
"""

from __future__ import annotations

import hashlib
import re

# Environment variables the stack sets on the validation Lambda.
ENV_ARTIFACTS_BUCKET = "ARTIFACTS_BUCKET"
ENV_DATA_BUCKET = "DATA_BUCKET"
ENV_CODE_URI = "CODE_URI"
ENV_WHEELS_URI = "WHEELS_URI"
ENV_TRAINING_INSTANCE_COUNT = "TRAINING_INSTANCE_COUNT"
ENV_DEFAULT_METRIC = "DEFAULT_METRIC"
ENV_DEFAULT_THRESHOLD = "DEFAULT_THRESHOLD"
ENV_DEFAULT_MAX_SAMPLES = "DEFAULT_MAX_SAMPLES"
ENV_INTERNET_ACCESS = "INTERNET_ACCESS"
# Optional: the environment's evaluation.compare_with and evaluation.min_improvement.
ENV_DEFAULT_COMPARE_WITH = "DEFAULT_COMPARE_WITH"
ENV_DEFAULT_MIN_IMPROVEMENT = "DEFAULT_MIN_IMPROVEMENT"
# JSON of costs.estimate.RunResources: what the run launches, for its cost estimate.
ENV_RUN_RESOURCES = "RUN_RESOURCES"
# "true" on the cost Lambda where the jobs and endpoints are the local cloud's: the cost is
# then an estimate.
ENV_LOCAL_CLOUD = "LOCAL_CLOUD"

INPUT_KEYS = ("run_name", "base_model", "dataset", "recipe", "hyperparameters", "evaluation")
RECIPES = ("lora", "qlora", "full")
METRICS = ("exact_match", "rouge_l", "execution_match", "sql_valid")
# What the new model is evaluated against besides the threshold (evaluation.compare_with).
COMPARISONS = ("base", "champion")
NO_COMPARISON = "none"
# Tokens the evaluation lets the model generate per answer (evaluation.py's --max-tokens default).
DEFAULT_EVAL_MAX_TOKENS = 128
MAX_EVAL_MAX_TOKENS = 8192
DATASET_FORMATS = ("auto", "jsonl", "csv", "parquet")
BAD_RECORD_POLICIES = ("fail", "skip")

# Every SageMaker resource of a run is named <run_name><suffix>; SageMaker allows 63 characters.
# The base_* names are used only when evaluation.compare_with deploys the base model too, the
# champion_* names only when it deploys the champion (the newest approved or the served model).
NAME_SUFFIXES = {
    "prepare_job": "-prepare",
    "training_job": "-train",
    "model": "-eval",
    "endpoint_config": "-eval",
    "endpoint": "-eval",
    "base_model": "-base",
    "base_endpoint_config": "-base",
    "base_endpoint": "-base",
    "champion_model": "-champion",
    "champion_endpoint_config": "-champion",
    "champion_endpoint": "-champion",
    "evaluation_job": "-evaluate",
}
SAGEMAKER_NAME_MAX = 63
RUN_NAME_MAX = SAGEMAKER_NAME_MAX - max(len(suffix) for suffix in NAME_SUFFIXES.values())


def sanitise_run_name(raw: str) -> str:
    """``raw`` made into a SageMaker name part: [a-zA-Z0-9-], at most RUN_NAME_MAX characters.

    A name that has to be shortened keeps a hash of the original, so two long names that share
    a beginning still give different runs.
    """
    name = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9-]+", "-", raw)).strip("-")
    if len(name) > RUN_NAME_MAX:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
        name = f"{name[: RUN_NAME_MAX - 9].rstrip('-')}-{digest}"
    return name


# Artifact layout: s3://<artifacts>/runs/<run_name>/{data,checkpoints,model,evaluation}/
RUNS_PREFIX = "runs/"
MODEL_FOLDER = "model/"
# The training job writes its model under runs/<run_name>/model/, a prefix the jobs' role may
# write for any run. The state machine copies it, once trained, to the same key under models/,
# which only the state machine writes: what is evaluated, registered and served is that copy.
TRAINED_MODEL_OBJECTS = f"{RUNS_PREFIX}*/{MODEL_FOLDER}*"
KEPT_MODELS_PREFIX = "models/"
# Every kept model: what the temporary and serving endpoints may read of the artifacts bucket,
# as an IAM and fnmatch pattern.
MODEL_OBJECTS = f"{KEPT_MODELS_PREFIX}*"
# What the evaluation writes under runs/<run_name>/evaluation/; the cost step adds to both.
REPORT_FILE = "report.json"
REPORT_PAGE = "report.html"
# What the cost step writes in the run's folder, runs/<run_name>/.
COST_FILE = "cost.json"

# Paths inside the containers.
PROCESSING_CODE_DIR = "/opt/ml/processing/input/code"
PROCESSING_WHEELS_DIR = "/opt/ml/processing/input/wheels"
PREPARE_INPUT_DIR = "/opt/ml/processing/input/data"
EVALUATE_TEST_DIR = "/opt/ml/processing/input/test"
PROCESSING_OUTPUT_DIR = "/opt/ml/processing/output"
CHECKPOINT_DIR = "/opt/ml/checkpoints"
# A training job finds each input channel in a folder of this one, named after the channel.
TRAINING_CHANNELS_DIR = "/opt/ml/input/data"
# The inputs every job gets: the code tarball, and the wheels of the locked job libraries,
# which the jobs install offline (training_code/requirements.txt, job_entry.sh).
CODE_INPUT = "code"
WHEELS_INPUT = "wheels"

TRAINING_PROGRAM = "train.py"
PREPARE_PROGRAM = "prepare_data.py"
EVALUATE_PROGRAM = "evaluation.py"
# What the Processing jobs run from the unpacked tarball: job_entry.sh PROGRAM ARGUMENTS...,
# with the wheels folder in this environment variable.
PROCESSING_ENTRY_SCRIPT = "job_entry.sh"
WHEELS_DIR_VARIABLE = "JOB_WHEELS_DIR"

# Hyperparameters the workflow sets itself; the execution input may not override them (with
# dashes or underscores: train.py reads both). The paths are the container contract's: a model
# written elsewhere than SM_MODEL_DIR would never reach S3.
RESERVED_HYPERPARAMETERS = (
    "recipe",
    "checkpoint_dir",
    "model_name_or_path",
    "base_model_reference",
    "model_dir",
    "train_dir",
    "validation_dir",
    "output_data_dir",
)
RESERVED_HYPERPARAMETER_PREFIX = "sagemaker_"
# SageMaker's CreateTrainingJob limits.
MAX_HYPERPARAMETERS = 100
MAX_HYPERPARAMETER_KEY = 256
MAX_HYPERPARAMETER_VALUE = 2500
