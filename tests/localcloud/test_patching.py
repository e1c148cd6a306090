"""One undoable way to patch moto: installing every extension and undoing it gives moto back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localcloud import iam, validation
from localcloud.awslambda import runtime as lambda_runtime
from localcloud.cloudformation import change_sets, intrinsics, resource_types
from localcloud.ec2 import resources as ec2_resources
from localcloud.iam import managed_policies
from localcloud.kms import resources as kms_resources
from localcloud.patching import Patches
from localcloud.s3 import copy_object
from localcloud.sagemaker import moto_patches, sfn_patches
from localcloud.server_process import install_patches, uninstall_patches
from localcloud.stepfunctions import execution, limits, task_credentials

# Every module that patches moto, each through its own PATCHES.
PATCHING_MODULES = (
    validation,
    iam,
    managed_policies,
    change_sets,
    intrinsics,
    resource_types,
    ec2_resources,
    kms_resources,
    execution,
    limits,
    task_credentials,
    lambda_runtime,
    copy_object,
    moto_patches,
    sfn_patches,
)


class Owner:
    """A class with one attribute of its own; ``inherited`` comes from ``object``."""

    value = "moto's"

    @classmethod
    def build(cls, name: str) -> str:
        return f"{cls.__name__} {name}"


def _defined_in(value: Any) -> str:
    """The module of the function behind ``value`` ('' for data)."""
    for unwrap in ("fget", "__func__"):
        value = getattr(value, unwrap, value)
    return str(getattr(value, "__module__", "") or "")


def test_restore_puts_back_what_was_replaced_and_removes_what_was_added() -> None:
    patches = Patches()
    assert patches.set(Owner, "value", "ours") == "moto's"
    patches.set(Owner, "added", "ours")
    settings = {"execute": False}
    patches.set_item(settings, "execute", True)
    assert (Owner.value, Owner.added, settings["execute"]) == ("ours", "ours", True)  # type: ignore[attr-defined]
    assert patches.targets == [(Owner, "value"), (Owner, "added")]

    patches.restore()

    assert Owner.value == "moto's" and not hasattr(Owner, "added")
    assert settings == {"execute": False} and not patches.applied


def test_original_is_what_the_first_replacement_replaced() -> None:
    patches = Patches()

    def build(cls: type[Owner], name: str) -> str:
        return "ours, then " + patches.original(Owner, "build").__func__(cls, name)

    patches.set(Owner, "build", classmethod(build))
    try:
        assert Owner.build("key") == "ours, then Owner key"
    finally:
        patches.restore()
    assert Owner.build("key") == "Owner key"
    with pytest.raises(KeyError):
        patches.original(Owner, "build")


def _ours(owner: Any, name: str) -> bool:
    """Whether ``owner.name`` is one of the local cloud's functions (looked up, or its own)."""
    found = (getattr(owner, name, None), vars(owner).get(name))
    return any(_defined_in(value).startswith("localcloud") for value in found)


def test_installing_every_extension_and_undoing_it_gives_moto_back(tmp_path: Path) -> None:
    install_patches(tmp_path, "http://localhost:1")
    try:
        assert all(module.PATCHES.applied for module in PATCHING_MODULES)
        targets = [target for module in PATCHING_MODULES for target in module.PATCHES.targets]
        replaced_functions = [(owner, name) for owner, name in targets if _ours(owner, name)]
        assert len(replaced_functions) > 40
    finally:
        uninstall_patches()

    assert not any(module.PATCHES.applied for module in PATCHING_MODULES)
    still_ours = [f"{getattr(o, '__name__', o)}.{n}" for o, n in targets if _ours(o, n)]
    assert still_ours == []
