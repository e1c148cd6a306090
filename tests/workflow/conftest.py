"""Fixtures of the workflow tests: the shared synth, the resolved definition, a moto server."""

from __future__ import annotations

import json
import socket
import sys
import urllib.request
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

# The session synth of tests/infra (one synth per environment and test directory).
from tests.infra.conftest import any_env, synth_env  # noqa: F401
from tests.workflow.template_values import Resolver, state_machine_definition

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "functions" / "validate_input"
COST_FUNCTION_DIR = FUNCTION_DIR.parent / "run_cost"
# The Lambdas' modules import each other as top-level modules, as they do in Lambda.
for folder in (FUNCTION_DIR, COST_FUNCTION_DIR):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture(scope="session")
def resolver_for(synth_env):  # noqa: F811
    def resolver(env_name: str) -> Resolver:
        synth = synth_env(env_name)
        return Resolver(synth.templates["Workflow"], synth.templates["Storage"])

    return resolver


@pytest.fixture(scope="session")
def local_definition(resolver_for) -> dict:
    return state_machine_definition(resolver_for("local"))


@pytest.fixture(scope="session")
def definition_file(local_definition, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("asl") / "training.asl.json"
    path.write_text(json.dumps(local_definition, indent=2))
    return path


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    """One moto server per session, executing state machines; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://localhost:{port}"
    request = urllib.request.Request(
        f"{url}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request).close()
    yield url
    server.stop()
