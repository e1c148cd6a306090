"""export_compat's rules, one by one, and that transformers 5 reads the added keys back the same."""

from __future__ import annotations

import pytest
from export_compat import legacy_config, legacy_rope_keys, legacy_tokenizer_config
from transformers import Gemma3TextConfig, LlamaConfig

LLAMA3 = {
    "rope_type": "llama3",
    "rope_theta": 500000.0,
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
}


def test_plain_rope_becomes_a_theta_and_no_scaling():
    keys = legacy_rope_keys({"rope_type": "default", "rope_theta": 100000.0})
    assert keys == {"rope_theta": 100000.0, "rope_scaling": None}


def test_scaled_rope_keeps_every_parameter_but_theta_in_rope_scaling():
    keys = legacy_rope_keys(LLAMA3)
    assert keys["rope_theta"] == 500000.0
    assert keys["rope_scaling"] == {k: v for k, v in LLAMA3.items() if k != "rope_theta"}


def test_partial_rotary_factor_is_a_top_level_key_in_4x():
    rope = {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}
    assert legacy_rope_keys(rope) == {
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "partial_rotary_factor": 0.5,
    }


def test_global_and_sliding_rope_become_gemma3s_keys():
    rope = {
        "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
    }
    assert legacy_rope_keys(rope) == {
        "rope_theta": 1000000.0,
        "rope_scaling": {"rope_type": "linear", "factor": 8.0},
        "rope_local_base_freq": 10000.0,
    }


def test_a_layout_4x_cannot_express_is_refused_with_the_model_type():
    rope = {"full_attention": {"rope_type": "default", "rope_theta": 1.0}, "chunked": {}}
    with pytest.raises(ValueError, match=r"model_type 'odd'.*\['chunked', 'full_attention'\]"):
        legacy_config({"model_type": "odd", "rope_parameters": rope})


def test_rope_parameters_in_a_sub_config_are_refused_not_passed_through():
    nested = {"rope_parameters": {"rope_type": "default", "rope_theta": 1e6}}
    with pytest.raises(
        ValueError, match=r"model_type 'gemma3' holds rope_parameters in text_config"
    ):
        legacy_config({"model_type": "gemma3", "text_config": nested})


def test_a_config_without_rope_parameters_is_left_as_it_is():
    assert legacy_config({"model_type": "gpt2", "n_embd": 8}) == {"model_type": "gpt2", "n_embd": 8}


@pytest.mark.parametrize("rope", [{"rope_type": "default", "rope_theta": 100000.0}, LLAMA3])
def test_transformers_5_reads_the_legacy_keys_back_to_the_same_rope(rope):
    written = LlamaConfig(rope_parameters=dict(rope), max_position_embeddings=16384).to_dict()
    read = LlamaConfig.from_dict(legacy_config(written))
    assert read.rope_parameters == rope


def test_transformers_5_reads_gemma3s_legacy_keys_back_to_the_same_rope():
    written = Gemma3TextConfig(
        rope_parameters={
            "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
        }
    ).to_dict()
    read = Gemma3TextConfig.from_dict(legacy_config(written))
    assert read.rope_parameters == written["rope_parameters"]


def test_the_tokenizer_config_loses_loading_flags_and_gets_a_class_4x_has():
    written = {
        "tokenizer_class": "TokenizersBackend",
        "is_local": True,
        "local_files_only": True,
        "eos_token": "<|im_end|>",
        "extra_special_tokens": ["<a>", "<b>"],
    }
    backend = {"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True}}
    assert legacy_tokenizer_config(written, backend) == {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|im_end|>",
        "additional_special_tokens": ["<a>", "<b>"],
        "add_prefix_space": True,  # 4.x would otherwise reset the pre-tokenizer's to false
    }


def test_named_extra_tokens_and_a_tokenizer_without_tokenizer_json_keep_their_form():
    written = {"tokenizer_class": "LlamaTokenizer", "extra_special_tokens": {"image": "<img>"}}
    assert legacy_tokenizer_config(written, None) == written
