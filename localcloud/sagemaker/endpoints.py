"""An endpoint's life: Creating -> InService (or Failed), Updating, deletion stops its server."""

from __future__ import annotations

import shutil
import threading
import time
from typing import Any

from moto.core.utils import utcnow

from localcloud.sagemaker import registry, settings
from localcloud.sagemaker.deployment import Deployment, DeploymentError
from localcloud.sagemaker.logsink import LogSink
from localcloud.sagemaker.opt_ml import OptMl

KIND = "Endpoints"
_WATCH_EVERY_S = 1.0


class EndpointRun:
    """Keeps a moto ``FakeEndpoint`` backed by a running local server.

    Only the first production variant of a config is served (one process, whatever its
    instance type and count).
    """

    def __init__(self, backend: Any, endpoint: Any):
        self.settings = settings.current()
        self.backend = backend
        self.endpoint = endpoint
        self.name: str = endpoint.endpoint_name
        self.root = self.settings.state_dir / "endpoints" / self.name
        self.log_path = self.settings.state_dir / "logs" / KIND / f"{self.name}.log"
        self.active: Deployment | None = None
        self._pending: Deployment | None = None
        self._generation = 0
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.key = registry.key(KIND, backend.account_id, backend.region_name, self.name)

    def create(self) -> None:
        """Starts serving the endpoint's config; the status goes Creating -> InService/Failed."""
        if self.root.exists():
            shutil.rmtree(self.root)  # a deleted endpoint of the same name left its copy
        self._set_status("Creating")
        registry.add(self.key, self)
        self._spawn(self.endpoint.endpoint_config_name, updating=False)

    def update(self, config_name: str) -> None:
        """Serves ``config_name``; the old server answers until the new one is ready."""
        self._set_status("Updating")
        self._spawn(config_name, updating=True)

    def stop(self) -> None:
        """Stops every server of this endpoint (it is being deleted)."""
        self._cancel.set()
        with self._lock:
            deployments = [d for d in (self.active, self._pending) if d is not None]
            self.active = self._pending = None
        for deployment in deployments:
            deployment.terminate()
        for thread in self._threads:
            thread.join(timeout=30)

    def pids(self) -> list[int]:
        with self._lock:
            deployments = [d for d in (self.active, self._pending) if d is not None]
        return [d.process.pid for d in deployments if d.process is not None and d.alive()]

    def target(self) -> Deployment | None:
        """The deployment that answers invocations now, or None if there is none."""
        if self.endpoint.endpoint_status not in ("InService", "Updating"):
            return None
        active = self.active
        return active if active is not None and active.alive() else None

    def _spawn(self, config_name: str, updating: bool) -> None:
        thread = threading.Thread(
            target=self._deploy,
            args=(config_name, updating),
            name=f"endpoint-{self.name}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def _deploy(self, config_name: str, updating: bool) -> None:
        deployment = None
        try:
            deployment = self._new_deployment(config_name)
            with self._lock:
                self._pending = deployment
            deployment.launch()
            deployment.wait_ready(self.settings.endpoint_startup_timeout_s, self._cancel)
        except Exception as error:
            reason = str(error) if isinstance(error, DeploymentError) else repr(error)
            if deployment is not None:
                deployment.sink.write(f"[localcloud] endpoint {self.name} failed: {reason}")
                deployment.terminate()
            if not self._cancel.is_set():
                # A failed update leaves the old model serving, as SageMaker rolls back.
                self._set_status("InService" if updating else "Failed", reason[:1024])
            return
        with self._lock:
            cancelled = self._cancel.is_set()  # deleted between the ping and now
            if not cancelled:
                old, self.active, self._pending = self.active, deployment, None
        if cancelled:
            deployment.terminate()
            return
        if old is not None:
            old.terminate()
        if updating:
            config = self.backend.endpoint_configs[config_name]
            self.endpoint.endpoint_config_name = config_name
            self.endpoint.production_variants = self.endpoint._process_production_variants(
                config.production_variants
            )
        self._set_status("InService")
        self._watch(deployment)

    def _new_deployment(self, config_name: str) -> Deployment:
        config = self.backend.endpoint_configs.get(config_name)
        if config is None:
            raise DeploymentError(f"endpoint configuration {config_name} no longer exists")
        variant = config.production_variants[0]
        model = self.backend._models.get(variant["ModelName"])
        if model is None:
            raise DeploymentError(f"model {variant['ModelName']} no longer exists")
        container = model.primary_container or (model.containers or [{}])[0]
        self._generation += 1
        root = self.root if self._generation == 1 else self.root / f"update-{self._generation}"
        sink = LogSink(
            self.log_path,
            lambda: self.settings.client("logs", self.backend.region_name),
            f"/aws/sagemaker/{KIND}/{self.name}",
            f"{variant['VariantName']}/local-{self._generation}-{int(time.time())}",
        )
        return Deployment(
            self.settings,
            OptMl(root),
            container,
            variant["VariantName"],
            self.backend.region_name,
            sink,
            model.execution_role_arn,
        )

    def _watch(self, deployment: Deployment) -> None:
        """Ships the server's logs and notices if it dies while it is the active one."""
        while not self._cancel.wait(_WATCH_EVERY_S):
            deployment.sink.flush()
            with self._lock:
                if self.active is not deployment:
                    return
                if deployment.alive():
                    continue
                self.active = None
            process = deployment.process
            assert process is not None
            # Ends what the server left running (its workers, say) and reads its last lines.
            code = process.wait()
            self._set_status(
                "Failed",
                f"the local server exited with code {code}: {process.last_error_line()}"[:1024],
            )
            deployment.sink.close()
            return

    def _set_status(self, status: str, reason: str | None = None) -> None:
        self.endpoint.endpoint_status = status
        self.endpoint.failure_reason = reason
        self.endpoint.last_modified_time = utcnow()
