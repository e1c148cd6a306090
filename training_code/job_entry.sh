#!/bin/bash
# The Processing jobs' entry point (data preparation, evaluation), run from the unpacked code
# tarball:
#
#     JOB_WHEELS_DIR=/opt/ml/processing/input/wheels job_entry.sh PROGRAM [ARGUMENTS...]
#
# It installs the locked job libraries offline from the job's wheels input, as the training
# toolkit does with requirements.txt before train.py, then runs python3 PROGRAM ARGUMENTS.
# The job names the wheels folder, so the local cloud can point it at its own copy.
set -euo pipefail

if [ "$#" -lt 1 ]; then
    echo "usage: job_entry.sh PROGRAM [ARGUMENTS...]" >&2
    exit 2
fi
: "${JOB_WHEELS_DIR:?is not set: the job environment names the folder of its wheels input}"
program="$1"
shift
cd "$(dirname "$0")"
python3 -m pip install --quiet --no-index --find-links "$JOB_WHEELS_DIR" -r requirements.lock
exec python3 "$program" "$@"
