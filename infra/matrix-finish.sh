#!/usr/bin/env bash
# The end of a full matrix, unsharded or merged from shards (infra/run-matrix.sh): the
# matrix (html/md/json) from OUT/runs, one Allure report of every row, a history record
# with the versions judged and the history page. Exits with the matrix's status (1 when
# our own servers are graded below strict), after the report and the record are written.
#   bash infra/matrix-finish.sh OUT HISTORY_DIR [--readme README.md]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 history=$2
shift 2
status=0
.venv/bin/python -m infra.suite.matrix --runs "$out/runs" --out "$out" "$@" || status=$?
[ "$status" -le 1 ] || exit "$status"      # 2: nothing to build from
.venv/bin/python -m infra.suite.matrix_allure --runs "$out/runs" --results "$out/allure-results"
rm -rf "$out/allure-report"
ALLURE_NO_ANALYTICS=1 timeout 300 infra/report/node_modules/.bin/allure generate "$out/allure-results" \
  -o "$out/allure-report" --clean >/dev/null \
  || { echo "[matrix] ERROR: allure generate failed (or took over 300 s) for $out/allure-results" >&2; exit 3; }
echo "[matrix] one Allure report of every row: $out/allure-report/index.html"
.venv/bin/python -m infra.suite.matrix_history record --out "$out" --history "$history"
exit "$status"
