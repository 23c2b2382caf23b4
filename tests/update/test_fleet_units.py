"""``modelrail fleet``'s parts, on small inputs: versions, lists, reports, tables, refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from modelrail_conformance import plugin, report
from modelrail_fleet import render
from modelrail_fleet.cli import main as modelrail
from modelrail_fleet.repos import (
    CONFORMANCE_REPORT,
    ConformanceResult,
    RepoRef,
    last_conformance,
    repo_refs,
)
from modelrail_fleet.status import RepoStatus
from modelrail_fleet.update import REFUSED, Updater, UpdateResult
from modelrail_fleet.versions import git_url, latest, parse_version
from packaging.version import Version

from tests.update.projects import copy_at
from tests.update.template_versions import BASE, GIT_IDENTITY, LATEST, NEXT, TemplateRepo, git


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("v0.3.0", Version("0.3.0")),
        ("0.3.0", Version("0.3.0")),
        ("v0.3.0-2-g1a2b3c4", Version("0.3.0.post2.dev0+g1a2b3c4")),
        ("v1.0.0rc1", Version("1.0.0rc1")),
        ("1a2b3c4d", None),
        ("main", None),
        ("", None),
        (None, None),
    ],
)
def test_versions_are_pep_440_tags_or_describe_strings(ref: str | None, expected: object) -> None:
    assert parse_version(ref) == expected


def test_a_commit_after_a_tag_is_newer_than_the_tag_and_older_than_the_next() -> None:
    after = parse_version("v0.3.0-2-g1a2b3c4")
    assert after is not None
    assert Version("0.3.0") < after < Version("0.3.1")


def test_latest_ignores_pre_releases_and_non_versions_unless_asked() -> None:
    tags = ["v0.1.0", "v0.10.0", "v0.9.0", "v1.0.0rc1", "nightly", "v0.2.0"]
    assert latest(tags) == "v0.10.0"
    assert latest(tags, prereleases=True) == "v1.0.0rc1"
    assert latest(["nightly"]) is None


def test_copier_shortcuts_become_clonable_urls() -> None:
    assert git_url("gh:acme/modelrail") == "https://github.com/acme/modelrail.git"
    assert git_url("gl:acme/modelrail.git") == "https://gitlab.com/acme/modelrail.git"
    assert git_url("https://example.com/x.git") == "https://example.com/x.git"


def test_repositories_come_from_arguments_and_a_file(tmp_path: Path) -> None:
    listing = tmp_path / "fleet" / "repos.txt"
    listing.parent.mkdir()
    listing.write_text("# our services\nchurn-model\n\n  recsys  # ranking team\n/abs/one\n")
    refs = repo_refs(["/abs/one", "extra"], listing)
    assert [ref.name for ref in refs] == ["/abs/one", "extra", "churn-model", "recsys"]
    assert refs[2].path == tmp_path / "fleet" / "churn-model"


def test_the_report_path_is_where_make_conformance_writes() -> None:
    assert Path(plugin.DEFAULT_REPORT_DIR) / report.REPORT_FILES[0] == CONFORMANCE_REPORT


def test_conformance_results_are_read_or_explained(tmp_path: Path) -> None:
    assert last_conformance(tmp_path) is None
    file = tmp_path / CONFORMANCE_REPORT
    file.parent.mkdir(parents=True)
    file.write_text(json.dumps({"passed": True, "started": "2026-01-05T09:30:00+00:00",
                                "summary": {"MUST": {"pass": 30}}}))  # fmt: skip
    assert last_conformance(tmp_path) == ConformanceResult(
        True, "2026-01-05T09:30:00+00:00", {"MUST": {"pass": 30}}
    )
    file.write_text(json.dumps({"passed": False, "started": "2026-01-06T00:00:00+00:00",
                                "summary": {"MUST": {"pass": 29, "fail": 1},
                                            "SHOULD": {"warn": 2, "error": 1}}}))  # fmt: skip
    result = last_conformance(tmp_path)
    assert result is not None
    assert result.short() == "FAILED: MUST 1 fail, SHOULD 1 error (2026-01-06)"
    file.write_text("{not json")
    broken = last_conformance(tmp_path)
    assert broken is not None
    assert broken.short().startswith("unreadable report (reports/conformance/report.json")
    file.write_text(json.dumps({"passed": "yes", "summary": {}}))
    assert "passed is not a boolean" in str(last_conformance(tmp_path))


def test_tables_are_one_line_per_repository_with_pipes_escaped() -> None:
    status = RepoStatus(repo="a|b", path="/x", notes=["line one\nline two"])
    text = render.status_markdown([status])
    assert text.splitlines()[2] == "| a\\|b | — | — | — | no report | line one line two |"
    result = UpdateResult(repo="r", path="/r", to_version="v1.0.0", outcome=REFUSED, reason="x")
    assert "| r | — | v1.0.0 | refused | — | x |" in render.update_markdown([result])
    assert json.loads(render.update_json([result]))["repos"][0]["outcome"] == REFUSED


def test_no_repositories_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert modelrail(["fleet", "status"]) == 2
    assert "no repositories" in capsys.readouterr().err


def test_status_explains_what_is_not_a_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").mkdir()
    code = modelrail(["fleet", "status", str(tmp_path / "plain"), str(tmp_path / "gone"),
                      "--format", "json"])  # fmt: skip
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["repos"]
    assert rows[0]["notes"] == ["not the root of a git repository"]
    assert rows[1]["notes"] == [f"no such directory: {tmp_path / 'gone'}"]


# --- refusals before anything is touched -------------------------------------------------
@pytest.fixture(scope="module")
def at_next(template_repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed project at `NEXT` (no tasks: nothing here runs its checks). Shared:
    every test below checks that the repository is left exactly as it was."""
    return copy_at(template_repo, tmp_path_factory.mktemp("at-next"), NEXT)


def refusal(repo: Path, monkeypatch: pytest.MonkeyPatch, **settings: object) -> UpdateResult:
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    before = git(repo, "for-each-ref") + git(repo, "status", "--porcelain")
    options: dict[str, Any] = {"to_version": LATEST, "commands": ("false",), **settings}
    result = Updater(**options).update(RepoRef(repo.name, repo))
    assert git(repo, "for-each-ref") + git(repo, "status", "--porcelain") == before
    return result


@pytest.mark.parametrize(
    ("settings", "outcome", "reason"),
    [
        ({"to_version": "latest"}, "refused", "--to latest is not a version tag"),
        ({"to_version": "v9.9.9"}, "refused", f"has no tag v9.9.9 (latest: {LATEST})"),
        ({"to_version": BASE}, "refused", f"newer than {BASE}: downgrades"),
        ({"to_version": NEXT}, "up-to-date", ""),
        ({"base": "trunk"}, "refused", "no branch trunk: updates start from it; pass --base"),
    ],
)
def test_what_cannot_be_updated_is_refused_before_anything_changes(
    at_next: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, object],
    outcome: str,
    reason: str,
) -> None:
    result = refusal(at_next, monkeypatch, **settings)
    assert (result.outcome, result.branch) == (outcome, None)
    assert reason in result.reason


def test_no_git_identity_is_refused(
    at_next: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    # Without configuration git would guess an identity from the host; forbid guessing.
    for key, value in {"COUNT": "1", "KEY_0": "user.useConfigOnly", "VALUE_0": "true"}.items():
        monkeypatch.setenv(f"GIT_CONFIG_{key}", value)
    for key in GIT_IDENTITY:
        monkeypatch.delenv(key, raising=False)
    result = Updater(to_version=LATEST).update(RepoRef(at_next.name, at_next))
    assert result.outcome == "refused"
    assert "git has no identity" in result.reason
    assert "set user.name and user.email" in result.reason


def test_a_missing_copier_is_refused_with_how_to_reinstall(
    at_next: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "copier" else real(name, *a)
    )
    result = refusal(at_next, monkeypatch)
    assert result.outcome == "refused"
    assert "uv tool install --reinstall 'modelrail-fleet @ git+" in result.reason
