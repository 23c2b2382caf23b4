#!/usr/bin/env bash
# Download the baseline `make evaluate` compares a new model with: the model report
# (reports/metrics.json, artifact "model-report") of the last successful CI run on main.
#
#   scripts/fetch-baseline.sh DIR      writes DIR/metrics.json when there is a baseline
#
# Needs the GitHub CLI with GH_TOKEN (a token with actions: read) and GH_REPO. Having no
# baseline (the first run, or the artifact expired) is not an error: evaluation then
# checks only the quality gates, and says so. A failing GitHub API call is an error.
# BASELINE_WORKFLOW (default ci.yml) and BASELINE_BRANCH (default main) say where to look.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: scripts/fetch-baseline.sh DIR" >&2; exit 2; }
dir=$1
workflow=${BASELINE_WORKFLOW:-ci.yml}
branch=${BASELINE_BRANCH:-main}

notice() {
  if [ "${GITHUB_ACTIONS:-}" = true ]; then
    printf '::notice title=baseline::%s\n' "$*"
  else
    printf 'fetch-baseline: %s\n' "$*" >&2
  fi
}

run_id=$(gh run list --workflow "$workflow" --branch "$branch" --event push --status success \
  --limit 1 --json databaseId --jq '.[0].databaseId // empty')
if [ -z "$run_id" ]; then
  notice "no successful $workflow run on $branch yet: no baseline, only the quality gates are checked"
  exit 0
fi
mkdir -p "$dir"
if ! gh run download "$run_id" --name model-report --dir "$dir"; then
  notice "run $run_id of $workflow kept no model-report artifact (expired?): no baseline, only the quality gates are checked"
  exit 0
fi
if [ ! -f "$dir/metrics.json" ]; then
  echo "fetch-baseline: the model-report artifact of run $run_id has no metrics.json" >&2
  exit 1
fi
notice "baseline: the model report of run $run_id ($workflow on $branch)"
