#!/usr/bin/env bash
# The main job, end to end: generate a model-service repo from the template with default
# answers, train its model, build and start its image, send one OIP inference request,
# then run the conformance suite against the image and say where the report is.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
demo_dir="${DEMO_DIR:-$repo/build/demo}"
python_version="${PYTHON_VERSION:-3.11}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Base image for Python $python_version"
base_image="$("$repo/scripts/build-base-image.sh" "$python_version")"
echo "$base_image"

step "modelrail-runtime from this checkout, as a local package index"
# No index serves the runtime yet: the generated repo installs it from this one, pinned
# and hash-locked like any other package (the template's runtime_index answer).
runtime_index="$(uv run --project "$repo" python "$repo/scripts/runtime_index.py")"
echo "$runtime_index"

step "copier copy --defaults (into $demo_dir)"
rm -rf "$demo_dir"
mkdir -p "$demo_dir"
# The default project name is the destination folder's name.
project="$demo_dir/churn-model"
uv run --project "$repo" copier copy --defaults --trust --quiet --vcs-ref HEAD \
  --data "runtime_index=$runtime_index" "$repo" "$project"
read -r model_name port < <(uv run --project "$repo" python - "$project/pyproject.toml" <<'PY'
import sys, tomllib
cfg = tomllib.load(open(sys.argv[1], "rb"))["tool"]["modelrail"]
print(cfg["model_name"], cfg.get("port", 8080))
PY
)
image="$model_name:demo"

step "make train evaluate"
make -C "$project" --no-print-directory train evaluate

step "make image (BASE_IMAGE=$base_image)"
make -C "$project" --no-print-directory image BASE_IMAGE="$base_image" IMAGE="$image"

step "Start $image on 127.0.0.1"
cid="$(docker run -d --rm -p "127.0.0.1::$port" "$image")"
trap 'docker stop -t 10 "$cid" >/dev/null 2>&1 || true' EXIT
host_port="$(docker port "$cid" "$port/tcp" | head -n1 | sed 's/.*://')"
url="http://127.0.0.1:$host_port"
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v2/health/ready" || true)" = 200 ] && break
  sleep 0.2
done
echo "ready at $url"

step "POST $url/v2/models/$model_name/infer (tests/golden/infer_request.json)"
curl -sS -H 'Content-Type: application/json' --data @"$project/tests/golden/infer_request.json" \
  "$url/v2/models/$model_name/infer" | uv run --project "$repo" python -m json.tool
docker stop -t 10 "$cid" >/dev/null
trap - EXIT

step "make conformance"
# The image is already built; Docker's layer cache makes the target's build step a no-op.
status=0
make -C "$project" --no-print-directory conformance BASE_IMAGE="$base_image" IMAGE="$image" \
  MODELRAIL_CONFORMANCE="$repo/conformance" || status=$?

step "Done"
echo "Generated repo:      $project"
echo "Conformance report:  $project/reports/conformance/report.html"
echo "                     $project/reports/conformance/report.json"
if [ "$status" -ne 0 ]; then
  echo "The conformance suite failed (exit $status): the report above says which rules and why." >&2
fi
exit "$status"
