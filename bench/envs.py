"""The bench's own virtual environments under bench/.venvs/, made with uv.

Each env is installed from ``bench/requirements/<name>.txt``, with the model libraries
pinned to the generated service's versions (`requirements`), and stamped with the hash of
what it was installed from: a second run reuses it in milliseconds, a changed pin rebuilds it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENVS = BENCH_DIR / ".venvs"
REQUIREMENTS = BENCH_DIR / "requirements"
PYTHON = "3.11"
MODEL_LIBRARIES = ("scikit-learn", "numpy", "lightgbm", "onnxruntime")
"""Libraries whose per-call cost is part of every target's time: one version for all."""
LISTED_ONLY = frozenset({"onnxruntime"})
"""Pinned only in the requirements files that list them: onnxruntime runs (b') and the
compiled (c); MLServer, BentoML and the embedding baseline never load it, and their venvs
and images must not grow by it."""
LIGHTGBM_PACKAGES = frozenset({"lightgbm", "mlserver-lightgbm"})
"""What only the LightGBM group needs (left out of the images, which serve iris)."""


TORCH_INDEX = BENCH_DIR.parent / "build" / "torch-index"
"""The local index of torch's CPU wheel that ``scripts/torch_index.py`` builds."""


class TorchWheelError(RuntimeError):
    """The local index of torch's CPU wheel could not be built; the message says why."""


def torch_wheels() -> Path:
    """The directory holding torch's CPU wheel (``build/torch-index/simple/torch/``).

    Built (or reused) by ``scripts/torch_index.py``, the index the embedding template's
    ``torch_index`` answer points at; the baseline's venv and image take the same wheel.

    Raises:
        TorchWheelError: the script found no CPU wheel on this machine (its message).
    """
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR.parent / "scripts" / "torch_index.py"), str(TORCH_INDEX)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    wheels = TORCH_INDEX / "simple" / "torch"
    if proc.returncode != 0 or not any(wheels.glob("torch-*.whl")):
        reason = (proc.stderr.strip().splitlines() or ["no wheel in the index"])[-1]
        raise TorchWheelError(f"no local index of torch's CPU wheel: {reason}")
    return wheels


@dataclass(frozen=True)
class Env:
    """An installed env, or the reason it could not be installed."""

    name: str
    path: Path
    error: str | None = None

    def bin(self, tool: str) -> str:
        """Path of an executable inside the env (``python``, ``mlserver``...)."""
        return str(self.path / "bin" / tool)


def requirements(
    name: str, pins: Mapping[str, str] | None = None, *, drop: Collection[str] = ()
) -> str:
    """``bench/requirements/<name>.txt`` with each package in ``pins`` set to that version.

    A pinned package the file does not list is added (unless it is `LISTED_ONLY`), so that
    every target runs the same scikit-learn, numpy and lightgbm as the generated services
    (whose locks pick the newest): a scikit-learn release can double the per-call cost of
    ``predict_proba``. Packages in ``drop`` are left out, pinned or not.
    """
    lines = (REQUIREMENTS / f"{name}.txt").read_text().splitlines()
    pins = {package: version for package, version in (pins or {}).items() if package not in drop}
    out = []
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(==|>=|<=|~=|<|>|$)", line)
        package = match.group(1).lower() if match and not line.lstrip().startswith("#") else ""
        if package in drop:
            continue
        if package in pins:
            out.append(f"{package}=={pins.pop(package)}")
        else:
            out.append(line)
    out += [
        f"{package}=={version}" for package, version in pins.items() if package not in LISTED_ONLY
    ]
    return "\n".join(out) + "\n"


def merge_pins(
    *sources: Mapping[str, str],
) -> tuple[dict[str, str], list[str]]:
    """One version per library from the services' venvs, and where two services differ.

    The first source that has a library gives its version (the iris service comes first:
    its scikit-learn and numpy are what most targets run). A library two services have
    in different versions is named in the second list: the service that does not get its
    version still runs its own, which the ratios of its group then carry.
    """
    pins: dict[str, str] = {}
    conflicts = []
    for source in sources:
        for package, version in source.items():
            if package not in pins:
                pins[package] = version
            elif pins[package] != version:
                conflicts.append(f"{package} {pins[package]} and {version}")
    return pins, conflicts


def ensure(
    name: str,
    *,
    pins: Mapping[str, str] | None = None,
    python: str = PYTHON,
    drop: Collection[str] = (),
    find_links: Sequence[Path] = (),
) -> Env:
    """Create or reuse ``bench/.venvs/<name>`` from its requirements with ``pins`` applied.

    Args:
        name: the env, and its requirements file.
        pins: versions every target runs (`requirements`).
        python: the interpreter version.
        drop: packages left out, pinned or not (`requirements`).
        find_links: directories of wheels uv also takes packages from (the local index of
            torch's CPU wheel, for the embedding group's baseline).

    Never raises for an install failure: the returned ``Env.error`` says what failed, so the
    table can say "not available: ..." for that target and the run goes on. An env that
    ends up with NVIDIA packages (a CUDA build of torch) is refused the same way.
    """
    path = VENVS / name
    text = requirements(name, pins, drop=drop)
    req = VENVS / f"{name}.requirements.txt"
    links = "".join(f"--find-links {directory}\n" for directory in find_links)
    digest = hashlib.sha256(text.encode() + python.encode() + links.encode()).hexdigest()
    stamp = path / ".bench-stamp"
    if stamp.exists() and stamp.read_text() == digest:
        return Env(name, path)
    VENVS.mkdir(parents=True, exist_ok=True)
    req.write_text(text)
    uv = shutil.which("uv")
    if uv is None:
        return Env(name, path, "uv is not on PATH (run `make setup` first)")
    steps = [
        [uv, "venv", "--quiet", "--clear", "--python", python, str(path)],
        [
            *(uv, "pip", "install", "--quiet", "--python", str(path / "bin" / "python")),
            *(f"--find-links={directory}" for directory in find_links),
            *("-r", str(req)),
        ],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return Env(name, path, f"`{' '.join(cmd[:3])} ...` failed: {' / '.join(last)}")
    nvidia = installed_nvidia(uv, path)
    if nvidia:
        return Env(
            name,
            path,
            f"it installed NVIDIA packages ({', '.join(nvidia)}): a CUDA build of torch came "
            "from PyPI. Pin torch's CPU build (torch==X+cpu) and pass its local index "
            "(scripts/torch_index.py)",
        )
    stamp.write_text(digest)
    return Env(name, path)


def installed_nvidia(uv: str, path: Path) -> list[str]:
    """The ``nvidia-*`` distributions installed in the env at ``path`` (CUDA libraries)."""
    proc = subprocess.run(
        [uv, "pip", "list", "--python", str(path / "bin" / "python"), "--format", "freeze"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return nvidia_packages(proc.stdout.splitlines())


NOT_CUDA = frozenset({"nvidia-ml-py"})
"""``nvidia-*`` distributions that hold no CUDA library: NVML's Python bindings (a few
hundred kB of Python, which BentoML requires to report GPUs when there are any)."""


def nvidia_packages(freeze: Sequence[str]) -> list[str]:
    """The NVIDIA CUDA distributions among ``freeze``'s ``name==version`` lines."""
    names = (re.split(r"[=@ ]", line.strip(), maxsplit=1)[0] for line in freeze)
    return sorted(
        name
        for name in names
        if name.lower().startswith("nvidia-") and name.lower() not in NOT_CUDA
    )
