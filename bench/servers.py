"""Start a server pinned to one core, wait until it answers, stop it by its process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SERVER_CPU = 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(url: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """One request; returns (status, body), with status 0 when nothing answered."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


def wait_ready(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll ``GET url`` every 20 ms until it answers 200; return the seconds it took.

    Raises:
        TimeoutError: naming the URL, the time waited and a hint, when it never answers 200
            or the process exits first.
    """
    start = time.monotonic()
    status = 0
    while time.monotonic() - start < timeout_s:
        if proc is not None and proc.poll() is not None:
            raise TimeoutError(f"exited with code {proc.returncode} before GET {url} answered 200")
        status, _ = http(url, timeout=1.0)
        if status == 200:
            return time.monotonic() - start
        time.sleep(0.02)
    raise TimeoutError(
        f"GET {url} did not answer 200 within {timeout_s:.0f} s (last status {status or 'none'})."
        " Hint: see the server log next to the results."
    )


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid``.

    Covers the workers MLServer and BentoML fork. CPU time per request hardly depends on
    what else runs on the machine, unlike throughput, so it is the fairer number on a
    shared host.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the ")" that closes the command name: state is field 3, pgrp 5,
        # utime 14, stime 15 (1-based, as in proc(5)).
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


@dataclass
class Server:
    """A server process started by the bench, pinned with ``taskset -c 0``."""

    name: str
    cmd: list[str]
    ready_url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    start_to_ready_s: float | None = None

    def start(self, timeout_s: float = 120.0) -> None:
        """Start and wait for readiness; on failure, stop it and raise with the log's tail."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        full_env = {**os.environ, **self.env}
        full_env.pop("VIRTUAL_ENV", None)
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(SERVER_CPU), *self.cmd],
            cwd=self.cwd,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            self.start_to_ready_s = wait_ready(self.ready_url, timeout_s, self.proc)
        except TimeoutError as err:
            self.stop()
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise TimeoutError(f"{self.name}: {err} Log tail: {' | '.join(tail)}") from err

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the server's own process group, then SIGKILL it after ``grace_s``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the server's own pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        # Children (MLServer's and BentoML's workers) may outlive the leader briefly.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
