"""scripts/torch_index.py: a local PEP 503 index of torch's CPU wheel, which uv resolves from.

A stand-in wheel (``torch-0.0.1+cpu``, pure Python, a few bytes) plays torch here, so that
the index's layout, hashes and reuse are tested without copying the real one. (A low
version: this machine's pip configuration caps torch at the releases on its disk.)
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import zipfile
from pathlib import Path

from tests.helpers import REPO_ROOT, run

SCRIPT = REPO_ROOT / "scripts" / "torch_index.py"
WHEEL = "torch-0.0.1+cpu-py3-none-any.whl"


def stand_in_wheel(directory: Path) -> Path:
    """A minimal valid wheel of ``torch 0.0.1+cpu`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / WHEEL
    info = "torch-0.0.1+cpu.dist-info"
    files = {
        "torch/__init__.py": "__version__ = '0.0.1+cpu'\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: torch\nVersion: 0.0.1+cpu\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{info}/RECORD", record)
    return path


def build(index: Path, *args: str, ok_codes: tuple[int, ...] = (0,)) -> tuple[int, str, str]:
    proc = run([sys.executable, str(SCRIPT), str(index), *args], REPO_ROOT, ok_codes=ok_codes)
    return proc.returncode, proc.stdout.strip(), proc.stderr.strip()


def test_the_index_serves_the_wheel_with_its_hash_and_uv_resolves_it(tmp_path: Path) -> None:
    wheel = stand_in_wheel(tmp_path / "wheels")
    index = tmp_path / "index"
    _, url, _ = build(index, "--torch", "0.0.1", "--find-links", str(wheel.parent))
    assert url == (index / "simple").as_uri()
    served = index / "simple" / "torch" / WHEEL
    assert served.read_bytes() == wheel.read_bytes()
    page = (index / "simple" / "torch" / "index.html").read_text()
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    # "+" is escaped in the link, as PyTorch's own index does.
    assert f'href="torch-0.0.1%2Bcpu-py3-none-any.whl#sha256={digest}"' in page
    assert '<a href="torch/">torch</a>' in (index / "simple" / "index.html").read_text()
    uv = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    requirements = tmp_path / "requirements.in"
    requirements.write_text("torch==0.0.1+cpu\n")
    compiled = run(
        [uv, "pip", "compile", "--quiet", "--no-header", "--index", url, str(requirements)],
        tmp_path,
    )
    assert re.search(r"^torch==0\.0\.1\+cpu$", compiled.stdout, re.MULTILINE), compiled.stdout


def test_a_wheel_in_the_index_is_kept(tmp_path: Path) -> None:
    wheel = stand_in_wheel(tmp_path / "wheels")
    index = tmp_path / "index"
    build(index, "--torch", "0.0.1", "--find-links", str(wheel.parent))
    served = index / "simple" / "torch" / WHEEL
    before = served.stat().st_mtime_ns
    wheel.unlink()  # a second build needs no source: the index has the wheel
    build(index, "--torch", "0.0.1")
    assert served.stat().st_mtime_ns == before


def test_no_cpu_wheel_on_the_machine_fails_saying_what_to_do(tmp_path: Path) -> None:
    code, out, err = build(tmp_path / "index", "--torch", "0.0.2", ok_codes=(1,))
    assert code == 1
    assert out == ""
    assert "pip found no wheel of torch==0.0.2+cpu for Python 3." in err
    assert "pass --find-links DIR" in err
    assert not list((tmp_path / "index").rglob("*.whl"))
