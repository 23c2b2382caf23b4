"""Stand-ins for kubectl, uvx and gh: they record every call and fail on demand.

Each is a small Python program written into a bin directory put first on PATH. Calls are
appended to ``calls.jsonl`` as argument lists. ``STANDIN_FAIL`` is a comma list of the
operations that fail (exit 1):

- kubectl: ``apply``, ``rollout-status`` (the first `rollout status`), ``rollback-status``
  (a later one), ``undo``, ``port-forward``; ``kustomize`` runs the real kubectl
  (``STANDIN_REAL_KUBECTL``); ``get`` prints ``STANDIN_REVISION`` (the Deployment's
  revision; empty: no Deployment yet);
- uvx: ``smoke``;
- gh: ``list`` (the API call fails), ``download``; ``STANDIN_RUN_ID`` is the run
  ``gh run list`` finds (empty: none), and a download writes metrics.json unless
  ``STANDIN_EMPTY_ARTIFACT`` is set.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

PORT_FORWARD_PORT = 43210

_COMMON = """
import json, os, sys, time
from pathlib import Path
LOG = Path(os.environ["STANDIN_LOG"])
FAIL = set(filter(None, os.environ.get("STANDIN_FAIL", "").split(",")))
args = sys.argv[1:]
with LOG.open("a") as log:
    log.write(json.dumps([NAME, *args]) + "\\n")
def calls(first):
    return [c for c in map(json.loads, LOG.read_text().splitlines()) if c[1:2] == [first]]
"""

_KUBECTL = """
words = [a for a in args if not a.startswith("-")]
if words[:1] == ["kustomize"]:
    os.execv(os.environ["STANDIN_REAL_KUBECTL"], [os.environ["STANDIN_REAL_KUBECTL"], *args])
if "get" in words:
    print(os.environ.get("STANDIN_REVISION", ""), end="")
    sys.exit(0)
if "apply" in words:
    sys.exit(1 if "apply" in FAIL else 0)
if words[-2:-1] == ["status"] or "status" in words:
    statuses = [c for c in map(json.loads, LOG.read_text().splitlines()) if "status" in c]
    key = "rollout-status" if len(statuses) == 1 else "rollback-status"
    sys.exit(1 if key in FAIL else 0)
if "undo" in words:
    sys.exit(1 if "undo" in FAIL else 0)
if "port-forward" in words:
    if "port-forward" in FAIL:
        print("error: unable to forward port", file=sys.stderr)
        sys.exit(1)
    print("Forwarding from 127.0.0.1:PORT -> 8080", flush=True)
    time.sleep(30)
    sys.exit(0)
print("kubectl stand-in: unexpected call", args, file=sys.stderr)
sys.exit(3)
"""

_UVX = """
sys.exit(1 if "smoke" in FAIL else 0)
"""

_GH = """
if args[:2] == ["run", "list"]:
    if "list" in FAIL:
        print("HTTP 403: Resource not accessible by integration", file=sys.stderr)
        sys.exit(1)
    print(os.environ.get("STANDIN_RUN_ID", ""))
    sys.exit(0)
if args[:2] == ["run", "download"]:
    if "download" in FAIL:
        print("no artifact matches any of the names or patterns provided", file=sys.stderr)
        sys.exit(1)
    target = Path(args[args.index("--dir") + 1])
    target.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("STANDIN_EMPTY_ARTIFACT"):
        (target / "metrics.json").write_text('{"accuracy": 0.97}')
    sys.exit(0)
sys.exit(3)
"""


def install(bin_dir: Path) -> Path:
    """Write the stand-ins into ``bin_dir``; return it."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    bodies = {
        "kubectl": _KUBECTL.replace("PORT", str(PORT_FORWARD_PORT)),
        "uvx": _UVX,
        "gh": _GH,
    }
    for name, body in bodies.items():
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\nNAME = {name!r}\n{_COMMON}\n{body}")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


def read_calls(log: Path) -> list[list[str]]:
    """Every recorded call, in order, as [program, *arguments]."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def environment(bin_dir: Path, log: Path, real_kubectl: str, **extra: str) -> dict[str, str]:
    """An environment whose PATH finds the stand-ins first."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"BASE_URL", "GITHUB_ACTIONS", "VERSION", "REVISION", "MODEL_VERSION"}
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        STANDIN_LOG=str(log),
        STANDIN_REAL_KUBECTL=real_kubectl,
        **extra,
    )
    return env
