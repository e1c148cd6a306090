"""Configuration: recipes, precedence, the forms SageMaker passes values in, and bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from config_loader import RECIPES_DIR, build_config, describe, load_recipe, parse_argv
from config_values import ConfigError
from train_config import SECTIONS, key_sections

from contracts.metrics import METRIC_DEFINITIONS

RECIPES = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def test_the_three_recipes_ship():
    assert RECIPES == ["full", "lora", "qlora"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_each_recipe_loads_validates_and_names_its_method(recipe: str):
    config = build_config(["--recipe", recipe])
    assert config.method.method == recipe
    assert config.recipe == recipe
    # Every section is present and commented, so a reader sees what each block is for.
    text = (RECIPES_DIR / f"{recipe}.yaml").read_text()
    for section in SECTIONS:
        assert re.search(rf"^#.*\n{section}:", text, re.M), (
            f"{recipe}: section {section} uncommented"
        )
    assert set(load_recipe(recipe)) <= set(key_sections())


def test_precedence_defaults_then_recipe_then_command_line():
    assert build_config([]).trainer.learning_rate == 2e-4  # dataclass default
    assert build_config(["--recipe", "full"]).trainer.learning_rate == 2e-5  # recipe
    config = build_config(["--recipe", "full", "--learning_rate", "3e-5"])
    assert config.trainer.learning_rate == 3e-5  # command line
    assert config.trainer.weight_decay == 0.01  # the rest of the recipe still applies


def test_sagemaker_string_forms_are_understood():
    config = build_config(
        [
            "--packing", "False",  # the training toolkit writes str(True)/str(False)
            "--truncate=true",
            "--lora-r", "8",  # dashes are accepted for underscores
            "--max_steps", "-1",
            "--num_train_epochs", "2",
            "--lora_target_modules", "['q_proj', 'v_proj']",  # str() of a JSON list
            "--eval_steps", "None",
        ]
    )  # fmt: skip
    assert config.data.packing is False and config.data.truncate is True
    assert config.method.lora_r == 8 and config.trainer.max_steps == -1
    assert config.trainer.num_train_epochs == 2.0
    assert config.method.lora_target_modules == ["q_proj", "v_proj"]
    assert config.trainer.eval_steps is None


def test_target_modules_accept_comma_lists_and_all_linear():
    assert build_config(["--lora_target_modules", "q_proj,k_proj"]).method.lora_target_modules == [
        "q_proj",
        "k_proj",
    ]
    assert build_config([]).method.lora_target_modules == "all-linear"
    # One name is a list of one: PEFT would read a bare string as a whole-name regex.
    assert build_config(["--lora_target_modules", "q_proj"]).method.lora_target_modules == [
        "q_proj"
    ]


def test_a_bare_flag_means_true():
    assert parse_argv(["--gradient_checkpointing", "--fsdp"]) == {
        "gradient_checkpointing": "true",
        "fsdp": "true",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lora_rank", "8"], "unknown hyperparameter 'lora_rank' (did you mean 'lora_r'?)"),
        (["--lora_r", "0"], "lora_r must be in [1, 65536], got 0"),
        (["--lora_r", "eight"], "lora_r must be a whole number, got 'eight'"),
        (["--learning_rate", "-1"], "learning_rate must be > 0"),
        (["--method", "dora"], "method must be one of lora, qlora, full, got 'dora'"),
        (["--packing", "maybe"], "packing must be true or false, got 'maybe'"),
        (["--precision", "fp8"], "precision must be one of"),
        (["--max_steps", "0", "--num_train_epochs", "0"], "set num_train_epochs > 0 or max_steps"),
        (["--lora_dropout", "1.5"], "lora_dropout must be in [0, 1)"),
        (["--recipe", "nope"], "recipe 'nope' not found"),
        (
            ["--compile_layers", "true", "--activation_memory_budget", "1.5"],
            "activation_memory_budget must be in [0, 1], got 1.5",
        ),
        (
            ["--activation_memory_budget", "0.5"],
            "activation_memory_budget < 1 needs compile_layers=true",
        ),
        (
            ["--recipe", "qlora", "--compile_layers", "true"],
            "compile_layers=true and gradient_checkpointing=true",
        ),
        (["stray"], "unexpected argument 'stray'"),
    ],
)
def test_bad_values_fail_naming_the_key(argv: list[str], message: str):
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_config(argv)


def test_a_recipe_with_an_unknown_key_fails_naming_section_and_key(tmp_path: Path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("trainer:\n  learning_rat: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown key trainer\.learning_rat .*'learning_rate'"):
        build_config(["--recipe", str(recipe)])
    recipe.write_text("optimizer:\n  lr: 0.1\n")
    with pytest.raises(ConfigError, match="unknown section 'optimizer'"):
        build_config(["--recipe", str(recipe)])
    recipe.write_text("trainer: 5\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: section 'trainer' must hold key: value"):
        build_config(["--recipe", str(recipe)])


def test_a_recipe_with_a_bad_value_fails_naming_the_key(tmp_path: Path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("method:\n  lora_r: -4\n")
    with pytest.raises(ConfigError, match=re.escape("lora_r must be in [1, 65536], got -4")):
        build_config(["--recipe", str(recipe)])


def test_a_recipe_value_error_names_the_file_line_and_key(tmp_path: Path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("trainer:\n  learning_rate: 1.0e-3\nmethod:\n  # rank\n  lora_r: sixteen\n")
    with pytest.raises(ConfigError) as raised:
        build_config(["--recipe", str(recipe)])
    assert str(raised.value) == (
        f"{recipe}, line 5: method.lora_r: lora_r must be a whole number, got 'sixteen'"
    )
    # A check after conversion is located too; a command-line value replaces the recipe's line.
    recipe.write_text("data:\n  max_seq_length: 8\n")
    with pytest.raises(ConfigError, match=re.escape(f"{recipe}, line 2: data.max_seq_length: ")):
        build_config(["--recipe", str(recipe)])
    with pytest.raises(ConfigError) as raised:
        build_config(["--recipe", str(recipe), "--max_seq_length", "4"])
    assert str(raised.value) == "max_seq_length must be in [16, 1048576], got 4"


def test_a_recipe_that_is_not_valid_yaml_fails_on_one_line_naming_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    import train

    recipe = tmp_path / "bad.yaml"
    recipe.write_text("method:\n  lora_r: 16\n lora_alpha: 32\n")
    with pytest.raises(ConfigError) as raised:
        build_config(["--recipe", str(recipe)])
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{recipe}, line 3, column 2: expected <block end>, but found")
    assert train.main(["--recipe", str(recipe)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"error: {message}"


@pytest.mark.parametrize("argv", [["--max_steps", "4", "--lora_r"], ["--lora_r", "--packing"]])
def test_a_key_without_a_value_fails_unless_it_is_boolean(argv: list[str]):
    with pytest.raises(ConfigError) as raised:
        build_config(argv)
    assert str(raised.value) == "--lora_r needs a value"
    # A boolean key alone still means true.
    assert build_config(["--lora_r", "8", "--truncate"]).data.truncate is True


def test_help_lists_every_key():
    text = describe()
    for key in key_sections():
        assert f"--{key} " in text


def test_metric_regexes_match_the_lines_training_prints():
    from train_callbacks import format_metrics

    line = format_metrics(
        20,
        {
            "train_loss": 1.25,
            "learning_rate": 2e-4,
            "tokens_per_second": 151.5,
            "epoch": 0.5,
            "eval_loss": 0.75,
        },
    )
    found = {d["Name"]: float(re.search(d["Regex"], line).group(1)) for d in METRIC_DEFINITIONS}
    assert found == {
        "train:loss": 1.25,
        "validation:loss": 0.75,
        "train:learning_rate": 2e-4,
        "train:tokens_per_second": 151.5,
        "train:epoch": 0.5,
    }
    # The final summary line must not be mistaken for a step's training loss.
    assert re.search(METRIC_DEFINITIONS[0]["Regex"], "[metrics] step=9 final_train_loss=3") is None


@pytest.mark.parametrize(("amx", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_precision_on_cpu_is_bf16_only_with_amx(monkeypatch, amx: bool, expected: str):
    import model_setup
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert model_setup.resolve_precision("auto") == expected
    assert model_setup.resolve_precision("fp32") == "fp32"  # an explicit choice is kept


def test_train_py_bounds_openmp_spinning_unless_the_environment_chose():
    import train

    environ: dict[str, str] = {}
    train.set_openmp_waits(environ)
    assert environ == train.OPENMP_SPIN
    for chosen in ({"OMP_WAIT_POLICY": "PASSIVE"}, {"GOMP_SPINCOUNT": "0"}):
        environ = dict(chosen)
        train.set_openmp_waits(environ)
        assert environ == chosen
