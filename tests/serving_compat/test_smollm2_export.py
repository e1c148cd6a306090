"""The demo's model, SmolLM2-135M-Instruct (RoPE theta 100,000), fine-tuned and merged, reads
the same under the serving image's transformers (converted from the GGUF in the venv, offline)."""

from __future__ import annotations

import pytest

from tests.serving_compat.compare import same_config, same_logits, same_tokenizer
from tests.serving_compat.conftest import export_after_one_step, read_exports


@pytest.mark.slow
def test_the_demo_model_reads_the_same_in_the_serving_image(serving_env, tmp_path):
    from cli.sample_models import smollm2_dir

    folders = {"smollm2": export_after_one_step(smollm2_dir(), tmp_path / "run", "lora")}
    training = read_exports(folders, tmp_path / "training-side", None)
    serving = read_exports(folders, tmp_path / "serving-side", serving_env)
    same_tokenizer(training, serving, "smollm2")
    same_config(
        training, serving, "smollm2", {"rope_type": "default", "rope_theta": 100000.0}, "float32"
    )
    same_logits(training, serving, "smollm2", "float32")
