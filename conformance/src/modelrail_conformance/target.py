"""The service under test: an image started with testcontainers, or a base URL.

Containers publish their port on 127.0.0.1 only. testcontainers is imported lazily, when a
container is first needed: it reads its configuration from the environment at import time,
as the person running the suite set it.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from modelrail_conformance.config import ModelrailConfig
from modelrail_conformance.failures import NotApplicable, TargetError

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_loopback(url: str) -> bool:
    """True when the URL's host is on this machine's loopback range."""
    host = urlsplit(url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


@dataclass(frozen=True)
class TargetSpec:
    """How to get the service: exactly one of image, dockerfile or base_url."""

    image: str | None = None
    dockerfile: Path | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None

    @property
    def mode(self) -> str:
        """``image``, ``dockerfile`` or ``base_url``."""
        if self.base_url:
            return "base_url"
        return "dockerfile" if self.dockerfile else "image"


class HttpStatusWait:
    """Wait until ``GET path`` answers one of the expected status codes.

    Fails fast when the container exits, and names the URL, the method, the expected
    codes, the last thing seen and a hint when it times out.
    """

    def __init__(self, path: str, statuses: frozenset[int] = frozenset({200}), timeout: float = 60):
        self.path = path
        self.statuses = statuses
        self.timeout = timeout

    def wait(self, container: ServiceContainer) -> float:
        """Poll until ready; return the seconds it took since the container was started."""
        url = container.base_url + self.path
        deadline = time.monotonic() + self.timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                status = httpx.get(url, timeout=1.0).status_code
                if status in self.statuses:
                    return time.monotonic() - container.started_at
                last = f"status {status}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if not container.running():
                raise TargetError(
                    f"container of {container.image} exited with code {container.exit_code()} "
                    f"before GET {url} answered {sorted(self.statuses)}. Hint: check the "
                    f"container logs in the report section."
                )
            time.sleep(0.1)
        raise TargetError(
            f"GET {url} did not answer {sorted(self.statuses)} within {self.timeout:.0f} s "
            f"(last: {last}). Hint: check that the service listens on 0.0.0.0 on the port "
            f"set in [tool.modelrail] port and that the model loads."
        )


class ServiceContainer:
    """One container of the service image, port published on 127.0.0.1."""

    def __init__(
        self,
        image: str,
        port: int,
        env: dict[str, str] | None = None,
        *,
        hardened: bool = False,
        volumes: list[tuple[str, str, str]] | None = None,
        extra_ports: tuple[int, ...] = (),
    ) -> None:
        """``volumes``: (host path, container path, ``rw`` or ``ro``) bind mounts;
        ``extra_ports``: more container ports to publish (a separate metrics port)."""
        from testcontainers.core.container import DockerContainer

        kwargs: dict[str, Any] = {}
        if hardened:
            kwargs = {"read_only": True, "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"]}
        self.image = image
        self.port = port
        self._tc = DockerContainer(image, env=dict(env or {}), **kwargs)
        if hardened:
            self._tc.with_tmpfs_mount("/tmp")
        for host_path, container_path, mode in volumes or []:
            self._tc.with_volume_mapping(host_path, container_path, mode)
        # A one-tuple binds a random host port on that address only (docker-py convention).
        for published in (port, *extra_ports):
            self._tc.ports[f"{published}/tcp"] = ("127.0.0.1",)  # type: ignore[assignment]
        self.started_at = 0.0
        self._urls: dict[int, str] = {}

    def start(self) -> ServiceContainer:
        """Create and start the container (no waiting)."""
        self.started_at = time.monotonic()
        try:
            self._tc.start()
        except Exception as exc:
            raise TargetError(f"cannot start a container of {self.image}: {exc}") from exc
        return self

    @property
    def wrapped(self) -> Any:
        """The docker-py container object."""
        return self._tc.get_wrapped_container()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<published port>`` of the service port."""
        return self.url_of(self.port)

    def url_of(self, port: int) -> str:
        """``http://127.0.0.1:<published port>`` of a published container port."""
        if port not in self._urls:
            client = self._tc.get_docker_client().client.api
            deadline = time.monotonic() + 10
            while True:
                mappings = client.port(self._tc.get_container_id(), port)
                if mappings:
                    break
                if time.monotonic() > deadline or not self.running():
                    raise TargetError(f"port {port} of {self.image} was not published")
                time.sleep(0.05)
            self._urls[port] = f"http://127.0.0.1:{mappings[0]['HostPort']}"
        return self._urls[port]

    def _state(self) -> dict[str, Any]:
        self.wrapped.reload()
        return self.wrapped.attrs.get("State", {})

    def running(self) -> bool:
        """True while the container process runs."""
        return bool(self._state().get("Running"))

    def exit_code(self) -> int | None:
        """The exit code once the container has stopped, else None."""
        state = self._state()
        return None if state.get("Running") else int(state.get("ExitCode", -1))

    def wait_exit(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the process to exit; its code or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.exit_code()
            if code is not None:
                return code
            time.sleep(0.1)
        return self.exit_code()

    def kill(self, signal: str) -> None:
        """Send a signal through the Docker API (``SIGTERM`` for a graceful stop)."""
        self.wrapped.kill(signal=signal)

    def stdout(self) -> str:
        """Everything the container wrote to stdout so far."""
        return self.wrapped.logs(stdout=True, stderr=False).decode("utf-8", "replace")

    def all_logs(self) -> str:
        """stdout and stderr, interleaved, for report sections."""
        return self.wrapped.logs(stdout=True, stderr=True).decode("utf-8", "replace")

    def stop(self) -> None:
        """Force-remove the container (testcontainers' stop)."""
        with contextlib.suppress(Exception):
            self._tc.stop()


class Target:
    """The running service and everything rules may ask of it.

    Rules that need containers call :meth:`require_container` first; in base-URL mode it
    raises :class:`NotApplicable`.
    """

    def __init__(self, spec: TargetSpec, config: ModelrailConfig) -> None:
        self.spec = spec
        self.config = config
        self.memo: dict[str, Any] = {}
        self.startup_seconds: float | None = None
        self._image: str | None = spec.image
        self._main: ServiceContainer | None = None
        self._extra_logs: list[tuple[str, str]] = []
        self._failure: BaseException | None = None
        self._client: httpx.Client | None = None

    # --- service ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """Where the main service answers (starting its container on first use)."""
        if self.spec.base_url:
            return self.spec.base_url.rstrip("/")
        return self.main.base_url

    @property
    def metrics_url(self) -> str:
        """Where /metrics answers: the service's URL, or its ``metrics_port`` when declared."""
        metrics_port = self.config.metrics_port
        if metrics_port is None or metrics_port == self.config.port:
            return self.base_url
        if self.spec.base_url:
            parts = urlsplit(self.spec.base_url)
            host = parts.hostname or ""
            host = f"[{host}]" if ":" in host else host
            return f"{parts.scheme}://{host}:{metrics_port}"
        return self.main.url_of(metrics_port)

    @property
    def client(self) -> httpx.Client:
        """An HTTP client for the main service; it never follows redirects."""
        if self._client is None:
            self._client = httpx.Client(base_url=self.base_url, timeout=10.0)
        return self._client

    @property
    def main(self) -> ServiceContainer:
        """The shared main container, started (and ready) on first use."""
        self.require_container("the main container")
        if self._failure is not None:
            raise TargetError(f"the service did not start: {self._failure}")
        if self._main is None:
            container = ServiceContainer(
                self.image, self.config.port, extra_ports=self._metrics_ports()
            )
            self._main = container
            try:
                container.start()
                budget = self.config.startup_budget_seconds
                waiter = HttpStatusWait("/v2/health/ready", timeout=budget + 60)
                self.startup_seconds = waiter.wait(container)
            except Exception as exc:
                self._failure = exc
                raise
        return self._main

    def _metrics_ports(self) -> tuple[int, ...]:
        metrics_port = self.config.metrics_port
        return () if metrics_port in (None, self.config.port) else (metrics_port,)

    def require_container(self, what: str) -> None:
        """Raise NotApplicable in base-URL mode, naming what the rule needed."""
        if self.spec.mode == "base_url":
            raise NotApplicable(
                f"needs {what}; --modelrail-base-url gives only HTTP access to a running service"
            )

    # --- image -----------------------------------------------------------------------
    @property
    def image(self) -> str:
        """The image reference, built from the Dockerfile once per session if needed."""
        self.require_container("the image")
        if self._image is None:
            self._image = self._build()
        return self._image

    def _docker(self) -> Any:
        import docker

        return docker.from_env()

    def _build(self) -> str:
        dockerfile = self.spec.dockerfile
        assert dockerfile is not None
        digest = hashlib.sha256(
            (str(dockerfile.resolve()) + repr(sorted(self.spec.build_args.items()))).encode()
        ).hexdigest()[:12]
        tag = f"modelrail-conformance-build:{digest}"
        import docker.errors

        try:
            self._docker().images.build(
                path=str(dockerfile.parent),
                dockerfile=dockerfile.name,
                buildargs=self.spec.build_args,
                tag=tag,
                rm=True,
                forcerm=True,
            )
        except docker.errors.BuildError as exc:
            log = "".join(
                str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log
            )
            self._failure = exc
            raise TargetError(f"docker build of {dockerfile} failed: {exc}\n{log[-4000:]}") from exc
        return tag

    def image_attrs(self) -> dict[str, Any]:
        """``docker image inspect`` of the image under test."""
        if "image_attrs" not in self.memo:
            self.memo["image_attrs"] = self._docker().images.get(self.image).attrs
        return self.memo["image_attrs"]

    def dockerfile_text(self) -> str | None:
        """The Dockerfile's text when the image is built by the suite, else None."""
        if self.spec.dockerfile is None:
            return None
        return self.spec.dockerfile.read_text(encoding="utf-8")

    # --- extra containers ------------------------------------------------------------
    @contextlib.contextmanager
    def extra_container(
        self, purpose: str, env: dict[str, str] | None = None, *, hardened: bool = False
    ) -> Iterator[ServiceContainer]:
        """A container of its own for a rule that disturbs the service; removed afterwards."""
        self.require_container(f"a container of its own ({purpose})")
        container = ServiceContainer(
            self.image, self.config.port, env, hardened=hardened, extra_ports=self._metrics_ports()
        )
        try:
            yield container.start()
        finally:
            with contextlib.suppress(Exception):
                self._extra_logs.append((purpose, container.all_logs()))
            container.stop()

    def main_stdout(self) -> str:
        """The main container's stdout so far."""
        return self.main.stdout()

    def forget_extra_logs(self) -> None:
        """Drop the extra containers' logs (called before each rule)."""
        self._extra_logs.clear()

    def logs_for_report(self, limit: int = 6000) -> str:
        """Tail of the container logs (main and extra), for a report section."""
        parts: list[str] = []
        if self._main is not None:
            with contextlib.suppress(Exception):
                parts.append(f"--- main container ---\n{self._main.all_logs()[-limit:]}")
        for purpose, text in self._extra_logs[-3:]:
            parts.append(f"--- {purpose} ---\n{text[-limit:]}")
        return "\n".join(parts)

    def close(self) -> None:
        """Stop the main container and close the client."""
        if self._client is not None:
            self._client.close()
        if self._main is not None:
            self._main.stop()
