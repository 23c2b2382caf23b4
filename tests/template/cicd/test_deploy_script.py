"""scripts/deploy.sh and scripts/fetch-baseline.sh, run against recording stand-ins.

kubectl, uvx (which `make smoke` runs) and gh are replaced on PATH by programs that record
their calls and fail on demand (tests/template/cicd/standins.py); `kubectl kustomize` is
the real one. The point is the failure paths: a failed rollout or smoke test must undo
the rollout to the revision that ran before, and the deploy must fail loudly.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.template.cicd import standins
from tests.template.cicd.tools import kubectl, venv_tool

DIGEST = "sha256:" + "cd" * 32
TIMEOUT = 60


@pytest.fixture
def project(rendered: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the default project's deploy files (the shared one stays untouched)."""
    source = rendered["defaults"]
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("scripts", "deploy"):
        shutil.copytree(source / name, copy / name)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(source / name, copy / name)
    return copy


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return standins.install(tmp_path / "bin")


def image() -> str:
    return f"ghcr.io/my-org/churn-model@{DIGEST}"


def deploy(
    project: Path, bin_dir: Path, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    log = project.parent / "calls.jsonl"
    log.unlink(missing_ok=True)
    proc = subprocess.run(
        ["scripts/deploy.sh", *(args or ("deploy", "staging", image()))],
        cwd=project,
        env=standins.environment(
            bin_dir,
            log,
            kubectl(),
            **{
                "VERSION": "1.2.3",
                "REVISION": "f" * 40,
                "MODEL_VERSION": "0123456789ab",
                "ROLLOUT_TIMEOUT": "7s",
                **env,
            },
        ),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return proc, standins.read_calls(log)


def kubectl_verbs(calls: list[list[str]]) -> list[str]:
    """The kubectl calls by what they do: kustomize, get, apply, status, undo, port-forward."""
    verbs = []
    for call in calls:
        if call[0] != "kubectl":
            continue
        for verb in ("kustomize", "get", "apply", "status", "undo", "port-forward"):
            if verb in call:
                verbs.append(verb)
                break
    return verbs


def smoke_calls(calls: list[list[str]]) -> list[list[str]]:
    return [call for call in calls if call[0] == "uvx"]


def test_a_good_release_is_applied_waited_for_and_smoke_tested(
    project: Path, bin_dir: Path
) -> None:
    proc, calls = deploy(project, bin_dir, STANDIN_REVISION="3")
    assert proc.returncode == 0, proc.stderr
    assert kubectl_verbs(calls) == ["kustomize", "get", "apply", "status", "port-forward"]
    apply = next(call for call in calls if "apply" in call)
    assert apply[2] == "--filename"
    assert apply[3].endswith("/manifests.yaml")
    status = next(call for call in calls if "status" in call)
    assert status[1:] == [
        "--namespace", "ml-platform-staging", "rollout", "status", "deployment/churn-model",
        "--timeout=7s",
    ]
    (smoke,) = smoke_calls(calls)
    url = f"http://127.0.0.1:{standins.PORT_FORWARD_PORT}"
    assert smoke[smoke.index("--modelrail-base-url") + 1] == url
    assert smoke[smoke.index("--modelrail-rules") + 1] == "HLT,RDY,MD,INF,ERR,MET,LOG,SEC"
    assert smoke[smoke.index("--modelrail-report-dir") + 1] == "reports/smoke-staging"
    assert "is deployed and passed the smoke test" in proc.stderr
    assert not list((project / "deploy" / "k8s").glob(".release.*"))


def test_a_failed_rollout_is_undone_and_fails_loudly(project: Path, bin_dir: Path) -> None:
    proc, calls = deploy(
        project, bin_dir, STANDIN_REVISION="3", STANDIN_FAIL="rollout-status", GITHUB_ACTIONS="true"
    )
    assert proc.returncode == 1
    assert kubectl_verbs(calls) == ["kustomize", "get", "apply", "status", "undo", "status"]
    undo = next(call for call in calls if "undo" in call)
    assert undo[1:] == [
        "--namespace", "ml-platform-staging", "rollout", "undo", "deployment/churn-model",
        "--to-revision=3",
    ]
    assert smoke_calls(calls) == []
    assert "::error title=deploy staging::the rollout of" in proc.stderr
    assert "rolled back: staging runs revision 3 again; release 1.2.3 is NOT deployed" in proc.stderr


def test_a_failed_smoke_test_is_undone_and_fails(project: Path, bin_dir: Path) -> None:
    proc, calls = deploy(project, bin_dir, STANDIN_REVISION="7", STANDIN_FAIL="smoke")
    assert proc.returncode == 1
    assert kubectl_verbs(calls) == [
        "kustomize", "get", "apply", "status", "port-forward", "undo", "status"
    ]
    assert len(smoke_calls(calls)) == 1
    assert "--to-revision=7" in next(call for call in calls if "undo" in call)
    assert "deploy: ERROR: the smoke test failed" in proc.stderr


def test_a_failed_apply_is_undone_too(project: Path, bin_dir: Path) -> None:
    proc, calls = deploy(project, bin_dir, STANDIN_REVISION="2", STANDIN_FAIL="apply")
    assert proc.returncode == 1
    assert kubectl_verbs(calls) == ["kustomize", "get", "apply", "undo", "status"]
    assert "kubectl apply failed in staging" in proc.stderr


def test_a_failed_rollback_says_a_person_is_needed(project: Path, bin_dir: Path) -> None:
    proc, calls = deploy(
        project, bin_dir, STANDIN_REVISION="3", STANDIN_FAIL="rollout-status,rollback-status"
    )
    assert proc.returncode == 1
    assert kubectl_verbs(calls)[-2:] == ["undo", "status"]
    assert "needs a person now" in proc.stderr
    proc, calls = deploy(project, bin_dir, STANDIN_REVISION="3", STANDIN_FAIL="smoke,undo")
    assert proc.returncode == 1
    assert "kubectl rollout undo failed" in proc.stderr


def test_a_failed_first_deploy_has_nothing_to_roll_back(project: Path, bin_dir: Path) -> None:
    proc, calls = deploy(project, bin_dir, STANDIN_REVISION="", STANDIN_FAIL="rollout-status")
    assert proc.returncode == 1
    assert "undo" not in kubectl_verbs(calls)
    assert "no earlier revision to roll back to" in proc.stderr


def test_base_url_replaces_the_port_forward(project: Path, bin_dir: Path) -> None:
    proc, calls = deploy(
        project,
        bin_dir,
        "deploy",
        "production",
        image(),
        STANDIN_REVISION="4",
        BASE_URL="https://churn.example.com",
    )
    assert proc.returncode == 0, proc.stderr
    assert "port-forward" not in kubectl_verbs(calls)
    (smoke,) = smoke_calls(calls)
    assert smoke[smoke.index("--modelrail-base-url") + 1] == "https://churn.example.com"
    status = next(call for call in calls if "status" in call)
    assert status[1:3] == ["--namespace", "ml-platform"]


def test_a_port_forward_that_fails_counts_as_a_failed_smoke_test(
    project: Path, bin_dir: Path
) -> None:
    proc, calls = deploy(project, bin_dir, STANDIN_REVISION="5", STANDIN_FAIL="port-forward")
    assert proc.returncode == 1
    assert smoke_calls(calls) == []
    assert kubectl_verbs(calls)[-2:] == ["undo", "status"]
    assert "port-forward to service/churn-model failed" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deploy", "qa", image()), "unknown environment 'qa': expected one of: production staging"),
        (("deploy", "staging", "ghcr.io/my-org/churn-model"), "names no release"),
        (("deploy", "staging", "ghcr.io/my-org/churn-model:latest"), "names no release"),
        (("deploy", "staging", "ghcr.io/my-org/churn-model@sha256:abc"), "is not sha256:"),
        (("ship", "staging", image()), "scripts/deploy.sh deploy ENVIRONMENT IMAGE"),
    ],
)
def test_bad_arguments_change_nothing(
    project: Path, bin_dir: Path, args: tuple[str, ...], message: str
) -> None:
    proc, calls = deploy(project, bin_dir, *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert {"apply", "undo"}.isdisjoint(kubectl_verbs(calls))


def test_a_bad_label_value_is_refused(project: Path, bin_dir: Path) -> None:
    proc, calls = deploy(project, bin_dir, VERSION="1.0.0+build.7")
    assert proc.returncode == 2
    assert "cannot be a Kubernetes label value" in proc.stderr
    assert "apply" not in kubectl_verbs(calls)


def test_the_scripts_pass_shellcheck(rendered: dict[str, Path]) -> None:
    for project in rendered.values():
        scripts = sorted((project / "scripts").glob("*.sh"))
        assert [path.name for path in scripts] == ["deploy.sh", "fetch-baseline.sh", "promote.sh"]
        for script in scripts:
            assert script.stat().st_mode & 0o111, f"{script} is not executable"
        proc = subprocess.run(
            [venv_tool("shellcheck"), *map(str, scripts)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout


# --- fetch-baseline.sh ------------------------------------------------------------------


def fetch(project: Path, bin_dir: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    target = project / "reports" / "baseline"
    shutil.rmtree(target, ignore_errors=True)
    log = project.parent / "gh.jsonl"
    proc = subprocess.run(
        ["scripts/fetch-baseline.sh", "reports/baseline"],
        cwd=project,
        env=standins.environment(bin_dir, log, kubectl(), **env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return proc, target / "metrics.json"


def test_fetch_baseline_downloads_the_last_successful_main_run(
    project: Path, bin_dir: Path
) -> None:
    proc, metrics = fetch(project, bin_dir, STANDIN_RUN_ID="123")
    assert proc.returncode == 0, proc.stderr
    assert metrics.read_text() == '{"accuracy": 0.97}'
    calls = standins.read_calls(project.parent / "gh.jsonl")
    assert calls[0][:3] == ["gh", "run", "list"]
    for flag, value in (("--workflow", "ci.yml"), ("--branch", "main"), ("--status", "success")):
        assert calls[0][calls[0].index(flag) + 1] == value
    assert calls[1] == [
        "gh", "run", "download", "123", "--name", "model-report", "--dir", "reports/baseline"
    ]


def test_fetch_baseline_without_a_baseline_is_a_notice(project: Path, bin_dir: Path) -> None:
    proc, metrics = fetch(project, bin_dir, STANDIN_RUN_ID="", GITHUB_ACTIONS="true")
    assert proc.returncode == 0
    assert not metrics.exists()
    assert "::notice title=baseline::no successful ci.yml run on main yet" in proc.stdout
    proc, metrics = fetch(project, bin_dir, STANDIN_RUN_ID="9", STANDIN_FAIL="download")
    assert proc.returncode == 0
    assert not metrics.exists()
    assert "kept no model-report artifact" in proc.stderr


def test_fetch_baseline_fails_when_github_cannot_be_asked(project: Path, bin_dir: Path) -> None:
    proc, _ = fetch(project, bin_dir, STANDIN_FAIL="list")
    assert proc.returncode != 0
    proc, _ = fetch(project, bin_dir, STANDIN_RUN_ID="9", STANDIN_EMPTY_ARTIFACT="1")
    assert proc.returncode == 1
    assert "has no metrics.json" in proc.stderr
