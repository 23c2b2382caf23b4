"""One hardened container of the generated image, on loopback, and its process's memory.

Hardened as the tests run it (tests/integration/test_prediction_lake.py): read-only root
file system, a tmpfs at /tmp, no capabilities, no new privileges, a host directory
mounted read-write where the image writes its prediction log. It uses the host's network
and binds 127.0.0.1 (``HOST``): loopback only, and no docker-proxy in between, which would
accept a connection after the service stopped listening and then close it unanswered,
hiding a refusal behind what looks like a dropped request.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

LOG_DIR = "/app/prediction-logs"
"""Where the image writes its prediction log (its PREDICTION_LOG_URL)."""


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass(frozen=True)
class Container:
    """A started container: its id, and where it answers."""

    cid: str
    port: int

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        """The resident memory of the container's main process (the service), in KiB.

        Read from the host's ``/proc/<pid>/status`` (``VmRSS``); where this host cannot see
        the pid, the container's memory as ``docker stats`` reports it instead.
        """
        pid = _docker("inspect", "-f", "{{.State.Pid}}", self.cid).stdout.strip()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        usage = _docker("stats", "--no-stream", "--format", "{{.MemUsage}}", self.cid).stdout
        return _kib(usage.split("/")[0].strip())

    def sigterm(self) -> None:
        """Send SIGTERM to the service, as an orchestrator stopping it does."""
        _docker("kill", "--signal", "SIGTERM", self.cid)

    def wait_exit(self, timeout_s: float) -> int | None:
        """The exit code, or ``None`` when it did not exit within ``timeout_s``."""
        try:
            proc = _docker("wait", self.cid, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        return int(proc.stdout.strip()) if proc.stdout.strip().isdigit() else None

    def logs(self, lines: int = 30) -> str:
        """The last ``lines`` of the container's output."""
        proc = _docker("logs", "--tail", str(lines), self.cid)
        return (proc.stdout + proc.stderr).strip()

    def remove(self) -> None:
        """Remove the container, running or not."""
        _docker("rm", "-f", self.cid)


def start(image: str, port: int, log_dir: Path, env: dict[str, str], cpus: str | None) -> Container:
    """Start ``image`` hardened, bound to 127.0.0.1:``port``, ``log_dir`` at `LOG_DIR`.

    Raises:
        RuntimeError: with docker's message, when the container cannot start.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_dir.chmod(0o777)  # the image's user (10001) is not this one
    args = ["run", "-d", "--network", "host", "--read-only", "--tmpfs", "/tmp"]
    args += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    args += ["-v", f"{log_dir}:{LOG_DIR}:rw"]
    for key, value in {**env, "HOST": "127.0.0.1", "PORT": str(port)}.items():
        args += ["-e", f"{key}={value}"]
    if cpus is not None:
        args += ["--cpuset-cpus", cpus]
    proc = _docker(*args, image)
    if proc.returncode != 0:
        raise RuntimeError(f"docker run {image} failed: {proc.stderr.strip()}")
    return Container(proc.stdout.strip(), port)


_UNITS = {"B": 1 / 1024, "KiB": 1, "MiB": 1024, "GiB": 1024**2, "kB": 1000 / 1024,
          "MB": 1000**2 / 1024, "GB": 1000**3 / 1024}  # fmt: skip


def _kib(text: str) -> int:
    """``docker stats``' ``123.4MiB`` as KiB (0 when unreadable)."""
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            try:
                return round(float(text[: -len(unit)]) * _UNITS[unit])
            except ValueError:
                return 0
    return 0
