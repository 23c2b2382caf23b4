"""A real Prometheus Pushgateway (Debian's ``prometheus-pushgateway``) on a free loopback
port, keeping pushed metrics in memory only."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Self

import httpx

from tests.helpers import free_port
from tests.servers.process import stop_process

BINARY = "/usr/bin/prometheus-pushgateway"
START_TIMEOUT_SECONDS = 15.0


class Pushgateway:
    """``prometheus-pushgateway`` listening on ``127.0.0.1:<free port>``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.log_path = directory / "pushgateway.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL clients push to and scrape."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start it and wait until it answers its readiness endpoint."""
        binary = shutil.which("prometheus-pushgateway") or BINARY
        if not Path(binary).exists():
            raise FileNotFoundError(
                f"{BINARY} is missing: install Debian's prometheus-pushgateway (make setup)"
            )
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [binary, f"--web.listen-address=127.0.0.1:{self.port}", "--persistence.file="],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pushgateway exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"pushgateway not ready on {self.url} in {START_TIMEOUT_SECONDS}s")

    def metrics(self) -> str:
        """Its ``/metrics`` exposition (the pushed groups included)."""
        return httpx.get(f"{self.url}/metrics", timeout=5).text

    def stop(self) -> None:
        """Stop the process (it started it) and wait for it."""
        process, self._process = self._process, None
        stop_process(process, grace_seconds=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
