"""A real MLflow tracking and registry server for the tests: ``mlflow server`` from PyPI.

The backend store is SQLite in a temporary directory; the artifacts go to the S3 object
store (`SeaweedS3`) under ``s3://<bucket>/mlflow``, proxied by the server, so that clients
need no S3 credentials (``mlflow-artifacts:`` URIs), as in a team's deployment.

    server = MlflowServer(tmp_path, store).start()
    env = {"MLFLOW_TRACKING_URI": server.uri}
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx

from tests.helpers import free_port
from tests.servers.process import stop_process
from tests.servers.seaweedfs import SeaweedS3, scrubbed_environ

START_TIMEOUT_SECONDS = 120.0
STOP_GRACE_SECONDS = 10.0


class MlflowServer:
    """One ``mlflow server`` on a free loopback port, its artifacts on ``store``."""

    def __init__(self, directory: Path, store: SeaweedS3, bucket: str = "lake") -> None:
        self.directory = directory
        self.store = store
        self.artifacts = f"s3://{bucket}/mlflow"
        self.port = free_port()
        self.log_path = directory / "mlflow.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """The tracking URI (``http://127.0.0.1:<port>``)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> Self:
        """Start the server and wait until ``/health`` answers."""
        command = [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host=127.0.0.1",
            f"--port={self.port}",
            f"--backend-store-uri=sqlite:///{self.directory / 'mlflow.db'}",
            f"--artifacts-destination={self.artifacts}",
            # One worker: the machine's cores are shared.
            "--workers=1",
        ]
        environment = {**scrubbed_environ(), **self.store.client_env()}
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, env=environment
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.uri}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"mlflow server not up in {timeout:.0f}s: {self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (the SQLite file and the stored artifacts stay)."""
        process, self._process = self._process, None
        stop_process(process, STOP_GRACE_SECONDS)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log, for failure messages."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
