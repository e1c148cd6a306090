"""The ``/opt/ml`` sandbox every local job and endpoint runs in, and the path-rewriting rule.

A SageMaker container sees its data, code and model under ``/opt/ml``. Locally each job gets a
folder laid out the same way (``state_dir/jobs/<name>/``), and every string in the request that
names a path under ``/opt/ml`` is rewritten to the same path under that folder:

    /opt/ml/input/data/train        ->  <sandbox>/input/data/train
    --output_dir=/opt/ml/model      ->  --output_dir=<sandbox>/model
    bash -c "cd /opt/ml/code && ..." ->  bash -c "cd <sandbox>/code && ..."

The rule matches ``/opt/ml`` only as a whole path component that is not itself inside a longer
path, so ``/opt/mlflow`` and ``/data/opt/ml`` are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Not preceded by a path character (so "/x/opt/ml" is left alone) and not followed by one that
# would make it a different name ("/opt/mlflow").
_OPT_ML = re.compile(r"(?<![\w./-])/opt/ml(?![\w.-])")


def rewrite(value: Any, root: Path) -> Any:
    """Returns ``value`` with every ``/opt/ml`` path inside it moved under ``root``.

    Strings are rewritten wherever the path appears in them (a hyperparameter value, a
    ``bash -c`` script); lists and dicts are rewritten element by element; other values are
    returned unchanged.
    """
    if isinstance(value, str):
        return _OPT_ML.sub(lambda _: str(root), value)
    if isinstance(value, list):
        return [rewrite(item, root) for item in value]
    if isinstance(value, dict):
        return {key: rewrite(item, root) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class OptMl:
    """The folders of one sandbox, named as SageMaker names them under ``/opt/ml``."""

    root: Path

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def input_config_dir(self) -> Path:
        return self.root / "input" / "config"

    @property
    def data_dir(self) -> Path:
        return self.root / "input" / "data"

    def channel_dir(self, channel: str) -> Path:
        """Where a training channel's files land (``/opt/ml/input/data/<channel>``)."""
        return self.data_dir / channel

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def code_dir(self) -> Path:
        return self.root / "code"

    @property
    def failure_file(self) -> Path:
        """A container writes why it failed here; SageMaker reports it as the FailureReason."""
        return self.root / "output" / "failure"

    def create(self) -> OptMl:
        """Creates the standard folders (empty) and returns ``self``."""
        for folder in (
            self.input_config_dir,
            self.data_dir,
            self.model_dir,
            self.output_data_dir,
            self.checkpoints_dir,
            self.code_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def local(self, container_path: str) -> Path:
        """The sandbox path for a container path such as ``/opt/ml/processing/input``.

        Raises:
            ValueError: if ``container_path`` is not under ``/opt/ml`` (SageMaker itself only
                mounts job data there).
        """
        rewritten = rewrite(container_path, self.root)
        if rewritten == container_path:
            raise ValueError(
                f"LocalPath {container_path!r} is not under /opt/ml: the local cloud maps only "
                "/opt/ml/... into the job's sandbox"
            )
        return Path(rewritten)
